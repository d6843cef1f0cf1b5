"""Pulse surveys (SPEC §5): start, invite, remind, accept answers, close, and read results.

How anonymity is kept here (the schema keeps the rest, see ``govbot.adapters.db.tables``):
- an answer is one ``survey_response`` row (survey, day, answers), written in the same transaction as the
  participation digest HMAC(key, "<survey id>:<user id>"); neither row holds anything pointing at the other;
- the invitation ledger names who was *invited* (the whole team, no secret), never who answered; the reminder
  ledger is keyed by an HMAC too, because the people reminded are exactly those who had not answered;
- an open survey shows no indices at all: two looks at running results, before and after one person answers,
  would give that person's answers away. Results are computed once, at close, and gated by
  ``anonymity_min_responses`` whenever they are shown;
- at close the survey's response rows are rewritten in random order, so their physical order (SQLite rowid,
  PostgreSQL heap) stops mirroring the order of the participation rows.

Slack is reached only through the ``send`` callables the caller passes in, so this module knows no vendor API.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import Survey, SurveyParticipation, SurveyResponse, Team
from govbot.core import audit
from govbot.core import delivery as ledger
from govbot.core.teams import StoredTeam
from govbot.domain import surveys as domain
from govbot.domain.schedule import anchor_in, latest_at_or_before, next_after, zone
from govbot.features.surveys.fanout import FANOUT_WORKERS, AlreadySent, FanOutReport, Send, fan_out
from govbot.features.surveys.messages import when_text
from govbot.features.surveys.repo import (
    KIND_CLOSE_NOTE,
    KIND_INVITE,
    KIND_REMIND,
    delivered_invitations,
    get_open_survey,
    has_answered,
    invitation_key,
    participation_digest,
    pending_invitees,
    reminder_key,
    reminder_targets,
    results_to_json,
    was_invited,
)

log = logging.getLogger(__name__)

ANSWER_FIELDS = tuple(field.name for field in fields(domain.Answers))  # the answer columns of survey_response

ALREADY_ANSWERED = ("You have already answered this survey: thank you! Answers are anonymous, so they "
                    "cannot be changed or sent twice.")


class SurveyRefused(Exception):
    """A survey action that cannot be done; the message is written for the person who asked."""


class SurveyAlreadyOpen(SurveyRefused):
    """The team has an open survey already (its id and closing time are kept: the row may be gone by then)."""

    def __init__(self, survey: Survey):
        super().__init__("a survey is already open for this team")
        self.survey_id = survey.id
        self.closes_at = survey.closes_at


# --- starting ---


def _disabled_for_new(session: Session, team_id: int, requested: Collection[str] | None) -> list[str]:
    """The items a new survey leaves out: as requested, else as the team's previous survey did."""
    if requested is None:
        previous = session.exec(
            select(Survey).where(Survey.team_id == team_id).order_by(col(Survey.id).desc())
        ).first()
        return list(previous.disabled_items) if previous else []
    try:
        remaining = domain.active_items(requested)
    except ValueError as exc:
        raise SurveyRefused(f"Cannot disable those: {exc}.") from None
    if not any(item.kind != "text" for item in remaining):
        raise SurveyRefused("A survey needs at least one question besides the comment: disable fewer items.")
    return [block_id for block_id in domain.BLOCK_IDS if block_id in set(requested)]


