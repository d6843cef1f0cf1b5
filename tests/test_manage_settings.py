"""The settings modal over the wire (SPEC §2, §3): opening, validating, saving, concurrent saves."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, func, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent
from govbot.adapters.slack.blocks import initial_state
from govbot.adapters.slack.ids import CallbackId
from govbot.core import teams as repo
from govbot.features.teams.service import apply_specs
from govbot.teamconfig import TeamSettings
from tests.conftest import KEY

CHANNEL = "C0PAYMENTS1"
MANAGER = "U0MANAGER1"
SECOND_MANAGER = "U0MANAGER2"


def open_settings(bot, user: str = MANAGER, text: str = "settings") -> dict:
    """Run `/govbot settings` and return the view govbot opened (checking it used the command's trigger)."""
    seen = len(bot.sandbox.calls_of("views.open"))
    response = bot.sim.slash_command(text, user_id=user, channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    call = bot.wait_for("views.open", seen + 1)[seen]
    assert call.body["trigger_id"] == response.trigger_id
    return call.body["view"]


def set_input(values: dict, block_id: str, **entry) -> None:
    """Change what the user typed or chose in one input block."""
    next(iter(values[block_id].values())).update(entry)


def submit(bot, view: dict, values: dict, user: str = MANAGER):
    """Press Save on the settings modal."""
    return bot.sim.view_submission(user_id=user, callback_id=CallbackId.SETTINGS, values=values,
                                   private_metadata=view["private_metadata"])


def stored(bot):
    with Session(bot.engine) as session:
        return repo.get_team(session=session, name="payments")


def audit_events(bot, action: str | None = None) -> list[AuditEvent]:
    with Session(bot.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.exec(query))


def audit_count(bot) -> int:
    with Session(bot.engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def dms_to(bot, user: str, count: int = 1) -> list[str]:
    calls = [c for c in bot.wait_for("chat.postMessage", count) if c.body.get("channel") == user]
    return [c.body.get("text", "") for c in calls]


def test_settings_opens_with_every_setting_prefilled(bot, payments_team):
    view = open_settings(bot)
    assert view["callback_id"] == CallbackId.SETTINGS and view["type"] == "modal"
    assert len(view["blocks"]) <= 100
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(TeamSettings.model_fields) <= set(inputs)
    every = inputs["refactor_every"]["element"]
    assert every["type"] == "number_input" and every["initial_value"] == "3"
    assert (every["min_value"], every["max_value"]) == ("2", "12")
    assert inputs["refactor_capacity_pct"]["element"]["max_value"] == "100"
    assert inputs["reviewer_field"]["element"]["initial_value"] == "customfield_10050"
    assert inputs["zones"]["element"]["initial_value"] == "auth\npayments\ndata-access"
    assert inputs["jira_comments"]["element"]["type"] == "checkboxes"
    assert inputs["survey_rrule__day"]["element"]["initial_option"]["value"] == "TH"
    assert inputs["survey_rrule__time"]["element"]["initial_time"] == "14:00"
    assert inputs["survey_rrule__weeks"]["element"]["initial_value"] == "2"
    assert "initial_value" not in inputs["survey_rrule"]["element"]  # the editor shows it: advanced stays empty
    assert inputs["labels__ai_heavy"]["element"]["initial_value"] == "ai-heavy"
    assert inputs["review_statuses"]["element"]["initial_value"] == "In Review\nCode Review"


def test_unchanged_submission_saves_nothing(bot, payments_team):
    view = open_settings(bot)
    before = audit_count(bot)
    response = submit(bot, view, initial_state(view))
    assert response.status == 200 and response.body == ""
    assert "already" in dms_to(bot, MANAGER)[0]
    assert audit_count(bot) == before and stored(bot).settings_version == 1


def test_valid_submission_saves_one_audit_event_and_signals(bot, payments_team):
    signalled: list[str] = []
    bot.runtime.events.settings_changed.connect(signalled.append)
    try:
        view = open_settings(bot)
        values = initial_state(view)
        set_input(values, "refactor_every", value="4")
        set_input(values, "survey_open_hours", value="96")
        set_input(values, "jira_comments", selected_options=[{"value": "on"}])
        response = submit(bot, view, values)
        assert response.status == 200 and response.body == ""  # the modal closes
        bot.runtime.events.wait()
    finally:
        bot.runtime.events.settings_changed.disconnect(signalled.append)
    team = stored(bot)
    assert (team.settings.refactor_every, team.settings.survey_open_hours, team.settings.jira_comments) == (4, 96, True)
    assert team.settings_version == 2
    [event] = audit_events(bot, "settings.update")
    assert event.actor == MANAGER and event.team == "payments"
    assert event.before == {"refactor_every": 3, "survey_open_hours": 72, "jira_comments": False}
    assert event.after == {"refactor_every": 4, "survey_open_hours": 96, "jira_comments": True}
    assert signalled == ["payments"]
    [confirmation] = dms_to(bot, MANAGER)
    assert "refactor_every: 3 → 4" in confirmation and "survey_open_hours: 72 → 96" in confirmation


def test_weekly_editor_writes_the_rrule_and_advanced_rule_wins(bot, payments_team):
    view = open_settings(bot)
    values = initial_state(view)
    set_input(values, "digest_rrule__day", selected_option={"value": "FR"})
    set_input(values, "digest_rrule__time", selected_time="07:30")
    set_input(values, "digest_rrule__weeks", value="2")
    set_input(values, "survey_rrule", value="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0")
    assert submit(bot, view, values).body == ""
    settings = stored(bot).settings
    assert settings.digest_rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=7;BYMINUTE=30"
    assert settings.survey_rrule == "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0"
    reopened = {b["block_id"]: b["element"] for b in open_settings(bot)["blocks"] if b["type"] == "input"}
    assert reopened["survey_rrule"]["initial_value"] == "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0"
    assert reopened["digest_rrule__day"]["initial_option"]["value"] == "FR"
    assert reopened["digest_rrule__time"]["initial_time"] == "07:30"
    assert "initial_value" not in reopened["digest_rrule"]


@pytest.mark.parametrize("block_id,entry,expected", [
    ("refactor_every", {"value": "1"}, "from 2 to 12"),
    ("refactor_every", {"value": "3.5"}, "whole number"),
    ("refactor_capacity_pct", {"value": "150"}, "from 10 to 100"),
    ("sprint_length_days", {"value": "30"}, "from 5 to 28"),
    ("survey_open_hours", {"value": "12"}, "from 24 to 168"),
    ("survey_rrule", {"value": "every thursday please"}, "not a valid RRULE"),
    ("survey_rrule", {"value": "FREQ=HOURLY"}, "more than once a day"),
    ("digest_rrule", {"value": "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0"}, "more than once a day"),
    ("digest_rrule__weeks", {"value": "0"}, "from 1 to 12"),
    ("survey_reminder_after_hours", {"value": "80"}, "before the survey closes"),
    ("zones__2", {"value": "billing\nBilling"}, "listed twice"),
    ("zones__3", {"value": "ledger, auth"}, "in zones 1 and 3"),
    ("labels__refactor", {"value": "human-first"}, "different"),
    ("labels__incident", {"value": "two words"}, "single word"),
    ("reviewer_field", {"value": "custom field"}, "Jira field id"),
    ("review_statuses", {"value": " "}, "at least one"),
    ("incident_issue_types", {"value": "Incident\nincident"}, "same name twice"),
])
def test_invalid_field_is_answered_on_its_own_block_and_nothing_changes(bot, payments_team, block_id, entry,
                                                                       expected):
    view = open_settings(bot)
    before = audit_count(bot)
    values = initial_state(view)
    set_input(values, block_id, **entry)
    response = submit(bot, view, values)
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block_id]
    assert expected in answer["errors"][block_id]
    assert stored(bot).settings_version == 1 and audit_count(bot) == before
    assert bot.sandbox.calls_of("chat.postMessage") == []


def test_every_wrong_field_is_reported_in_one_answer(bot, payments_team):
    view = open_settings(bot)
    values = initial_state(view)
    set_input(values, "refactor_every", value="13")
    set_input(values, "zones__2", value="auth")
    set_input(values, "survey_rrule", value="FREQ=SECONDLY")
    set_input(values, "survey_reminder_after_hours", value="100")
    errors = submit(bot, view, values).json()["errors"]
    assert set(errors) == {"refactor_every", "zones__2", "survey_rrule", "survey_reminder_after_hours"}
    assert stored(bot).settings == TeamSettings.model_validate(payments_team.settings.model_dump())


def test_tampered_metadata_is_refused(bot, payments_team):
    view = open_settings(bot)
    values = initial_state(view)
    set_input(values, "refactor_every", value="6")
    payload, _, mac = view["private_metadata"].rpartition("|")
    forged_payload = json.dumps({"team": "payments", "version": 7})
    for metadata in (f"{forged_payload}|{mac}", payload, "", "garbage|" + mac):
        before = audit_count(bot)
        response = bot.sim.view_submission(user_id=MANAGER, callback_id=CallbackId.SETTINGS, values=values,
                                           private_metadata=metadata)
        answer = response.json()
        assert answer["response_action"] == "update"
        assert "could not be verified" in json.dumps(answer["view"])
        assert audit_count(bot) == before and stored(bot).settings.refactor_every == 3


def test_second_manager_is_told_and_shown_the_new_values(bot, payments_team):
    with session_scope(bot.engine) as session:
        apply_specs(session=session, key=KEY, now=datetime.now(UTC), actor="test", source="test",
                    specs=[payments_team.model_copy(update={"managers": [MANAGER, SECOND_MANAGER]})])
    first_view, second_view = open_settings(bot, MANAGER), open_settings(bot, SECOND_MANAGER)
    first = initial_state(first_view)
    set_input(first, "refactor_every", value="4")
    assert submit(bot, first_view, first).body == ""
    second = initial_state(second_view)
    set_input(second, "survey_open_hours", value="96")
    answer = submit(bot, second_view, second, SECOND_MANAGER).json()
    assert answer["response_action"] == "update"
    notice = json.dumps(answer["view"]["blocks"][0])
    assert f"<@{MANAGER}>" in notice and "were not saved" in notice
    shown = {b["block_id"]: b["element"] for b in answer["view"]["blocks"] if b["type"] == "input"}
    assert shown["refactor_every"]["initial_value"] == "4" and shown["survey_open_hours"]["initial_value"] == "72"
    team = stored(bot)
    assert (team.settings.refactor_every, team.settings.survey_open_hours) == (4, 72)
    # The refreshed modal saves on top of the new values.
    again = initial_state(answer["view"])
    set_input(again, "survey_open_hours", value="96")
    assert submit(bot, answer["view"], again, SECOND_MANAGER).body == ""
    team = stored(bot)
    assert (team.settings.refactor_every, team.settings.survey_open_hours, team.settings_version) == (4, 96, 3)


def test_concurrent_saves_never_lose_an_update_silently(bot, payments_team):
    views = [open_settings(bot), open_settings(bot)]
    submissions = []
    for view, (block, value) in zip(views, [("refactor_every", "5"), ("plan_horizon_sprints", "6")], strict=True):
        values = initial_state(view)
        set_input(values, block, value=value)
        submissions.append((view, values))
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda s: submit(bot, *s), submissions))
    saved = [a for a in answers if a.body == ""]
    told = [a.json() for a in answers if a.body]
    assert len(saved) == 1 and len(told) == 1 and told[0]["response_action"] == "update"
    assert len(audit_events(bot, "settings.update")) == 1
    team = stored(bot)
    assert team.settings_version == 2
    assert (team.settings.refactor_every, team.settings.plan_horizon_sprints) in ((5, 3), (3, 6))


def test_settings_command_by_a_manager_elsewhere_needs_the_team(bot, payments_team):
    response = bot.sim.slash_command("settings", user_id=MANAGER, channel_id="C0ELSEWHERE")
    assert response.status == 200
    [reply] = bot.replies()
    assert "Your teams: `payments`" in reply and "--team" in reply
    assert bot.sandbox.calls_of("views.open") == []
    seen = len(bot.sandbox.calls_of("views.open"))
    bot.sim.slash_command("settings --team payments", user_id=MANAGER, channel_id="C0ELSEWHERE")
    assert bot.wait_for("views.open", seen + 1)[seen].body["view"]["callback_id"] == CallbackId.SETTINGS
