"""Two-track staffing over the wire: check-policy DMs into the Slack sandbox, the nudge's buttons, the
acknowledgement modal, `/govbot track` and the Tracks status section — signed requests into the real bolt app,
the real JiraTracker against the Jira sandbox in Cloud and Data Center mode."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent, StaffingViolation
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.tracker import JiraTracker
from govbot.features.teams.service import apply_specs
from govbot.runtime import run_job
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_staffing import SCENARIO_CHANNEL, SCENARIO_MANAGER, received_jql, seed_staffing_sprint
from govbot.sandbox.slack_api import dm_channel_id
from govbot.teamconfig import TeamSpec
from tests.conftest import KEY, close_bot, make_bot

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ASSIGNEE = "U0MIDLVL03"  # the unlabelled issue's assignee


@pytest.fixture(params=["cloud", "datacenter"])
def mode(request):
    return request.param


@pytest.fixture
def jira(mode):
    with JiraSandbox(mode=mode, now=NOW, seed=False) as sandbox:
        yield sandbox


@pytest.fixture
def scenario(jira):
    return seed_staffing_sprint(jira)


@pytest.fixture
def bot(sqlite_url, jira, scenario):
    instance = make_bot(sqlite_url, clock=lambda: NOW,
                        tracker_factory=lambda: JiraTracker(url=jira.url, sleep=lambda _s: None, **jira.credentials))
    with session_scope(instance.engine) as session:
        apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=[TeamSpec.model_validate(scenario.team)],
                    source="test")
    yield instance
    close_bot(instance)


def check(bot) -> str:
    return run_job(bot.runtime, "check-policy", "platform", now=NOW, echo=lambda _l: None)


def dms(bot) -> list[dict]:
    return [c.body for c in bot.sandbox.calls_of("chat.postMessage") if not c.failed]


def rows(bot) -> list[StaffingViolation]:
    with Session(bot.engine) as session:
        return list(session.exec(select(StaffingViolation).order_by(StaffingViolation.id)))


def audit(bot, action: str) -> list[AuditEvent]:
    with Session(bot.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def command(bot, text: str, user: str = SCENARIO_MANAGER) -> dict:
    seen = len([c for c in bot.sandbox.calls_of("response_url") if not c.failed])
    response = bot.sim.slash_command(text, user_id=user, channel_id=SCENARIO_CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    return bot.wait_for("response_url", seen + 1)[seen].body


def click(bot, *, user: str, action_id: str, value: str, retries: int = 0) -> None:
    """A button click in the user's DM with govbot; ``retries`` re-sends of the same payload, as Slack does."""
    sent: list[bytes] = []
    original = bot.sim._post_payload

    def remember(payload):
        from urllib.parse import urlencode

        sent.append(urlencode({"payload": json.dumps(payload)}).encode())
        return original(payload)

    bot.sim._post_payload = remember
    try:
        response = bot.sim.block_action(user_id=user, action_id=action_id, value=value,
                                        channel_id=dm_channel_id(user))
    finally:
        bot.sim._post_payload = original
    assert response.status == 200
    for attempt in range(retries):
        again = bot.sim.post_raw(sent[0], content_type="application/x-www-form-urlencoded",
                                 headers={"X-Slack-Retry-Num": str(attempt + 1), "X-Slack-Retry-Reason": "http_timeout"})
        assert again.status == 200


def settle(bot, seconds: float = 0.5) -> None:
    time.sleep(seconds)  # let the listeners that run after the ack finish


# --- check-policy


def test_check_policy_opens_exactly_the_seeded_violations_and_a_second_run_notifies_nothing(bot, scenario):
    summary = check(bot)
    assert "staffing rules: 6 violation(s) now (6 opened)" in summary
    assert [(r.rule, r.issue, r.person) for r in rows(bot)] == scenario.expected
    first = dms(bot)
    nudge = next(m for m in first if m["channel"] == ASSIGNEE)
    buttons = [e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (ActionId.TRACK_HUMAN_FIRST, scenario.keys["unlabelled"]), (ActionId.TRACK_AI_HEAVY, scenario.keys["unlabelled"])]
    notices = [m for m in first if m["channel"] == SCENARIO_MANAGER]
    assert len(notices) == 6 and all("violation_ack" in json.dumps(m["blocks"]) for m in notices)
    assert "staffing rules: 6 violation(s) now (no change); 0 DM(s) sent" in check(bot)
    assert len(dms(bot)) == len(first)


