"""Pulse surveys over the wire: signed requests into the real bolt app, Slack answers from the sandbox."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import Delivery, Survey, SurveyParticipation, SurveyResponse
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.slack.notifier import SlackNotifier
from govbot.core import teams
from govbot.demo.steps import demo_survey_step
from govbot.domain.surveys import BLOCK_IDS
from govbot.features.surveys import repo, service
from govbot.features.surveys.jobs import fanout_client, invitation_sender
from govbot.features.surveys.messages import state_values
from govbot.runtime import run_job
from govbot.sandbox.slack_api import dm_channel_id

from .conftest import KEY, age_open_claims

MANAGER = "U0MANAGER1"
CHANNEL = "C0PAYMENTS1"
MEMBERS = ["U0SENIOR01", "U0SENIOR02", "U0SENIOR03", "U0MIDLVL01", "U0MIDLVL02", "U0MIDLVL03", "U0JUNIOR01",
           "U0JUNIOR02"]
ANSWERS = {"burnout": 2, "review_drain": 3, "review_hours": 2, "learning": 4, "comprehension": 4, "ai_share": 2,
           "comment": None}


def _texts(bot, count):
    return [c.body.get("text", "") for c in bot.wait_for("response_url", count)]


def _open_survey(bot) -> Survey:
    with Session(bot.engine) as session:
        team = teams.get_team(session=session, name="payments")
        return repo.get_open_survey(session=session, team_id=team.id)


def _invitations(bot) -> Counter:
    return Counter(c.body["channel"] for c in bot.sandbox.calls_of("chat.postMessage") if not c.failed)


def _start(bot) -> Survey:
    seen = len(bot.sandbox.calls_of("response_url"))
    response = bot.sim.slash_command("survey start", user_id=MANAGER, channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0  # the fan-out runs after the ack
    texts = _texts(bot, seen + 2)
    assert "8 invitations sent" in texts[-1]
    return _open_survey(bot)


def _submit(bot, user, survey, answers=None):
    metadata = f'{{"survey_id":{survey.id},"team_id":{survey.team_id}}}'
    return bot.sim.view_submission(user_id=user, callback_id=CallbackId.SURVEY_SUBMIT,
                                   values=state_values(answers or ANSWERS), private_metadata=metadata)


def test_start_sends_one_invitation_per_member(bot, payments_team):
    survey = _start(bot)
    assert _invitations(bot) == Counter({member: 1 for member in MEMBERS})
    message = bot.sandbox.calls_of("chat.postMessage")[0].body
    button = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == ActionId.SURVEY_OPEN and button["value"] == str(survey.id)
    assert "anonymous" in message["text"]
    with Session(bot.engine) as session:
        keys = session.exec(select(Delivery.key).where(Delivery.kind == repo.KIND_INVITE)).all()
    assert sorted(keys) == sorted(f"{survey.id}:{m}" for m in MEMBERS)
    again = bot.sim.slash_command("survey start", user_id=MANAGER, channel_id=CHANNEL)
    assert again.status == 200
    assert "already open" in _texts(bot, 3)[-1]
    assert len(bot.sandbox.calls_of("chat.postMessage")) == 8


def test_only_managers_start_and_only_members_see_results(bot, payments_team):
    bot.sim.slash_command("survey start", user_id=MEMBERS[0], channel_id=CHANNEL)
    assert "only the managers" in _texts(bot, 1)[-1]
    bot.sim.slash_command("survey results", user_id="U0STRANGER", channel_id=CHANNEL)
    assert "only members" in _texts(bot, 2)[-1]
    bot.sim.slash_command("survey results", user_id=MEMBERS[0], channel_id=CHANNEL)
    assert "No survey of team `payments` has closed yet" in _texts(bot, 3)[-1]
    assert bot.sandbox.calls_of("chat.postMessage") == []


def test_manager_may_leave_items_out(bot, payments_team):
    seen = len(bot.sandbox.calls_of("response_url"))
    bot.sim.slash_command("survey start --disable ai_share,review_hours", user_id=MANAGER, channel_id=CHANNEL)
    assert "left out: review_hours, ai_share" in _texts(bot, seen + 2)[seen]
    survey = _open_survey(bot)
    bot.sim.block_action(user_id=MEMBERS[0], action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                         channel_id=dm_channel_id(MEMBERS[0]))
    view = bot.wait_for("views.open")[0].body["view"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "burnout", "review_drain", "learning", "comprehension", "comment"]
    answers = {k: v for k, v in ANSWERS.items() if k not in ("ai_share", "review_hours")}
    assert _submit(bot, MEMBERS[0], survey, answers).json()["response_action"] == "update"
    bot.sim.slash_command("survey start --disable happiness", user_id=MANAGER, channel_id=CHANNEL)
    assert "already open" in _texts(bot, seen + 3)[-1]


def test_button_opens_the_modal_with_the_spec_block_ids(bot, payments_team):
    survey = _start(bot)
    click = bot.sim.block_action(user_id=MEMBERS[0], action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                                 channel_id=dm_channel_id(MEMBERS[0]))
    assert click.status == 200
    view = bot.wait_for("views.open")[0].body["view"]
    assert view["callback_id"] == CallbackId.SURVEY_SUBMIT
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == list(BLOCK_IDS)
    statements = next(b for b in view["blocks"] if b.get("block_id") == "burnout_statements")["text"]["text"]
    assert "I feel completely burned out and often wonder if I can go on. I am at the point where I may need " \
           "some changes or may need to seek some sort of help." in statements
    for block in view["blocks"]:
        for option in (block.get("element") or {}).get("options", []):
            assert len(option["text"]["text"]) <= 75


def test_submission_is_stored_anonymously_and_a_second_one_refused(bot, payments_team):
    survey = _start(bot)
    first = _submit(bot, MEMBERS[0], survey, {**ANSWERS, "comment": "Fewer Friday releases <@U0MANAGER1>"})
    assert first.status == 200 and first.json()["response_action"] == "update"
    assert "Thank you" in str(first.json()["view"])
    with Session(bot.engine) as session:
        row = session.exec(select(SurveyResponse)).one()
        digest = session.exec(select(SurveyParticipation.digest)).one()
    assert digest == repo.participation_digest(key=KEY, survey_id=survey.id, user_id=MEMBERS[0])
    assert MEMBERS[0] not in str(row.model_dump()) and digest not in str(row.model_dump())
    second = _submit(bot, MEMBERS[0], survey, {**ANSWERS, "burnout": 5})
    assert second.json()["response_action"] == "update" and "already answered" in str(second.json()["view"])
    with Session(bot.engine) as session:
        assert len(session.exec(select(SurveyResponse)).all()) == 1
    bot.sim.block_action(user_id=MEMBERS[0], action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                         channel_id=dm_channel_id(MEMBERS[0]))
    notice = bot.wait_for("views.open")[0].body["view"]
    assert notice.get("callback_id") in (None, "") and "already answered" in str(notice["blocks"])


def test_bad_submissions_get_errors_in_the_modal_and_store_nothing(bot, payments_team):
    survey = _start(bot)
    bad = _submit(bot, MEMBERS[1], survey, {**ANSWERS, "burnout": None, "ai_share": 9})
    body = bad.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {"burnout", "ai_share"}
    stranger = _submit(bot, "U0STRANGER", survey)
    assert "not sent to you" in str(stranger.json()["view"])
    forged = bot.sim.view_submission(user_id=MEMBERS[1], callback_id=CallbackId.SURVEY_SUBMIT,
                                     values=state_values(ANSWERS),
                                     private_metadata=f'{{"survey_id":{survey.id},"team_id":999}}')
    assert "another team" in str(forged.json()["view"])
    with Session(bot.engine) as session:
        assert session.exec(select(SurveyResponse)).all() == []
        assert session.exec(select(SurveyParticipation)).all() == []


def test_reminder_reaches_only_non_responders(bot, payments_team):
    survey = _start(bot)
    for user in MEMBERS[:3]:
        assert _submit(bot, user, survey).json()["response_action"] == "update"
    bot.sandbox.clear()
    summary = run_job(bot.runtime, "remind-survey", "payments", now=survey.remind_at + timedelta(minutes=1),
                      echo=lambda _line: None)
    assert "5 reminders sent" in summary
    reminded = _invitations(bot)
    assert reminded == Counter({member: 1 for member in MEMBERS[3:]})
    assert all("Reminder" in c.body["text"] for c in bot.sandbox.calls_of("chat.postMessage"))
    run_job(bot.runtime, "remind-survey", "payments", now=survey.remind_at + timedelta(minutes=16),
            echo=lambda _line: None)
    assert len(bot.sandbox.calls_of("chat.postMessage")) == 5  # once only


def test_close_hides_results_below_k_and_shows_them_at_k(bot, payments_team):
    below = _start(bot)
    for user in MEMBERS[:4]:
        _submit(bot, user, below, {**ANSWERS, "comment": f"comment from {user}"})
    seen = len(bot.sandbox.calls_of("response_url"))
    bot.sim.slash_command("survey close", user_id=MANAGER, channel_id=CHANNEL)
    closing = _texts(bot, seen + 1)[-1]
    assert "Not enough responses" in closing and "comment from" not in closing and "Responses:" not in closing
    note = bot.wait_for("chat.postMessage", 9)[-1].body
    assert note["channel"] == CHANNEL and "has closed" in note["text"] and "Not enough responses" in note["text"]
    bot.sim.slash_command("survey results", user_id=MEMBERS[5], channel_id=CHANNEL)
    assert "Not enough responses" in _texts(bot, seen + 2)[-1]
    at_k = _start(bot)
    for user in MEMBERS[:5]:
        _submit(bot, user, at_k, {**ANSWERS, "comment": f"comment from {user}"})
    seen = len(bot.sandbox.calls_of("response_url"))
    bot.sim.slash_command("survey close", user_id=MANAGER, channel_id=CHANNEL)
    _texts(bot, seen + 1)
    bot.sim.slash_command("survey results", user_id=MEMBERS[5], channel_id=CHANNEL)
    shown = _texts(bot, seen + 2)[-1]
    assert "Responses: 5 of 8 invited (62.5%)" in shown and "Burnout index: 37.5 / 100" in shown
    assert "Learning index: 75.0 / 100" in shown and shown.count("comment from") == 5


def test_status_shows_the_open_survey_and_the_last_indices(bot, payments_team):
    survey = _start(bot)
    seen = len(bot.sandbox.calls_of("response_url"))
    bot.sim.slash_command("status", user_id=MEMBERS[0], channel_id=CHANNEL)
    status = bot.wait_for("response_url", seen + 1)[-1].body
    assert "Pulse survey" in str(status["blocks"]) and "fewer than 5 responses so far" in str(status["blocks"])
    for user in MEMBERS[:5]:
        _submit(bot, user, survey)
    bot.sim.slash_command("survey status", user_id=MANAGER, channel_id=CHANNEL)
    assert "5 of 8 responded (62.5%)" in _texts(bot, seen + 2)[-1]
    bot.sim.slash_command("survey close", user_id=MANAGER, channel_id=CHANNEL)
    _texts(bot, seen + 3)
    bot.sim.slash_command("status", user_id=MEMBERS[0], channel_id=CHANNEL)
    status = bot.wait_for("response_url", seen + 4)[-1].body
    assert "burnout index 37.5, learning index 75.0, response rate 62%" in str(status["blocks"])


def test_rate_limit_storm_while_inviting_invites_everyone_once(bot, payments_team):
    bot.sandbox.fail_next("chat.postMessage", 20, status=429, retry_after=0)
    _start(bot)
    failed = [c for c in bot.sandbox.calls_of("chat.postMessage") if c.failed]
    assert len(failed) == 20 and all(c.status == 429 for c in failed)
    assert _invitations(bot) == Counter({member: 1 for member in MEMBERS})


class Killed(BaseException):
    """The process dies here."""


def test_killed_fan_out_resumes_without_double_invitations(bot, payments_team):
    now = bot.runtime.clock()
    with session_scope(bot.engine) as session:
        team = teams.get_team(session=session, name="payments")
        survey = service.start_survey(session=session, key=KEY, team=team, now=now, actor=MANAGER)
    real = SlackNotifier(fanout_client(bot.runtime.slack))
    lock = threading.Lock()
    delivered: list[str] = []

    class DyingNotifier:
        def dm(self, *, user, text, blocks=None):
            with lock:
                if len(delivered) >= 3:
                    raise Killed()
                delivered.append(user)
            return real.dm(user=user, text=text, blocks=blocks)

    with pytest.raises(Killed):
        service.invite_members(engine=bot.engine, survey_id=survey.id, team=team, now=now,
                               send=invitation_sender(DyingNotifier(), survey=survey, team=team))
    assert len(_invitations(bot)) == 3
    age_open_claims(bot.engine)  # the dead run's leases run out
    summary = run_job(bot.runtime, "remind-survey", "payments", now=now + timedelta(minutes=11),
                      echo=lambda _line: None)
    assert "5 invitations sent" in summary and "reminder due" in summary
    assert _invitations(bot) == Counter({member: 1 for member in MEMBERS})


def test_closed_survey_button_and_submission_are_refused(bot, payments_team):
    survey = _start(bot)
    seen = len(bot.sandbox.calls_of("response_url"))
    bot.sim.slash_command("survey close", user_id=MANAGER, channel_id=CHANNEL)
    _texts(bot, seen + 1)
    late = _submit(bot, MEMBERS[0], survey)
    assert "has closed" in str(late.json()["view"])
    bot.sim.block_action(user_id=MEMBERS[0], action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                         channel_id=dm_channel_id(MEMBERS[0]))
    assert "has closed" in str(bot.wait_for("views.open")[0].body["view"]["blocks"])
    with Session(bot.engine) as session:
        assert session.exec(select(SurveyResponse)).all() == []


def test_demo_step_runs_a_survey_through_the_modal(bot, payments_team):
    lines = demo_survey_step(bot)
    text = "\n".join(lines)
    assert "Responses: 7 of 8 invited (87.5%)" in text and "Burnout index:" in text
    assert len(bot.sandbox.calls_of("views.open")) == 7
    with Session(bot.engine) as session:
        assert len(session.exec(select(SurveyResponse)).all()) == 7
        assert session.exec(select(Survey)).one().status == "closed"