def start_survey(
    *,
    session: Session,
    key: bytes,
    team: StoredTeam,
    now: datetime,
    actor: str,
    occurrence: str | None = None,
    disabled: Collection[str] | None = None,
) -> Survey:
    """Open a survey for the team (one open survey per team); the caller commits and then invites.

    ``disabled`` lists items to leave out; None copies the team's previous survey, so a manager's choice
    carries over to the scheduled surveys after it.
    """
    # Lock the team row so two starts at once (a double-click, a scheduled start) see each other's survey.
    session.exec(select(Team).where(Team.id == team.id).with_for_update()).first()
    current = get_open_survey(session=session, team_id=team.id)
    if current is not None:
        raise SurveyAlreadyOpen(current)
    if not team.spec.members:
        raise SurveyRefused(f"Team {team.name} has no members to survey: add members first.")
    settings = team.settings
    survey = Survey(
        team_id=team.id,
        occurrence=occurrence or "manual:" + now.astimezone(UTC).isoformat(),
        status="open",
        opened_at=now,
        remind_at=now + timedelta(hours=settings.survey_reminder_after_hours),
        closes_at=now + timedelta(hours=settings.survey_open_hours),
        invited_count=len(team.spec.members),
        min_responses=settings.anonymity_min_responses,
        disabled_items=_disabled_for_new(session, team.id, disabled),
        started_by=actor,
    )
    savepoint = session.begin_nested()
    try:
        session.add(survey)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise SurveyRefused("A survey was started for this team a moment ago: it is on its way.") from None
    audit.record(
        session=session, key=key, now=now, actor=actor, action="survey.start", team=team.name,
        target=f"survey:{survey.id}", before=None,
        after={"occurrence": survey.occurrence, "remind_at": survey.remind_at.isoformat(),
               "closes_at": survey.closes_at.isoformat(), "disabled_items": survey.disabled_items,
               "members": len(team.spec.members)},
    )
    return survey


def due_occurrence(*, team: StoredTeam, now: datetime) -> datetime | None:
    """The survey_rrule occurrence to start now, if any.

    The latest occurrence at or before ``now``; a missed one (the process was down) is still started late, but
    only while its reminder would lie ahead, so a survey never opens just to be reminded and closed at once.
    """
    tz = team.spec.timezone
    occurrence = latest_at_or_before(team.settings.survey_rrule, tz=tz, now=now, anchor=anchor_in(tz))
    if occurrence is None or now >= occurrence + timedelta(hours=team.settings.survey_reminder_after_hours):
        return None
    return occurrence


def next_occurrence(*, team: StoredTeam, now: datetime) -> datetime | None:
    """The first survey_rrule occurrence after ``now`` (None: the rule has no more)."""
    tz = team.spec.timezone
    return next_after(team.settings.survey_rrule, tz=tz, after=now, anchor=anchor_in(tz))


NOT_DUE = "no survey is due"


def start_scheduled(
    *, session: Session, key: bytes, team: StoredTeam, now: datetime
) -> tuple[Survey | None, str]:
    """The survey of the due occurrence: started now, or found (to resume its invitations); with a note."""
    occurrence_at = due_occurrence(team=team, now=now)
    if occurrence_at is None:
        return None, NOT_DUE
    occurrence = "rrule:" + occurrence_at.astimezone(UTC).isoformat(timespec="minutes")
    label = when_text(occurrence_at, team.spec.timezone)  # as the team reads it, e.g. Thu 03 Dec 14:00 (Europe/Berlin)
    query = select(Survey).where(Survey.team_id == team.id, Survey.occurrence == occurrence)
    existing = session.exec(query).first()
    if existing is not None:
        if existing.status != "open":
            return None, f"the survey of {label} has already run"
        return existing, f"survey {existing.id} of {label} was already started; resuming its invitations"
    try:
        survey = start_survey(session=session, key=key, team=team, now=now, actor=audit.SYSTEM,
                              occurrence=occurrence)
    except SurveyAlreadyOpen as exc:
        return None, f"skipped: survey {exc.survey_id} is still open"
    except SurveyRefused as exc:
        # Another process started this occurrence between our read and our insert: resume theirs.
        existing = session.exec(query).first()
        if existing is None:
            return None, f"not started: {exc}"
        return existing, f"survey {existing.id} was started by another process; resuming its invitations"
    return survey, f"survey {survey.id} of {label} started"


# --- fan-out (invitations and reminders) ---


