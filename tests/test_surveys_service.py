"""Pulse surveys as use cases, on SQLite and PostgreSQL: life cycle, anonymity, refusals, indices, fan-out faults."""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import AuditEvent, Delivery, Survey, SurveyParticipation, SurveyResponse
from govbot.adapters.slack.notifier import RecordingNotifier
from govbot.config import load_settings
from govbot.core import teams
from govbot.domain.schedule import anchor_in, next_after
from govbot.domain.surveys import Bucket, NotEnoughResponses, SurveyResults
from govbot.features.surveys import fanout, repo, service
from govbot.features.teams.service import apply_specs
from govbot.runtime import Runtime, run_job
from govbot.teamconfig import MemberSpec, TeamSettings, TeamSpec
from tests.conftest import age_open_claims

KEY = b"test-secret-key-0123456789"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MEMBERS = [f"U0MEMBER{i:02d}" for i in range(1, 9)]
GOOD = {"burnout": "2", "review_drain": "3", "review_hours": "2", "learning": "4", "comprehension": "4",
        "ai_share": "2", "comment": ""}


class Killed(BaseException):
    """Stands for the process being killed: nothing below may catch it."""


class Recorder:
    """A thread-safe ``send`` that records who got a DM."""

    def __init__(self, fail_from: int | None = None):
        self.sent: list[str] = []
        self.fail_from = fail_from
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> str:
        with self._lock:
            if self.fail_from is not None and len(self.sent) >= self.fail_from:
                raise Killed()  # dies before sending: the DM never left
            self.sent.append(user_id)
            return f"1.{len(self.sent):06d}"


def _team(engine, name="payments", members=MEMBERS, k=5, tz="Europe/Berlin"):
    spec = TeamSpec(name=name, jira_board_id=12, jira_project="PAY", digest_channel="C0" + name.upper()[:9],
                    timezone=tz, managers=["U0MANAGER1"],
                    members=[MemberSpec(slack=m, jira=f"acc-{m}", seniority="mid") for m in members],
                    settings=TeamSettings(anonymity_min_responses=k))
    with Session(engine) as session:
        apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=[spec], source="test")
        session.commit()
        return teams.get_team(session=session, name=name)


def _start(engine, team, now=NOW, disabled=None) -> Survey:
    with Session(engine, expire_on_commit=False) as session:
        survey = service.start_survey(session=session, key=KEY, team=team, now=now, actor="U0MANAGER1",
                                      disabled=disabled)
        session.commit()
    return survey


def _open(engine, team, now=NOW) -> tuple[Survey, Recorder]:
    survey = _start(engine, team, now)
    send = Recorder()
    service.invite_members(engine=engine, survey_id=survey.id, team=team, send=send, now=now)
    return survey, send


def _submit(engine, survey, user, raw=None, now=NOW, team_id=None):
    with Session(engine) as session:
        outcome = service.submit_response(session=session, key=KEY, survey_id=survey.id,
                                          team_id=survey.team_id if team_id is None else team_id, user_id=user,
                                          raw=GOOD if raw is None else raw, now=now)
        session.commit()
    return outcome


def _close(engine, survey, now, rng=None):
    with Session(engine, expire_on_commit=False) as session:
        closed = service.close_survey(session=session, key=KEY, survey_id=survey.id, now=now, actor="system",
                                      rng=rng or random.Random(1))
        session.commit()
    return closed


def _count(engine, table) -> int:
    with Session(engine) as session:
        return len(session.exec(select(table)).all())


def _runtime(engine, db_url) -> Runtime:
    settings = load_settings(sandbox=True, DATABASE_URL=db_url, GOVBOT_SECRET_KEY=KEY.decode(),
                             SLACK_BOT_TOKEN="xoxb-unused", SLACK_SIGNING_SECRET="unused-signing-secret-0123",
                             SLACK_API_URL="http://127.0.0.1:9/api/")
    from slack_sdk import WebClient

    return Runtime(settings=settings, engine=engine, slack=WebClient(base_url=settings.slack_api_url))


# --- start and invitations ---


