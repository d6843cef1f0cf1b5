"""Status, App Home, the audit view and team setup over the wire (SPEC §3)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.tables import AuditEvent
from govbot.adapters.slack.blocks import initial_state
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.core import teams as repo
from govbot.core.commands import StatusSection
from govbot.runtime import Feature
from tests.test_manage_settings import CHANNEL, MANAGER, open_settings, set_input, submit

MEMBER = "U0SENIOR01"
ADMIN = "U0ADMIN001"
STRANGER = "U0STRANGER"


def reply_bodies(bot, count: int = 1) -> list[dict]:
    return [c.body for c in bot.wait_for("response_url", count)]


def _next_sprint(runtime, session, team, now):
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"Sprint 42 of {team.name}"}}]


def _broken(runtime, session, team, now):
    raise RuntimeError("boom")


# A feature with two sections, as another feature might list them: one that works and one that fails.
EXTRA = Feature("extra", status_sections=(StatusSection(order=10, title="Next refactoring sprint", render=_next_sprint),
                                          StatusSection(order=20, title="Broken section", render=_broken)))


@pytest.mark.parametrize("bot_features", [(EXTRA,)], indirect=True)
def test_status_shows_every_registered_section_in_order(bot, payments_team):
    response = bot.sim.slash_command("status", user_id=MEMBER, channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    [body] = reply_bodies(bot)
    assert body["response_type"] == "ephemeral"
    text = json.dumps(body["blocks"])
    assert body["blocks"][0]["text"]["text"] == "Team payments"
    assert text.index("Next refactoring sprint") < text.index("Sprint 42 of payments") < text.index("Broken section")
    assert "Not available right now" in text
    assert text.index("Broken section") < text.index("*Settings*")
    assert "every 3rd sprint, at least 50%" in text
    assert "every 2 weeks on Thursday at 14:00 (Europe/Berlin)" in text
    assert "customfield_10050" in text


def test_command_outside_a_team_channel_lists_the_users_teams(bot, payments_team):
    bot.sim.slash_command("status", user_id=MEMBER, channel_id="C0RANDOM01")
    reply = reply_bodies(bot, 1)[0]["text"]
    assert "not a team's digest channel" in reply and "`payments`" in reply and "--team" in reply
    bot.sim.slash_command("status", user_id=STRANGER, channel_id="C0RANDOM01")
    assert "not in any team" in reply_bodies(bot, 2)[1]["text"]
    bot.sim.slash_command("status --team nosuch", user_id=MEMBER, channel_id="C0RANDOM01")
    assert "no team named `nosuch`" in reply_bodies(bot, 3)[2]["text"]
    bot.sim.slash_command("status --team payments", user_id=MEMBER, channel_id="C0RANDOM01")
    assert reply_bodies(bot, 4)[3]["blocks"][0]["text"]["text"] == "Team payments"


def test_app_home_is_published_with_sections_and_a_settings_button_for_managers(bot, payments_team):
    for user in (MANAGER, MEMBER, STRANGER):
        assert bot.sim.app_home_opened(user).status == 200
    calls = bot.wait_for("views.publish", 3)
    views = {c.body["user_id"]: c.body["view"] for c in calls}
    assert all(v["type"] == "home" for v in views.values())
    manager_home = json.dumps(views[MANAGER])
    assert "Team payments" in manager_home and "every 3rd sprint" in manager_home
    buttons = [e for b in views[MANAGER]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [(ActionId.OPEN_SETTINGS, "payments")]
    assert "every 3rd sprint" in json.dumps(views[MEMBER]) and ActionId.OPEN_SETTINGS not in json.dumps(views[MEMBER])
    assert "not in a governed team" in json.dumps(views[STRANGER])


def test_app_home_settings_button_opens_the_modal(bot, payments_team):
    response = bot.sim.block_action(user_id=MANAGER, action_id=ActionId.OPEN_SETTINGS, value="payments",
                                    view={"id": "VHOME", "type": "home"})
    assert response.status == 200 and response.elapsed < 3.0
    [call] = bot.wait_for("views.open")
    assert call.body["trigger_id"] == response.trigger_id
    assert call.body["view"]["callback_id"] == CallbackId.SETTINGS


def test_audit_lists_the_last_events_readably(bot, payments_team):
    view = open_settings(bot)
    values = initial_state(view)
    set_input(values, "refactor_every", value="4")
    assert submit(bot, view, values).body == ""
    bot.sim.slash_command("audit 5", user_id=MANAGER, channel_id=CHANNEL)
    [body] = reply_bodies(bot)
    text = json.dumps(body["blocks"])
    assert "Last 2 audit event(s) of team `payments`" in text
    assert text.index("settings.update") < text.index("team.create")  # newest first
    assert "refactor_every: 3 \\u2192 4" in text and f"<@{MANAGER}>" in text


@pytest.mark.parametrize("text,expected", [
    ("audit 0", "1 to 50"),
    ("audit many", "1 to 50"),
    ("audit 80", "at most 50 are shown"),
    ("audit", "Last 1 audit event(s)"),
])
def test_audit_count_argument(bot, payments_team, text, expected):
    bot.sim.slash_command(text, user_id=MANAGER, channel_id=CHANNEL)
    [body] = reply_bodies(bot)
    assert expected in body["text"]


# ------------------------------------------------------------------------------------------------ setup


def open_setup(bot, user: str = ADMIN, channel: str = "C0NEWTEAM01") -> dict:
    bot.sim.slash_command("setup", user_id=user, channel_id=channel)
    return bot.wait_for("views.open")[0].body["view"]


def setup_values(view: dict, **changes) -> dict:
    values = initial_state(view)
    fields = {"name": {"value": "search"}, "jira_board_id": {"value": "31"}, "jira_project": {"value": "SRCH"},
              "managers": {"selected_users": ["U0LEADER01"]}, "seniors": {"selected_users": ["U0SEARCH01"]},
              "juniors": {"selected_users": ["U0SEARCH02"]}}
    fields.update(changes)
    for block_id, entry in fields.items():
        set_input(values, block_id, **entry)
    return values


def test_setup_creates_the_team_audited_and_welcomes_it(bot):
    bot.sandbox.add_user(ADMIN, tz="Europe/Berlin")
    bot.sandbox.add_user("U0SEARCH01")
    bot.sandbox._users["U0SEARCH01"]["profile"]["email"] = "ada@example.com"  # the sandbox has no email option
    view = open_setup(bot)
    assert view["callback_id"] == CallbackId.TEAM_SETUP
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"name", "jira_board_id", "jira_project", "digest_channel", "timezone", "managers",
                           "seniors", "mids", "juniors"}
    assert inputs["digest_channel"]["type"] == "conversations_select"
    assert inputs["digest_channel"]["initial_conversation"] == "C0NEWTEAM01"
    assert inputs["managers"]["type"] == "multi_users_select"
    assert inputs["timezone"]["initial_value"] == "Europe/Berlin"
    response = bot.sim.view_submission(user_id=ADMIN, callback_id=CallbackId.TEAM_SETUP, values=setup_values(view))
    assert response.status == 200 and response.body == ""
    posts = {c.body["channel"]: c.body["text"] for c in bot.wait_for("chat.postMessage", 2)}
    assert "team *search*" in posts["C0NEWTEAM01"] and "<@U0LEADER01>" in posts["C0NEWTEAM01"]
    assert "<@U0SEARCH02>" in posts[ADMIN] and "govbot team import" in posts[ADMIN]
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="search")
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "team.create")).all()
    assert team.spec.timezone == "Europe/Berlin" and team.spec.managers == ["U0LEADER01"]
    assert {(m.slack, m.jira, m.seniority) for m in team.spec.members} == {
        ("U0SEARCH01", "ada@example.com", "senior"), ("U0SEARCH02", "U0SEARCH02", "junior")}
    assert event.actor == ADMIN and event.team == "search" and event.before is None


@pytest.mark.parametrize("changes,block_id,expected", [
    ({"name": {"value": "Search Team!"}}, "name", "lowercase letters"),
    ({"name": {"value": "payments"}}, "name", "already exists"),
    ({"timezone": {"value": "Mars/Olympus_Mons"}}, "timezone", "not an IANA timezone"),
    ({"jira_project": {"value": "search-1"}}, "jira_project", "project key"),
    ({"jira_board_id": {"value": "x"}}, "jira_board_id", "board's number"),
    ({"managers": {"selected_users": []}}, "managers", "at least one manager"),
    ({"digest_channel": {"selected_conversation": "D0DIRECT01"}}, "digest_channel", "not a direct message"),
    ({"mids": {"selected_users": ["U0SEARCH01"]}}, "mids", "one seniority"),
])
def test_setup_errors_are_answered_on_their_field_and_nothing_is_created(bot, payments_team, changes, block_id,
                                                                         expected):
    view = open_setup(bot)
    response = bot.sim.view_submission(user_id=ADMIN, callback_id=CallbackId.TEAM_SETUP,
                                       values=setup_values(view, **changes))
    answer = response.json()
    assert answer["response_action"] == "errors" and expected in answer["errors"][block_id]
    with Session(bot.engine) as session:
        assert [t.name for t in repo.list_teams(session=session)] == ["payments"]
    assert bot.sandbox.calls_of("chat.postMessage") == []


def test_demo_settings_step_changes_a_setting_and_shows_the_audit_events(bot, payments_team):
    from govbot.demo.steps import demo_settings_step

    lines = demo_settings_step(bot, team_name="payments")
    assert len(lines) == 3
    assert "settings.update" in lines[1] and "{'refactor_every': 3} → after {'refactor_every': 4}" in lines[1]
    assert "{'refactor_every': 4} → after {'refactor_every': 3}" in lines[2]
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="payments")
    assert team.settings.refactor_every == 3 and team.settings_version == 3