def invite_members(
    *, engine: Engine, survey_id: int, team: StoredTeam, send: Send, now: datetime,
    workers: int = FANOUT_WORKERS, already_sent: AlreadySent | None = None,
) -> FanOutReport:
    """DM every member not yet invited to this open survey, each exactly once; resumable at any point."""
    with Session(engine) as session:
        survey = session.get(Survey, survey_id)
        if survey is None or survey.status != "open":
            return FanOutReport()
        pending = pending_invitees(session=session, survey_id=survey_id, team=team)
    targets = [(invitation_key(survey_id, user), user) for user in pending]
    report = fan_out(engine=engine, kind=KIND_INVITE, targets=targets, send=send, now=now, team_id=team.id,
                     workers=workers, already_sent=already_sent)
    report.already_done = len(team.spec.members) - len(pending)
    with session_scope(engine) as session:
        delivered = len(delivered_invitations(session=session, survey_id=survey_id))
        session.exec(update(Survey).where(col(Survey.id) == survey_id, col(Survey.status) == "open")  # type: ignore[call-overload]
                     .values(invited_count=delivered))
    return report


def remind_non_responders(
    *, engine: Engine, key: bytes, survey_id: int, send: Send, now: datetime, workers: int = FANOUT_WORKERS
) -> FanOutReport:
    """Once the reminder is due (and before close), DM each invited member who has not answered, once."""
    with Session(engine) as session:
        survey = session.get(Survey, survey_id)
        if survey is None or survey.status != "open" or not survey.remind_at <= now < survey.closes_at:
            return FanOutReport()
        targets = reminder_targets(session=session, key=key, survey=survey)
        team_id = survey.team_id

    def still_wanted(user_id: str) -> bool:
        # Someone may answer while the reminders go out; check right before sending theirs.
        with Session(engine) as session:
            return not has_answered(session=session, key=key, survey_id=survey_id, user_id=user_id)

    return fan_out(
        engine=engine, kind=KIND_REMIND,
        targets=[(reminder_key(key=key, survey_id=survey_id, user_id=u), u) for u in targets],
        send=send, now=now, team_id=team_id, workers=workers, still_wanted=still_wanted,
    )


# --- answering ---


@dataclass(frozen=True)
class Accepted:
    """The answers are stored."""

    survey_id: int


@dataclass(frozen=True)
class Refused:
    """Nothing was stored: ``message`` for the person, ``errors`` per block id when answers need fixing."""

    message: str
    errors: Mapping[str, str] | None = None


def check_answerable(
    *, session: Session, key: bytes, survey_id: int, user_id: str, now: datetime, team_id: int | None = None,
    lock: bool = False,
) -> Survey | Refused:
    """The survey, if this person may answer it now; else why not."""
    query = select(Survey).where(Survey.id == survey_id).execution_options(populate_existing=True)
    if lock:
        # A shared lock: answers go in side by side, while close (FOR UPDATE) waits for them and they for it.
        query = query.with_for_update(read=True)
    survey = session.exec(query).first()
    if survey is None:
        return Refused("This survey no longer exists, so nothing was stored.")
    if team_id is not None and survey.team_id != team_id:
        return Refused("This survey belongs to another team, so nothing was stored.")
    if survey.status != "open" or now >= survey.closes_at:
        return Refused("This survey has closed, so your answers were not stored. Thank you all the same: the "
                       "next survey will reach you by DM.")
    assert survey.id is not None
    if not was_invited(session=session, survey_id=survey.id, user_id=user_id):
        return Refused("This survey was not sent to you (it is for another team's members), so nothing was "
                       "stored.")
    if has_answered(session=session, key=key, survey_id=survey.id, user_id=user_id):
        return Refused(ALREADY_ANSWERED)
    return survey