def test_start_invites_every_member_exactly_once(engine):
    team = _team(engine)
    survey, send = _open(engine, team)
    assert sorted(send.sent) == MEMBERS
    with Session(engine) as session:
        rows = session.exec(select(Delivery).where(Delivery.kind == repo.KIND_INVITE)).all()
        stored = session.get(Survey, survey.id)
        audit_actions = session.exec(select(AuditEvent.action)).all()
    assert sorted(r.key for r in rows) == sorted(f"{survey.id}:{m}" for m in MEMBERS)
    assert all(r.done_at is not None and r.ref for r in rows)
    assert stored.invited_count == 8 and stored.status == "open"
    assert stored.remind_at == NOW + timedelta(hours=48) and stored.closes_at == NOW + timedelta(hours=72)
    assert "survey.start" in audit_actions
    again = Recorder()
    report = service.invite_members(engine=engine, survey_id=survey.id, team=team, send=again, now=NOW)
    assert again.sent == [] and report.already_done == 8 and report.sent == 0


def test_one_open_survey_per_team_and_disabled_items_carry_over(engine):
    team = _team(engine)
    first = _start(engine, team, disabled=["ai_share", "review_hours"])
    assert first.disabled_items == ["review_hours", "ai_share"]
    with Session(engine) as session, pytest.raises(service.SurveyAlreadyOpen):
        service.start_survey(session=session, key=KEY, team=team, now=NOW, actor="U0MANAGER1")
    _close(engine, first, NOW + timedelta(hours=1))
    second = _start(engine, team, now=NOW + timedelta(hours=2))
    assert second.disabled_items == ["review_hours", "ai_share"]  # copied from the team's previous survey
    _close(engine, second, NOW + timedelta(hours=3))
    everything_but_comment = ["burnout", "review_drain", "review_hours", "learning", "comprehension", "ai_share"]
    for disabled, problem in ((["happiness"], "unknown survey items"),
                              (everything_but_comment, "at least one question")):
        with Session(engine) as session, pytest.raises(service.SurveyRefused, match=problem):
            service.start_survey(session=session, key=KEY, team=team, now=NOW, actor="U0MANAGER1",
                                 disabled=disabled)


def test_scheduled_send_runs_once_per_occurrence(engine, db_url):
    team = _team(engine)
    runtime = _runtime(engine, db_url)
    tz = team.spec.timezone
    occurrence = next_after(team.settings.survey_rrule, tz=tz, after=NOW, anchor=anchor_in(tz))
    notifier = RecordingNotifier(lambda _line: None)
    quiet = {"echo": lambda _line: None, "notifier": notifier}
    before = run_job(runtime, "send-survey", "payments", now=occurrence - timedelta(days=1), **quiet)
    assert "no survey is due" in before
    first = run_job(runtime, "send-survey", "payments", now=occurrence + timedelta(minutes=1), **quiet)
    second = run_job(runtime, "send-survey", "payments", now=occurrence + timedelta(minutes=20), **quiet)
    assert "started" in first and "8 invitations sent" in first
    assert "resuming" in second and "0 invitations sent" in second
    assert sorted(user for kind, user, _ in notifier.sent if kind == "DM") == MEMBERS
    with Session(engine) as session:
        surveys = session.exec(select(Survey)).all()
    assert len(surveys) == 1 and surveys[0].occurrence == "rrule:" + occurrence.astimezone(UTC).isoformat(
        timespec="minutes")
    late = run_job(runtime, "send-survey", "payments", now=occurrence + timedelta(hours=49), **quiet)
    assert "no survey is due" in late


def test_dry_run_writes_nothing(engine, db_url):
    team = _team(engine)
    runtime = _runtime(engine, db_url)
    tz = team.spec.timezone
    occurrence = next_after(team.settings.survey_rrule, tz=tz, after=NOW, anchor=anchor_in(tz))
    printed: list[str] = []
    summary = run_job(runtime, "send-survey", "payments", now=occurrence + timedelta(minutes=1), dry_run=True,
                      echo=printed.append)
    assert "8 invitations would be sent" in summary
    assert sum("would DM" in line for line in printed) == 8
    assert _count(engine, Survey) == 0 and _count(engine, Delivery) == 0


# --- answering ---


