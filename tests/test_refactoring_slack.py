"""`/govbot refactor skip|postpone`, the refactoring status section and the re-plan after a settings change,
over the wire: signed requests into the real bolt app, Jira in the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent, SprintOverride, Team
from govbot.adapters.slack.notifier import RecordingNotifier
from govbot.adapters.tracker import JiraTracker
from govbot.core import teams as repo
from govbot.features.teams.service import apply_specs, parse_team_file, update_settings
from govbot.runtime import run_job
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import ACTIVE_SPRINT_ID, SCRUM_BOARD_ID
from tests.conftest import KEY, close_bot, make_bot

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MANAGER, MEMBER, CHANNEL = "U0MANAGER1", "U0SENIOR01", "C0PAYMENTS1"


@pytest.fixture
def jira():
    sandbox = JiraSandbox(mode="cloud", now=NOW).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def bot(sqlite_url, jira):
    """The bot with its clock at NOW and its tracker on the Jira sandbox, and the example team imported."""
    instance = make_bot(sqlite_url, clock=lambda: NOW,
                        tracker_factory=lambda: JiraTracker(url=jira.url, sleep=lambda _s: None, **jira.credentials))
    with session_scope(instance.engine) as session:
        apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=parse_team_file(EXAMPLE), source="test")
    yield instance
    instance.runtime.events.wait()
    close_bot(instance)


def command(bot, text: str, user: str = MANAGER) -> dict:
    """Send `/govbot <text>` signed, and return the body of the reply it posts to the response URL."""
    seen = len([c for c in bot.sandbox.calls_of("response_url") if not c.failed])
    response = bot.sim.slash_command(text, user_id=user, channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    return bot.wait_for("response_url", seen + 1)[seen].body


def plan(bot) -> str:
    return run_job(bot.runtime, "plan-sprints", "payments", now=NOW, notifier=RecordingNotifier(lambda _l: None))


def future_names(jira) -> list[str]:
    return [s.name for s in sorted(jira.sprints.values(), key=lambda s: s.id)
            if s.board_id == SCRUM_BOARD_ID and s.state == "future"]


def overrides(bot) -> list[SprintOverride]:
    with Session(bot.engine) as session:
        return list(session.exec(select(SprintOverride)).all())


def events(bot, prefix: str) -> list[AuditEvent]:
    with Session(bot.engine) as session:
        return [e for e in session.exec(select(AuditEvent)).all() if e.action.startswith(prefix)]


def test_postpone_moves_the_next_refactoring_sprint_renames_it_in_jira_and_confirms(bot, jira):
    plan(bot)
    assert future_names(jira) == ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"]

    body = command(bot, 'refactor postpone --reason "release week: card-network migration"')
    assert body["response_type"] == "ephemeral"
    text = body["text"]
    assert text.startswith("Postponed refactoring sprint 3 (Fri 18 Dec 2026 – Fri 1 Jan 2027) by one sprint: "
                           "sprint 4 (Fri 1 Jan 2027 – Fri 15 Jan 2027) is the refactoring sprint now")
    assert "Reason (kept in the audit trail): “release week: card-network migration”" in text
    assert ("Jira updated: Payments Sprint 3 — Refactor → Payments Sprint 3; "
            "Payments Sprint 4 → Payments Sprint 4 — Refactor.") in text
    assert future_names(jira) == ["Payments Sprint 2", "Payments Sprint 3", "Payments Sprint 4 — Refactor"]

    [override] = overrides(bot)
    assert (override.sprint_number, override.kind, override.actor) == (3, "postpone", MANAGER)
    [event] = events(bot, "refactor.")
    assert (event.action, event.actor, event.reason) == ("refactor.postpone", MANAGER,
                                                         "release week: card-network migration")
    assert (event.before, event.after) == ({"refactor_sprints": [3, 6]}, {"refactor_sprints": [4, 7]})
    updates = events(bot, "jira.sprint.update")
    assert len(updates) == 2 and {e.actor for e in updates} == {MANAGER}


def test_skip_before_any_plan_plans_the_board_and_names_the_next_refactoring_sprint(bot, jira):
    text = command(bot, "refactor skip --reason='incident follow-up'")["text"]
    assert text.startswith("Skipped refactoring sprint 3 (Fri 18 Dec 2026 – Fri 1 Jan 2027): it is an ordinary "
                           "sprint now. The next refactoring sprint is sprint 6 (Fri 29 Jan 2027 – Fri 12 Feb 2027).")
    assert "created Payments Sprint 2; created Payments Sprint 3; created Payments Sprint 4." in text
    assert future_names(jira) == ["Payments Sprint 2", "Payments Sprint 3", "Payments Sprint 4"]
    with Session(bot.engine) as session:
        assert session.exec(select(Team)).one().cadence_anchor_sprint_id == ACTIVE_SPRINT_ID

    text = command(bot, 'refactor skip --reason "still busy"')["text"]
    assert text.startswith("Skipped refactoring sprint 6")
    assert "The next refactoring sprint is sprint 9" in text
    assert "Nothing to change in Jira yet" in text
    assert [(o.sprint_number, o.kind) for o in overrides(bot)] == [(3, "skip"), (6, "skip")]


@pytest.mark.parametrize("text", ["refactor skip", 'refactor postpone --reason ""', "refactor skip --reason",
                                  "refactor postpone because of the launch"])
def test_the_reason_is_required(bot, jira, text):
    reply = command(bot, text)["text"]
    verb = text.split()[1]
    assert reply.startswith(f'A reason is required: `/govbot refactor {verb} --reason "…"`')
    assert "Nothing was changed." in reply
    assert overrides(bot) == [] and jira.calls == []


def test_non_managers_are_refused_by_the_router_and_nothing_changes(bot, jira):
    reply = command(bot, 'refactor skip --reason "we are tired"', user=MEMBER)["text"]
    assert reply == "Sorry, only the managers of team `payments` can do that. Ask <@U0MANAGER1>."
    assert overrides(bot) == [] and jira.calls == [] and events(bot, "refactor.") == []


def test_user_text_never_reaches_jql(bot, jira):
    hostile = 'ABC-1 OR project = SECRET'
    command(bot, f'refactor skip --reason "{hostile}"')
    command(bot, "status", user=MEMBER)
    bot.sim.app_home_opened(MEMBER)
    bot.wait_for("views.publish")
    sent = json.dumps([[c[1], c[2], c[3]] for c in jira.calls])
    assert "SECRET" not in sent and "ABC-1" not in sent
    assert events(bot, "refactor.skip")[0].reason == hostile  # kept verbatim, where it belongs


def test_jira_down_stores_nothing_and_says_so(bot, jira):
    jira.fail_next("/board/", count=50, status=503, retry_after=None)
    reply = command(bot, 'refactor postpone --reason "release week"')["text"]
    assert reply.startswith("Nothing was changed: Jira is unavailable (HTTP 503) while reading board 12")
    assert overrides(bot) == [] and events(bot, "refactor.") == []


def test_a_kanban_board_is_refused_with_a_clear_message(bot, jira):
    with session_scope(bot.engine) as session:
        session.exec(select(Team)).one().jira_board_id = 13
    reply = command(bot, 'refactor postpone --reason "release week"')["text"]
    assert "has no sprints (it is a Kanban board)" in reply and overrides(bot) == []


def test_status_shows_the_current_sprint_and_the_next_refactoring_sprint(bot, jira):
    plan(bot)
    text = json.dumps(command(bot, "status", user=MEMBER)["blocks"])
    assert "*Refactoring sprints*" in text
    assert "*Current sprint:* 1 \\u2014 PAY Sprint 27, until Fri 4 Dec 2026" in text
    assert ("*Next refactoring sprint:* 3 \\u2014 Fri 18 Dec 2026 \\u2013 Fri 1 Jan 2027 "
            "(in Jira as _Payments Sprint 3 \\u2014 Refactor_)") in text
    assert "Refactor share" not in text


def test_status_and_app_home_show_the_refactor_share_in_a_refactoring_sprint(bot, jira):
    with session_scope(bot.engine) as session:
        session.exec(select(Team)).one().cadence_anchor_sprint_id = ACTIVE_SPRINT_ID - 2
    issues = [i for i in jira.issues.values() if ACTIVE_SPRINT_ID in i.sprint_ids]
    points = sum(i.points or 0 for i in issues)
    refactor = sum(i.points or 0 for i in issues if "refactor" in i.labels)
    text = json.dumps(command(bot, "status", user=MEMBER)["blocks"])
    assert "(a refactoring sprint)" in text
    assert (f"*Refactor share:* {refactor / points * 100:.0f}% of the sprint's story points ({refactor:g} of "
            f"{points:g}) are labelled `refactor`: below the reservation of 50%.") in text
    assert "*Next refactoring sprint:* 6" in text  # projected: not planned in Jira yet
    assert "(not in Jira yet)" in text

    bot.sim.app_home_opened(MEMBER)
    home = json.dumps(bot.wait_for("views.publish")[0].body["view"])
    assert "Refactor share" in home and "Next refactoring sprint" in home


def test_status_says_when_jira_cannot_be_read(bot, jira):
    jira.fail_next("/board/", count=50, status=503, retry_after=None)
    text = json.dumps(command(bot, "status", user=MEMBER)["blocks"])
    assert "Jira could not be read: Jira is unavailable (HTTP 503)" in text
    assert "*Settings*" in text  # the other sections still show


def test_a_settings_change_re_plans_the_board_in_the_background(bot, jira):
    plan(bot)
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="payments")
    assert team is not None
    with session_scope(bot.engine) as session:
        update_settings(session=session, key=KEY, now=NOW, actor=MANAGER, team_name="payments",
                        settings=team.settings.model_copy(update={"refactor_every": 2}),
                        expected_version=team.settings_version,
                        settings_changed=bot.runtime.events.settings_changed)
    bot.runtime.events.wait(15)
    assert future_names(jira) == ["Payments Sprint 2 — Refactor", "Payments Sprint 3", "Payments Sprint 4 — Refactor"]
    assert len(events(bot, "jira.sprint.update")) == 3


def test_a_settings_change_survives_jira_being_down(bot, jira):
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="payments")
    assert team is not None
    jira.fail_next("/board/", count=50, status=503, retry_after=None)
    with session_scope(bot.engine) as session:
        assert update_settings(session=session, key=KEY, now=NOW, actor=MANAGER, team_name="payments",
                               settings=team.settings.model_copy(update={"refactor_every": 4}),
                               expected_version=team.settings_version,
                               settings_changed=bot.runtime.events.settings_changed)
    bot.runtime.events.wait(15)
    with Session(bot.engine) as session:
        assert repo.get_team(session=session, name="payments").settings.refactor_every == 4  # type: ignore[union-attr]
    assert future_names(jira) == []
    dm = [c.body for c in bot.wait_for("chat.postMessage") if c.body.get("channel") == MANAGER]
    assert "Jira is unavailable (HTTP 503)" in dm[0]["text"]
