"""Authorisation on the server (SPEC §3): every restricted action by someone not allowed is refused politely,
changes nothing, and is logged. The command table is read from the features' subcommands (``govbot.runtime.surface``), so a feature's new
manager-only (or admin-only, or members-only) subcommand is covered here without editing this file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, func, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent, Team
from govbot.adapters.slack.blocks import initial_state
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.core import teams as repo
from govbot.features.teams.service import apply_specs
from govbot.runtime import surface
from govbot.teamconfig import TeamSpec
from tests.conftest import KEY
from tests.test_manage_settings import CHANNEL, MANAGER, open_settings, set_input

MEMBER = "U0SENIOR01"  # a member of payments, not a manager
OUTSIDER = "U0STRANGER"  # in no team
OTHER_MANAGER = "U0SEARCHMG"  # manages another team
NOT_ALLOWED = {"managers": MEMBER, "members": OUTSIDER, "admins": MANAGER}

RESTRICTED_COMMANDS = sorted((s.name, s.who) for s in surface().subcommands.values() if s.who != "anyone")


@pytest.fixture
def teams(bot, payments_team):
    """payments (from the example file) and a second team with another manager."""
    search = TeamSpec(name="search", jira_board_id=31, jira_project="SRCH", digest_channel="C0SEARCH001",
                      managers=[OTHER_MANAGER])
    with session_scope(bot.engine) as session:
        apply_specs(session=session, key=KEY, now=datetime.now(UTC), actor="test", specs=[search], source="test")
    return bot


def snapshot(bot) -> tuple:
    """Everything a refused action must leave as it was."""
    with Session(bot.engine) as session:
        audit_rows = session.exec(select(func.count()).select_from(AuditEvent)).one()
        teams = [(t.spec.model_dump(), t.settings_version) for t in repo.list_teams(session=session)]
        team_rows = session.exec(select(func.count()).select_from(Team)).one()
    return audit_rows, team_rows, json.dumps(teams, default=str, sort_keys=True)


def web_api_methods(bot) -> set[str]:
    """What the app asked Slack for (bolt's own auth.test, which identifies the bot, aside)."""
    return {c.method for c in bot.sandbox.calls} - {"auth.test"}


def assert_refusal_logged(caplog) -> None:
    assert any("refused" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_the_table_covers_the_manage_commands():
    assert {("settings", "managers"), ("audit", "managers"), ("setup", "admins"), ("status", "members")} <= set(
        RESTRICTED_COMMANDS)


@pytest.mark.parametrize("name,who", RESTRICTED_COMMANDS, ids=[f"/govbot {n}" for n, _ in RESTRICTED_COMMANDS])
def test_restricted_command_is_refused_and_changes_nothing(teams, caplog, name, who):
    bot = teams
    caplog.set_level(logging.WARNING)
    before = snapshot(bot)
    response = bot.sim.slash_command(name, user_id=NOT_ALLOWED[who], channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    [reply] = bot.wait_for("response_url")
    assert reply.body["response_type"] == "ephemeral"
    assert reply.body["text"].startswith("Sorry, only")
    assert web_api_methods(bot) == {"response_url"}  # no modal, no post, no Jira-facing side effect
    assert snapshot(bot) == before
    assert_refusal_logged(caplog)


def _forged_settings_submission(user: str) -> Callable:
    def perform(bot):
        view = open_settings(bot)  # a real modal, opened by the manager: its metadata is genuinely signed
        bot.sandbox.clear()
        values = initial_state(view)
        set_input(values, "refactor_every", value="6")
        return bot.sim.view_submission(user_id=user, callback_id=CallbackId.SETTINGS, values=values,
                                       private_metadata=view["private_metadata"])
    return perform


def _setup_submission(bot):
    values = {"name": {"v": {"type": "plain_text_input", "value": "rogue"}},
              "jira_board_id": {"v": {"type": "number_input", "value": "5"}},
              "jira_project": {"v": {"type": "plain_text_input", "value": "ROG"}},
              "digest_channel": {"v": {"type": "conversations_select", "selected_conversation": "C0ROGUE0001"}},
              "timezone": {"v": {"type": "plain_text_input", "value": "UTC"}},
              "managers": {"v": {"type": "multi_users_select", "selected_users": [MANAGER]}}}
    return bot.sim.view_submission(user_id=MANAGER, callback_id=CallbackId.TEAM_SETUP, values=values)


def _open_settings_button(user: str) -> Callable:
    def perform(bot):
        return bot.sim.block_action(user_id=user, action_id=ActionId.OPEN_SETTINGS, value="payments",
                                    view={"id": "VHOME", "type": "home"})
    return perform


SUBMISSIONS = {
    "settings submission by a member": _forged_settings_submission(MEMBER),
    "settings submission by another team's manager": _forged_settings_submission(OTHER_MANAGER),
    "settings submission by an outsider": _forged_settings_submission(OUTSIDER),
    "team setup submission by a non-admin": _setup_submission,
}


@pytest.mark.parametrize("perform", SUBMISSIONS.values(), ids=SUBMISSIONS.keys())
def test_forged_submission_is_refused_in_the_modal_and_changes_nothing(teams, caplog, perform):
    bot = teams
    caplog.set_level(logging.WARNING)
    before = snapshot(bot)
    response = perform(bot)
    assert response.status == 200 and response.elapsed < 3.0
    answer = response.json()
    assert answer["response_action"] == "update"
    assert "Sorry, only" in json.dumps(answer["view"]) and "Nothing was changed" in json.dumps(answer["view"])
    assert snapshot(bot) == before
    assert not web_api_methods(bot) - {"views.open"}  # no confirmation, no welcome post
    assert_refusal_logged(caplog)


BUTTONS = {
    "settings button by a member": _open_settings_button(MEMBER),
    "settings button by another team's manager": _open_settings_button(OTHER_MANAGER),
    "settings button by an outsider": _open_settings_button(OUTSIDER),
}


@pytest.mark.parametrize("perform", BUTTONS.values(), ids=BUTTONS.keys())
def test_settings_button_is_refused_and_changes_nothing(teams, caplog, perform):
    bot = teams
    caplog.set_level(logging.WARNING)
    before = snapshot(bot)
    assert perform(bot).status == 200
    [call] = bot.wait_for("views.open")
    view = call.body["view"]
    assert view.get("callback_id") != CallbackId.SETTINGS
    assert "Sorry, only the managers of team `payments`" in json.dumps(view)
    assert snapshot(bot) == before
    assert_refusal_logged(caplog)


def test_the_allowed_users_are_not_refused(teams):
    bot = teams
    bot.sim.slash_command("audit", user_id=MANAGER, channel_id=CHANNEL)
    bot.sim.slash_command("status", user_id=MEMBER, channel_id=CHANNEL)
    texts = [c.body["text"] for c in bot.wait_for("response_url", 2)]
    assert not any(t.startswith("Sorry") for t in texts)
