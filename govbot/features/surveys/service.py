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

import hashlib
import hmac
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import Delivery, Survey, SurveyParticipation, SurveyResponse, Team
from govbot.core import audit
from govbot.core import delivery as ledger
from govbot.core.teams import StoredTeam
from govbot.domain import surveys as domain
from govbot.domain.schedule import anchor_in, latest_at_or_before, zone

log = logging.getLogger(__name__)

KIND_INVITE = "survey_invite"  # key "<survey id>:<user id>"
KIND_REMIND = "survey_remind"  # key "<survey id>:<HMAC>" (see reminder_key)
KIND_CLOSE_NOTE = "survey_close_note"  # key "<survey id>"
FANOUT_WORKERS = 4  # concurrent sends: enough to keep up with Slack's pace despite each call's latency
FAILED_PREFIX = "failed:"
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


class Undeliverable(Exception):
    """Slack will never deliver this one message (e.g. the account is deactivated): retrying cannot help."""


Send = Callable[[str], str | None]


# --- keys ---


def participation_digest(*, key: bytes, survey_id: int, user_id: str) -> str:
    """HMAC-SHA256(GOVBOT_SECRET_KEY, "<survey id>:<user id>"): the only trace of who answered."""
    return hmac.new(key, f"{survey_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def invitation_key(survey_id: int, user_id: str) -> str:
    """The ledger key of one invitation."""
    return f"{survey_id}:{user_id}"


def reminder_key(*, key: bytes, survey_id: int, user_id: str) -> str:
    """The ledger key of one reminder; an HMAC, because the reminded are the non-responders."""
    digest = hmac.new(key, f"remind:{survey_id}:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"{survey_id}:{digest}"


# --- reading ---


def get_open_survey(*, session: Session, team_id: int) -> Survey | None:
    """The team's open survey, if any."""
    query = select(Survey).where(Survey.team_id == team_id, Survey.status == "open")
    return session.exec(query.order_by(col(Survey.id).desc())).first()


def get_closed_survey(*, session: Session, team_id: int, before: Survey | None = None) -> Survey | None:
    """The team's last closed survey (or the last one closed before ``before``)."""
    query = select(Survey).where(Survey.team_id == team_id, Survey.status == "closed")
    if before is not None:
        query = query.where(col(Survey.id) != before.id, col(Survey.closed_at) <= before.closed_at)
    return session.exec(query.order_by(col(Survey.closed_at).desc(), col(Survey.id).desc())).first()


def response_count(*, session: Session, survey_id: int) -> int:
    """How many answer sets a survey holds (internal: shown only through the anonymity gate)."""
    query = select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
    return int(session.exec(query).one())  # type: ignore[call-overload]


LedgerRow = tuple[str, datetime | None, str | None]  # (key after "<survey id>:", done at, ref)


def _ledger_rows(session: Session, kind: str, survey_id: int) -> list[LedgerRow]:
    query = select(Delivery.key, Delivery.done_at, Delivery.ref).where(
        Delivery.kind == kind, col(Delivery.key).startswith(f"{survey_id}:")
    )
    return [(k.split(":", 1)[1], done, ref) for k, done, ref in session.exec(query)]  # type: ignore[misc]


def delivered_invitations(
    *, session: Session, survey_id: int, sent_before: datetime | None = None
) -> list[str]:
    """User ids whose invitation Slack accepted (optionally: before a time)."""
    return [
        user for user, done, ref in _ledger_rows(session, KIND_INVITE, survey_id)
        if done is not None and not (ref or "").startswith(FAILED_PREFIX)
        and (sent_before is None or done <= sent_before)
    ]


def was_invited(*, session: Session, survey_id: int, user_id: str) -> bool:
    """Whether an invitation to this user was sent (or is being sent)."""
    key = invitation_key(survey_id, user_id)
    query = select(Delivery.id).where(Delivery.kind == KIND_INVITE, Delivery.key == key)
    return session.exec(query).first() is not None


def has_answered(*, session: Session, key: bytes, survey_id: int, user_id: str) -> bool:
    """Whether this person's participation digest is recorded."""
    digest = participation_digest(key=key, survey_id=survey_id, user_id=user_id)
    return session.get(SurveyParticipation, digest) is not None


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


def start_scheduled(
    *, session: Session, key: bytes, team: StoredTeam, now: datetime
) -> tuple[Survey | None, str]:
    """The survey of the due occurrence: started now, or found (to resume its invitations); with a note."""
    occurrence_at = due_occurrence(team=team, now=now)
    if occurrence_at is None:
        return None, "no survey is due"
    occurrence = "rrule:" + occurrence_at.astimezone(UTC).isoformat(timespec="minutes")
    query = select(Survey).where(Survey.team_id == team.id, Survey.occurrence == occurrence)
    existing = session.exec(query).first()
    if existing is not None:
        if existing.status != "open":
            return None, f"the survey of {occurrence} has already run"
        return existing, f"survey {existing.id} of {occurrence} was already started; resuming its invitations"
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
    return survey, f"survey {survey.id} of {occurrence} started"


# --- fan-out (invitations and reminders) ---


@dataclass
class FanOutReport:
    """What one pass of sending did."""

    sent: int = 0
    already_done: int = 0
    in_flight: int = 0  # claimed by another run still within its lease
    undeliverable: int = 0
    failed: int = 0  # transient: the claim was given back, the next run sends it
    skipped: int = 0  # no longer needed (e.g. the person answered meanwhile) or stopped

    def summary(self, noun: str) -> str:
        """One line for job summaries and replies."""
        others = (("already sent", self.already_done), ("being sent by another run", self.in_flight),
                  ("undeliverable", self.undeliverable), ("to retry on the next run", self.failed),
                  ("not needed any more", self.skipped))
        shown = [f"{value} {label}" for label, value in others if value]
        return ", ".join([f"{self.sent} {noun} sent", *shown])


def _fan_out(
    *,
    engine: Engine,
    kind: str,
    targets: Sequence[tuple[str, str]],
    send: Send,
    now: datetime,
    team_id: int,
    workers: int,
    still_wanted: Callable[[str], bool] | None = None,
) -> FanOutReport:
    """Send to every (ledger key, user id) at most once: claim, send, complete (or give the claim back).

    A process killed between claim and complete leaves a claim that the next run takes over once its lease
    has expired; everyone never claimed is simply sent to by the next run. Rate limits are the client's job
    (its retry handler waits out each 429's Retry-After).
    """
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def deliver(claim_key: str, user_id: str) -> str:
        if stop.is_set():
            return "skipped"
        if not ledger.claim(engine=engine, kind=kind, key=claim_key, team_id=team_id):
            return "in_flight"
        try:
            if still_wanted is not None and not still_wanted(user_id):
                ledger.release(engine=engine, kind=kind, key=claim_key)
                return "skipped"
            ref = send(user_id)
        except Undeliverable as exc:
            failure = f"{FAILED_PREFIX}{exc}"[:255]
            ledger.complete(engine=engine, kind=kind, key=claim_key, now=now, ref=failure)
            return "undeliverable"
        except Exception as exc:
            # No user id in the log: for a reminder it would name someone who has not answered.
            log.warning("one %s could not be sent (%s); the next run retries it", kind, type(exc).__name__)
            ledger.release(engine=engine, kind=kind, key=claim_key)
            return "failed"
        except BaseException:
            # The process is going down (e.g. interrupted): stop claiming; the open claim waits for its lease.
            stop.set()
            raise
        ledger.complete(engine=engine, kind=kind, key=claim_key, now=now, ref=ref)
        return "sent"

    def one(target: tuple[str, str]) -> None:
        outcome = deliver(*target)
        with lock:
            outcomes[outcome] += 1

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"govbot-{kind}") as pool:
        futures = [pool.submit(one, target) for target in targets]
    for future in futures:
        future.result()  # re-raises what stopped a worker (e.g. an interrupt), after the others have finished
    return FanOutReport(sent=outcomes["sent"], in_flight=outcomes["in_flight"],
                        undeliverable=outcomes["undeliverable"], failed=outcomes["failed"],
                        skipped=outcomes["skipped"])


def pending_invitees(*, session: Session, survey_id: int, team: StoredTeam) -> list[str]:
    """Members whose invitation is not done yet (a member who joined after the start is invited too)."""
    rows = _ledger_rows(session, KIND_INVITE, survey_id)
    done = {user for user, finished, _ in rows if finished is not None}
    return [m.slack for m in team.spec.members if m.slack not in done]


def invite_members(
    *, engine: Engine, survey_id: int, team: StoredTeam, send: Send, now: datetime,
    workers: int = FANOUT_WORKERS,
) -> FanOutReport:
    """DM every member not yet invited to this open survey, each exactly once; resumable at any point."""
    with Session(engine) as session:
        survey = session.get(Survey, survey_id)
        if survey is None or survey.status != "open":
            return FanOutReport()
        pending = pending_invitees(session=session, survey_id=survey_id, team=team)
    targets = [(invitation_key(survey_id, user), user) for user in pending]
    report = _fan_out(engine=engine, kind=KIND_INVITE, targets=targets, send=send, now=now, team_id=team.id,
                      workers=workers)
    report.already_done = len(team.spec.members) - len(pending)
    with session_scope(engine) as session:
        delivered = len(delivered_invitations(session=session, survey_id=survey_id))
        session.exec(update(Survey).where(col(Survey.id) == survey_id, col(Survey.status) == "open")  # type: ignore[call-overload]
                     .values(invited_count=delivered))
    return report


def reminder_targets(*, session: Session, key: bytes, survey: Survey) -> list[str]:
    """Invited before the reminder time, not answered, not reminded yet."""
    assert survey.id is not None
    invited = delivered_invitations(session=session, survey_id=survey.id, sent_before=survey.remind_at)
    digests = {participation_digest(key=key, survey_id=survey.id, user_id=u): u for u in invited}
    answered: set[str] = set()
    chosen = list(digests)
    for start in range(0, len(chosen), 500):  # bounded IN lists, whatever the team's size
        column = col(SurveyParticipation.digest)
        answered.update(session.exec(select(column).where(column.in_(chosen[start:start + 500]))))
    rows = _ledger_rows(session, KIND_REMIND, survey.id)
    reminded = {f"{survey.id}:{rest}" for rest, done, _ in rows if done is not None}
    return [
        user for digest, user in digests.items()
        if digest not in answered and reminder_key(key=key, survey_id=survey.id, user_id=user) not in reminded
    ]


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

    return _fan_out(
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


def results_to_json(results: domain.SurveyResults) -> dict[str, Any]:
    """The stored form of a survey's results."""
    return asdict(results)


def results_from_json(data: Mapping[str, Any]) -> domain.SurveyResults:
    """Results as stored by ``results_to_json``."""
    values = dict(data)
    for name in ("review_hours", "ai_share"):
        buckets = values.get(name)
        values[name] = None if buckets is None else tuple(domain.Bucket(**b) for b in buckets)
    values["comments"] = tuple(values.get("comments") or ())
    return domain.SurveyResults(**values)


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


def threshold(survey: Survey, team: StoredTeam) -> int:
    """The anonymity threshold for this survey: the one promised at start, or the team's current one if higher."""
    return max(survey.min_responses, team.settings.anonymity_min_responses)


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


def close_note_pending(*, session: Session, survey: Survey) -> bool:
    """Whether the close note of this closed survey still has to be posted."""
    return not ledger.is_done(session=session, kind=KIND_CLOSE_NOTE, key=str(survey.id))


def stored_results(survey: Survey) -> domain.SurveyResults | None:
    """The results computed at close (None while open)."""
    return results_from_json(survey.results) if survey.results else None


@dataclass(frozen=True)
class ClosedResults:
    """A closed survey's results as they may be shown: gated, compared with the previous one, flagged."""

    survey: Survey
    shown: domain.SurveyResults | domain.NotEnoughResponses
    deltas: domain.Deltas | None
    flags: list[domain.Flag]
    k: int


def _gated(survey: Survey | None, k: int) -> domain.SurveyResults | domain.NotEnoughResponses | None:
    results = stored_results(survey) if survey is not None else None
    return None if results is None else domain.gate(results, responses=results.responses, k=k)


def closed_results(
    *, session: Session, team: StoredTeam, survey: Survey | None = None
) -> ClosedResults | None:
    """The results of the team's last closed survey (or of ``survey``), through the anonymity gate."""
    survey = survey or get_closed_survey(session=session, team_id=team.id)
    if survey is None:
        return None
    k = threshold(survey, team)
    shown = _gated(survey, k)
    if shown is None:
        return None
    if isinstance(shown, domain.NotEnoughResponses):
        return ClosedResults(survey=survey, shown=shown, deltas=None, flags=[], k=k)
    before = get_closed_survey(session=session, team_id=team.id, before=survey)
    previous = _gated(before, threshold(before, team)) if before is not None else None
    comparable = previous if isinstance(previous, domain.SurveyResults) else None
    deltas = domain.compare(shown, comparable) if comparable is not None else None
    found = domain.flags(shown, comparable)
    return ClosedResults(survey=survey, shown=shown, deltas=deltas, flags=found, k=k)


@dataclass(frozen=True)
class OpenStatus:
    """The open survey's progress; ``responses`` and ``rate`` are None below the anonymity threshold."""

    survey: Survey
    invited: int
    responses: int | None
    rate: float | None
    k: int


def open_status(*, session: Session, team: StoredTeam) -> OpenStatus | None:
    """The team's open survey and its response rate (gated like every result), or None."""
    survey = get_open_survey(session=session, team_id=team.id)
    if survey is None or survey.id is None:
        return None
    k = threshold(survey, team)
    count = response_count(session=session, survey_id=survey.id)
    invited = survey.invited_count
    if count < k:
        return OpenStatus(survey=survey, invited=invited, responses=None, rate=None, k=k)
    rate = float(Fraction(count * 100, invited)) if invited > 0 else None
    return OpenStatus(survey=survey, invited=invited, responses=count, rate=rate, k=k)