def test_submission_is_stored_without_any_link_to_the_person(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    outcome = _submit(engine, survey, MEMBERS[0], {**GOOD, "comment": "More pairing, please."})
    assert outcome == service.Accepted(survey_id=survey.id)
    with Session(engine) as session:
        response = session.exec(select(SurveyResponse)).one()
        digests = session.exec(select(SurveyParticipation.digest)).all()
    expected = hmac.new(KEY, f"{survey.id}:{MEMBERS[0]}".encode(), hashlib.sha256).hexdigest()
    assert digests == [expected]
    stored = response.model_dump()
    assert stored["day"] == date(2026, 11, 25)  # the team's local day, nothing finer
    assert (stored["burnout"], stored["learning"], stored["comment"]) == (2, 4, "More pairing, please.")
    assert stored["review_hours"] == 2 and stored["ai_share"] == 2
    flattened = " ".join(str(v) for v in stored.values())
    assert MEMBERS[0] not in flattened and expected not in flattened
    assert len(response.id) == 32 and response.id not in expected


def test_second_submission_is_refused_kindly(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    assert isinstance(_submit(engine, survey, MEMBERS[1]), service.Accepted)
    again = _submit(engine, survey, MEMBERS[1], {**GOOD, "burnout": "5"})
    assert isinstance(again, service.Refused) and "already answered" in again.message and "thank you" in again.message
    assert _count(engine, SurveyResponse) == 1 and _count(engine, SurveyParticipation) == 1


def test_simultaneous_double_submission_stores_one(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def submit():
        barrier.wait()
        outcomes.append(_submit(engine, survey, MEMBERS[2]))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(type(o).__name__ for o in outcomes) == ["Accepted", "Refused"]
    assert _count(engine, SurveyResponse) == 1 and _count(engine, SurveyParticipation) == 1


@pytest.mark.parametrize("case", ["missing", "out_of_range", "not_a_number", "too_long_comment"])
def test_bad_answers_are_refused_per_block_and_store_nothing(engine, case):
    team = _team(engine)
    survey, _ = _open(engine, team)
    raw = {
        "missing": {**GOOD, "learning": None, "ai_share": ""},
        "out_of_range": {**GOOD, "burnout": "6", "review_hours": "0"},
        "not_a_number": {**GOOD, "review_drain": "lots"},
        "too_long_comment": {**GOOD, "comment": "x" * 1001},
    }[case]
    outcome = _submit(engine, survey, MEMBERS[0], raw)
    assert isinstance(outcome, service.Refused) and outcome.errors
    expected_blocks = {"missing": {"learning", "ai_share"}, "out_of_range": {"burnout", "review_hours"},
                       "not_a_number": {"review_drain"}, "too_long_comment": {"comment"}}[case]
    assert set(outcome.errors) == expected_blocks
    assert _count(engine, SurveyResponse) == 0 and _count(engine, SurveyParticipation) == 0
    assert isinstance(_submit(engine, survey, MEMBERS[0]), service.Accepted)  # nothing was half-written


def test_disabled_items_are_neither_required_nor_stored(engine):
    team = _team(engine)
    survey = _start(engine, team, disabled=["review_hours"])
    service.invite_members(engine=engine, survey_id=survey.id, team=team, send=Recorder(), now=NOW)
    outcome = _submit(engine, survey, MEMBERS[0], {**GOOD, "review_hours": "5"})
    assert isinstance(outcome, service.Accepted)
    with Session(engine) as session:
        assert session.exec(select(SurveyResponse.review_hours)).one() is None


def test_refusals_for_closed_other_team_uninvited_and_unknown_store_nothing(engine):
    team = _team(engine)
    other = _team(engine, name="platform", members=["U0OTHER001", "U0OTHER002", "U0OTHER003"], k=3)
    survey, _ = _open(engine, team)
    others, _ = _open(engine, other)
    cases = {
        "other team": _submit(engine, survey, MEMBERS[0], team_id=other.id),
        "not invited": _submit(engine, survey, "U0OTHER001"),
        "not invited to the other": _submit(engine, others, MEMBERS[0]),
        "unknown": _submit(engine, Survey(id=99999, team_id=team.id), MEMBERS[0]),
        "after closes_at": _submit(engine, survey, MEMBERS[0], now=survey.closes_at),
    }
    assert "another team" in cases["other team"].message
    assert "not sent to you" in cases["not invited"].message
    assert "not sent to you" in cases["not invited to the other"].message
    assert "no longer exists" in cases["unknown"].message
    assert "closed" in cases["after closes_at"].message
    _close(engine, survey, NOW + timedelta(hours=1))
    closed = _submit(engine, survey, MEMBERS[0], now=NOW + timedelta(hours=2))
    assert isinstance(closed, service.Refused) and "closed" in closed.message
    assert all(isinstance(outcome, service.Refused) and not outcome.errors for outcome in cases.values())
    assert _count(engine, SurveyResponse) == 0 and _count(engine, SurveyParticipation) == 0


# --- reminders ---


def test_reminder_reaches_only_non_responders_once(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    for user in MEMBERS[:3]:
        assert isinstance(_submit(engine, survey, user), service.Accepted)
    early = Recorder()
    service.remind_non_responders(engine=engine, key=KEY, survey_id=survey.id, send=early,
                                  now=survey.remind_at - timedelta(minutes=1))
    assert early.sent == []
    remind = Recorder()
    report = service.remind_non_responders(engine=engine, key=KEY, survey_id=survey.id, send=remind,
                                           now=survey.remind_at + timedelta(minutes=5))
    assert sorted(remind.sent) == MEMBERS[3:] and report.sent == 5
    again = Recorder()
    service.remind_non_responders(engine=engine, key=KEY, survey_id=survey.id, send=again,
                                  now=survey.remind_at + timedelta(minutes=20))
    assert again.sent == []
    with Session(engine) as session:
        keys = session.exec(select(Delivery.key).where(Delivery.kind == repo.KIND_REMIND)).all()
    # The reminder ledger lists non-responders, so it holds HMACs, never user ids.
    assert len(keys) == 5 and not any(user in key for key in keys for user in MEMBERS)


# --- close, results, gate, indices ---

FIXTURE = [  # burnout, review_drain, review_hours, learning, comprehension, ai_share
    (1, 1, 1, 5, 5, 1),
    (2, 1, 2, 5, 4, 1),
    (3, 1, 2, 4, 4, 2),
    (4, 1, 3, 4, 3, 4),
    (5, 1, 5, 2, 1, 4),
]
NAMES = ("burnout", "review_drain", "review_hours", "learning", "comprehension", "ai_share")


def _answer_all(engine, survey, rows, comments=()):
    for index, row in enumerate(rows):
        raw = {name: str(value) for name, value in zip(NAMES, row, strict=True)}
        raw["comment"] = comments[index] if index < len(comments) else ""
        assert isinstance(_submit(engine, survey, MEMBERS[index], raw), service.Accepted)


def test_indices_are_exact_on_a_fixture_and_flags_follow(engine):
    team = _team(engine)
    first, _ = _open(engine, team)
    _answer_all(engine, first, FIXTURE, comments=["b comment", "a comment", "c comment"])
    _close(engine, first, NOW + timedelta(hours=72), rng=random.Random(7))
    with Session(engine) as session:
        shown = repo.closed_results(session=session, team=team)
    results = shown.shown
    assert isinstance(results, SurveyResults)
    assert results.responses == 5 and results.invited == 8 and results.response_rate == 62.5
    assert results.burnout_index == 25.0  # per person (b + d)/2 = 1, 1.5, 2, 2.5, 3 → mean 2 → 25
    assert results.burnout_share == 60.0  # 3, 4 and 5 of five
    assert results.review_drain_index == 0.0
    assert results.learning_index == 67.5  # 5, 4.5, 4, 3.5, 1.5 → mean 3.7 → 67.5
    assert results.comprehension_index == 60.0  # mean 3.4
    assert results.review_hours == (Bucket(1, "0–2", 1), Bucket(2, "3–5", 2), Bucket(3, "6–10", 1),
                                    Bucket(4, "11–20", 0), Bucket(5, ">20", 1))
    assert results.ai_share == (Bucket(1, "<25%", 2), Bucket(2, "25–50%", 1), Bucket(3, "50–75%", 0),
                                Bucket(4, ">75%", 2))
    assert sorted(results.comments) == ["a comment", "b comment", "c comment"]
    assert shown.deltas is None and shown.flags == []
    second, _ = _open(engine, team, now=NOW + timedelta(days=14))
    _answer_all(engine, second, [(4, 4, 3, 3, 3, 2)] * 5)
    _close(engine, second, NOW + timedelta(days=17))
    with Session(engine) as session:
        later = repo.closed_results(session=session, team=team)
    assert later.shown.burnout_index == 75.0 and later.deltas.burnout_index == 50.0
    assert later.deltas.learning_index == 50.0 - 67.5 and later.deltas.response_rate == 0.0
    assert [flag.kind for flag in later.flags] == ["burnout_rise", "burnout_high"]


def test_results_hidden_below_k_and_shown_at_k(engine):
    team = _team(engine, k=5)
    below, _ = _open(engine, team)
    _answer_all(engine, below, FIXTURE[:4], comments=["only four of us"])
    with Session(engine) as session:
        status = repo.open_status(session=session, team=team)
    assert status.responses is None and status.rate is None  # no live count below k either
    _close(engine, below, NOW + timedelta(hours=1))
    with Session(engine) as session:
        hidden = repo.closed_results(session=session, team=team)
    assert isinstance(hidden.shown, NotEnoughResponses) and hidden.shown.message == "not enough responses"
    at_k, _ = _open(engine, team, now=NOW + timedelta(days=1))
    _answer_all(engine, at_k, FIXTURE)
    with Session(engine) as session:
        status = repo.open_status(session=session, team=team)
        assert repo.closed_results(session=session, team=team).survey.id == below.id  # open: nothing new
    assert status.responses == 5 and status.rate == 62.5
    _close(engine, at_k, NOW + timedelta(days=2))
    with Session(engine) as session:
        shown = repo.closed_results(session=session, team=team)
    assert isinstance(shown.shown, SurveyResults) and shown.shown.burnout_index == 25.0
    assert shown.deltas is None  # the previous survey was below k: nothing to compare with


def test_close_keeps_every_answer_and_refuses_twice(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    _answer_all(engine, survey, FIXTURE)
    with Session(engine) as session:
        before = sorted(tuple(r.model_dump().items()) for r in session.exec(select(SurveyResponse)))
    _close(engine, survey, NOW + timedelta(hours=72))
    with Session(engine) as session:
        after = sorted(tuple(r.model_dump().items()) for r in session.exec(select(SurveyResponse)))
        stored = session.get(Survey, survey.id)
        close_events = session.exec(select(AuditEvent).where(AuditEvent.action == "survey.close")).all()
    assert before == after and stored.status == "closed" and stored.results["responses"] == 5
    assert len(close_events) == 1 and "5" not in str(close_events[0].after)  # no counts in the audit trail
    with Session(engine) as session, pytest.raises(service.SurveyRefused):
        service.close_survey(session=session, key=KEY, survey_id=survey.id, now=NOW, actor="system")


# --- fan-out faults ---


def test_killed_mid_fan_out_resumes_without_double_invitations(engine):
    team = _team(engine)
    survey = _start(engine, team)
    dying = Recorder(fail_from=3)
    with pytest.raises(Killed):
        service.invite_members(engine=engine, survey_id=survey.id, team=team, send=dying, now=NOW)
    assert 0 < len(dying.sent) == 3
    soon = Recorder()
    report = service.invite_members(engine=engine, survey_id=survey.id, team=team, send=soon,
                                    now=NOW + timedelta(minutes=1))
    assert report.in_flight >= 1  # the dead run's open claims wait for their lease
    later = Recorder()
    age_open_claims(engine)  # the dead run's leases run out
    service.invite_members(engine=engine, survey_id=survey.id, team=team, send=later,
                           now=NOW + timedelta(minutes=11))
    everyone = dying.sent + soon.sent + later.sent
    assert sorted(everyone) == MEMBERS  # each member exactly once, nobody skipped
    with Session(engine) as session:
        assert session.get(Survey, survey.id).invited_count == 8


def test_transient_failures_are_retried_and_undeliverable_ones_recorded(engine):
    team = _team(engine)
    survey = _start(engine, team)
    calls: list[str] = []

    def flaky(user_id: str) -> str:
        calls.append(user_id)
        if user_id == MEMBERS[0]:
            raise fanout.Undeliverable("account_inactive")
        if user_id == MEMBERS[1] and calls.count(user_id) == 1:
            raise ConnectionError("connection reset")
        return "1.0"

    first = service.invite_members(engine=engine, survey_id=survey.id, team=team, send=flaky, now=NOW, workers=1)
    assert (first.sent, first.undeliverable, first.failed) == (6, 1, 1)
    second = service.invite_members(engine=engine, survey_id=survey.id, team=team, send=flaky, now=NOW, workers=1)
    assert (second.sent, second.already_done) == (1, 7)
    assert calls.count(MEMBERS[0]) == 1 and calls.count(MEMBERS[1]) == 2
    with Session(engine) as session:
        assert session.get(Survey, survey.id).invited_count == 7  # the deactivated account was not invited
        refs = dict(session.exec(select(Delivery.key, Delivery.ref).where(col(Delivery.key).startswith(
            f"{survey.id}:"))).all())
    assert refs[f"{survey.id}:{MEMBERS[0]}"] == "failed:account_inactive"