def submit_response(
    *, session: Session, key: bytes, survey_id: int, team_id: int | None, user_id: str,
    raw: Mapping[str, str | None], now: datetime,
) -> Accepted | Refused:
    """Store one person's answers and their participation digest together, or refuse and store nothing.

    The caller commits; until then neither row exists, so an answer is never half-written.
    """
    survey = check_answerable(session=session, key=key, survey_id=survey_id, user_id=user_id, now=now,
                              team_id=team_id, lock=True)
    if isinstance(survey, Refused):
        return survey
    answers = domain.validate_answers(raw, disabled=survey.disabled_items)
    if isinstance(answers, domain.AnswerErrors):
        return Refused("Some answers need a look: nothing was stored yet.", errors=dict(answers.errors))
    team = session.get(Team, survey.team_id)
    assert team is not None and survey.id is not None
    savepoint = session.begin_nested()
    try:
        digest = participation_digest(key=key, survey_id=survey.id, user_id=user_id)
        session.add(SurveyParticipation(digest=digest))
        session.add(SurveyResponse(survey_id=survey.id, day=now.astimezone(zone(team.timezone)).date(),
                                   **{name: getattr(answers, name) for name in ANSWER_FIELDS}))
        session.flush()
        savepoint.commit()
    except IntegrityError:
        # The same person submitting twice at once: the digest is the primary key, one of them wins.
        savepoint.rollback()
        return Refused(ALREADY_ANSWERED)
    return Accepted(survey_id=survey.id)


# --- closing and results ---


def _reshuffle_rows(session: Session, survey_id: int, rng: random.Random) -> None:
    """Rewrite the survey's responses in random order, so row order says nothing about answer order.

    Only the rows read here are deleted and re-inserted (by primary key): an answer committed by someone else
    in the meantime is left alone, never lost.
    """
    table = SurveyResponse.__table__  # type: ignore[attr-defined]
    selected = session.execute(table.select().where(table.c.survey_id == survey_id))
    rows = [dict(row) for row in selected.mappings()]
    if not rows:
        return
    rng.shuffle(rows)
    session.execute(delete(table).where(table.c.id.in_([row["id"] for row in rows])))
    session.execute(insert(table), rows)


def reshuffle_open_responses(*, session: Session, survey_id: int) -> None:
    """Break up arrival order of an open survey's responses (PostgreSQL stores rows in arrival order)."""
    _reshuffle_rows(session, survey_id, random.SystemRandom())


def close_survey(
    *, session: Session, key: bytes, survey_id: int, now: datetime, actor: str,
    rng: random.Random | None = None,
) -> Survey:
    """Close an open survey and store its results (computed over every stored answer); the caller commits."""
    query = select(Survey).where(Survey.id == survey_id).with_for_update()
    query = query.execution_options(populate_existing=True)
    survey = session.exec(query).first()
    if survey is None or survey.status != "open":
        raise SurveyRefused("That survey is not open any more.")
    rng = rng or random.SystemRandom()
    rows = session.exec(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)).all()
    answers = [domain.Answers(**{name: getattr(row, name) for name in ANSWER_FIELDS}) for row in rows]
    invited = len(delivered_invitations(session=session, survey_id=survey_id))
    results = domain.compute_results(answers, invited=invited, closed=True, rng=rng)
    for row in rows:
        session.expunge(row)
    _reshuffle_rows(session, survey_id, rng)
    survey.status = "closed"
    survey.closed_at = now
    survey.invited_count = invited
    survey.results = results_to_json(results)
    session.add(survey)
    session.flush()
    team = session.get(Team, survey.team_id)
    # No counts in the audit trail: managers read it, and a count below the threshold is itself a result.
    audit.record(session=session, key=key, now=now, actor=actor, action="survey.close",
                 team=team.name if team else None, target=f"survey:{survey_id}", before={"status": "open"},
                 after={"status": "closed", "scheduled_close": survey.closes_at.isoformat()})
    return survey


def announce_close(*, engine: Engine, survey: Survey, send: Callable[[], str | None], now: datetime) -> bool:
    """Post the close note once (at most once, retried by the next run if it failed); True when sent now."""
    claim_key = str(survey.id)
    if not ledger.claim(engine=engine, kind=KIND_CLOSE_NOTE, key=claim_key, team_id=survey.team_id):
        return False
    try:
        ref = send()
    except Exception:
        ledger.release(engine=engine, kind=KIND_CLOSE_NOTE, key=claim_key)
        raise
    ledger.complete(engine=engine, kind=KIND_CLOSE_NOTE, key=claim_key, now=now, ref=ref)
    return True