def test_dry_run_prints_each_violation_it_would_open_and_writes_nothing(bot):
    lines: list[str] = []
    run_job(bot.runtime, "check-policy", "platform", now=NOW, dry_run=True, echo=lines.append)
    opened = [line for line in lines if line.startswith("[dry-run] would open R")]
    assert [line.split()[3] for line in opened] == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert rows(bot) == [] and dms(bot) == []


# --- the nudge's buttons


def test_a_click_writes_the_label_once_even_when_slack_retries(bot, jira, scenario):
    check(bot)
    key = scenario.keys["unlabelled"]
    click(bot, user=ASSIGNEE, action_id=ActionId.TRACK_AI_HEAVY, value=key, retries=2)
    replaced = bot.wait_for("response_url", 1)[0].body
    settle(bot)
    assert replaced["replace_original"] is True and "ai-heavy" in replaced["text"]
    assert jira.issues[key].labels == ["ai-heavy"]
    assert len(jira.calls_to(f"/issue/{key}", method="PUT")) == 1
    assert len(audit(bot, "jira.set_track")) == 1
    assert len([c for c in bot.sandbox.calls_of("response_url") if not c.failed]) == 1


def test_a_click_by_someone_who_may_not_changes_nothing(bot, jira, scenario):
    check(bot)
    key = scenario.keys["unlabelled"]
    click(bot, user="U0JUNIOR01", action_id=ActionId.TRACK_HUMAN_FIRST, value=key)
    refusal = bot.wait_for("response_url", 1)[0].body
    assert refusal["response_type"] == "ephemeral" and "Only the assignee" in refusal["text"]
    assert jira.issues[key].labels == [] and jira.calls_to("/issue/", method="PUT") == []


@pytest.mark.parametrize("forged", ["PLAT-1 OR project = X", "OTHER-1", "", "plat-1"])
def test_a_forged_track_value_never_reaches_jira(bot, jira, forged):
    before = len(jira.calls)
    click(bot, user=SCENARIO_MANAGER, action_id=ActionId.TRACK_HUMAN_FIRST, value=forged)
    refusal = bot.wait_for("response_url", 1)[0].body
    assert "nothing was changed" in refusal["text"]
    assert len(jira.calls) == before


# --- acknowledging


def test_a_manager_acknowledges_with_a_required_reason_and_it_is_audited(bot, scenario):
    check(bot)
    r5 = next(r for r in rows(bot) if r.rule == "R5")
    click(bot, user=SCENARIO_MANAGER, action_id=ActionId.VIOLATION_ACK, value=str(r5.id))
    (opened,) = bot.wait_for("views.open", 1)
    view = json.loads(opened.body["view"]) if isinstance(opened.body["view"], str) else opened.body["view"]
    assert view["callback_id"] == CallbackId.VIOLATION_ACK
    empty = bot.sim.view_submission(user_id=SCENARIO_MANAGER, callback_id=CallbackId.VIOLATION_ACK,
                                    private_metadata=view["private_metadata"], values={"reason": {"value": {
                                        "type": "plain_text_input", "value": "  "}}})
    assert json.loads(empty.body)["response_action"] == "errors"
    reason = "Linus pairs with Ada on the ledger next week"
    done = bot.sim.view_submission(user_id=SCENARIO_MANAGER, callback_id=CallbackId.VIOLATION_ACK,
                                   private_metadata=view["private_metadata"], values={"reason": {"value": {
                                       "type": "plain_text_input", "value": reason}}})
    assert "Acknowledged" in done.body
    (event,) = audit(bot, "violation.acknowledge")
    assert event.reason == reason and event.actor == SCENARIO_MANAGER
    assert next(r for r in rows(bot) if r.rule == "R5").status == "acknowledged"
    # a forged submission (metadata edited) saves nothing
    forged = bot.sim.view_submission(user_id=SCENARIO_MANAGER, callback_id=CallbackId.VIOLATION_ACK,
                                     private_metadata=view["private_metadata"].replace(str(r5.id), "1", 1),
                                     values={"reason": {"value": {"type": "plain_text_input", "value": reason}}})
    assert "nothing was saved" in forged.body


@pytest.mark.parametrize(("user", "value", "expected"), [
    ("U0JUNIOR01", None, "only the managers"),
    (SCENARIO_MANAGER, "not-a-number", "not valid any more"),
    (SCENARIO_MANAGER, "999999", "does not exist any more"),
])
def test_an_acknowledge_click_that_may_not_proceed_gets_a_notice(bot, user, value, expected):
    check(bot)
    violation = rows(bot)[0]
    click(bot, user=user, action_id=ActionId.VIOLATION_ACK, value=value or str(violation.id))
    (opened,) = bot.wait_for("views.open", 1)
    assert expected in json.dumps(opened.body)
    assert audit(bot, "violation.acknowledge") == []


# --- /govbot track


@pytest.mark.parametrize("text", [
    'track "PLAT-1 OR project = X" human-first',
    "track PLAT-1 OR project = X human-first",
    "track OTHER-7 human-first",
    "track PLAT-1 sideways",
])
def test_track_refuses_bad_input_before_any_jira_call(bot, jira, text):
    before = len(jira.calls)
    reply = command(bot, text + " --team platform", user="U0MIDLVL01")
    assert "Usage" in reply["text"] or "not" in reply["text"]
    assert "/govbot track ISSUE-KEY" in reply["text"]
    assert len(jira.calls) == before and received_jql(jira) == []


def test_track_sets_the_label_and_answers_with_the_new_split(bot, jira, scenario):
    key = scenario.keys["zone1"]
    reply = command(bot, f"track {key} human-first --team platform", user="U0MIDLVL01")
    assert f"{key} is now *human-first*" in reply["text"]
    assert "split is now 56% human-first / 44% ai-heavy" in reply["text"]  # 15 of 27 points
    assert jira.issues[key].labels == ["human-first"]
    again = command(bot, f"track {key} human-first --team platform", user="U0MIDLVL01")
    assert "was already" in again["text"]
    assert len(audit(bot, "jira.set_track")) == 1


# --- status


def test_status_shows_the_tracks_section(bot):
    check(bot)
    reply = command(bot, "status --team platform", user="U0MIDLVL01")
    text = json.dumps(reply["blocks"])
    assert "*Tracks*" in text and "44% human-first / 56% ai-heavy" in text
    assert "R1 1 \\u00b7 R2 1" in text or "R1 1 · R2 1" in text


def test_killed_between_jiras_answer_and_the_record_leaves_no_duplicate_dm_and_no_missing_audit(bot, jira, scenario,
                                                                                               monkeypatch):
    from govbot.features.staffing import actions

    check(bot)
    notified = len(dms(bot))
    key = scenario.keys["unlabelled"]
    real = actions.jira.set_track_label

    def jira_answers_then_the_process_dies(*args, **kwargs):
        real(*args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(actions.jira, "set_track_label", jira_answers_then_the_process_dies)
    click(bot, user=ASSIGNEE, action_id=ActionId.TRACK_HUMAN_FIRST, value=key, retries=1)
    settle(bot)
    monkeypatch.setattr(actions.jira, "set_track_label", real)
    assert jira.issues[key].labels == ["human-first"]
    assert len(audit(bot, "jira.set_track")) == 1  # recorded before the write, so not lost with the process
    assert len(jira.calls_to(f"/issue/{key}", method="PUT")) == 1  # Slack's retry did not write again
    check(bot)  # the next run sees the label: R2 resolves, the managers are told once
    new = dms(bot)[notified:]
    assert [m["channel"] for m in new] == [SCENARIO_MANAGER] and "resolved" in new[0]["text"]
    check(bot)
    assert len(dms(bot)) == notified + 1
