"""The survey feature's storage keys and queries: who was invited, who answered, what may be shown.

Keyword-only reads (the service is the only writer of the survey tables); results come back through the
anonymity gate, never raw.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Delivery, Survey, SurveyParticipation, SurveyResponse
from govbot.core import delivery as ledger
from govbot.core.teams import StoredTeam
from govbot.domain import surveys as domain
from govbot.domain.keys import checking_keys

log = logging.getLogger(__name__)

KIND_INVITE = "survey_invite"  # key "<survey id>:<user id>"
KIND_REMIND = "survey_remind"  # key "<survey id>:<HMAC>" (see reminder_key)
KIND_CLOSE_NOTE = "survey_close_note"  # key "<survey id>"
FAILED_PREFIX = "failed:"


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


def participation_digests(*, key: bytes, survey_id: int, user_id: str) -> list[str]:
    """The digest under the current key and under each key GOVBOT_VERIFY_SECRET_KEYS still accepts, so that an
    answer given before a key rotation still counts as given."""
    return [participation_digest(key=k, survey_id=survey_id, user_id=user_id) for k in checking_keys(key)]


def has_answered(*, session: Session, key: bytes, survey_id: int, user_id: str) -> bool:
    """Whether this person's participation digest is recorded (under the current key or a previous one)."""
    return any(session.get(SurveyParticipation, digest) is not None
               for digest in participation_digests(key=key, survey_id=survey_id, user_id=user_id))


def pending_invitees(*, session: Session, survey_id: int, team: StoredTeam) -> list[str]:
    """Members whose invitation is not done yet (a member who joined after the start is invited too)."""
    rows = _ledger_rows(session, KIND_INVITE, survey_id)
    done = {user for user, finished, _ in rows if finished is not None}
    return [m.slack for m in team.spec.members if m.slack not in done]


def reminder_targets(*, session: Session, key: bytes, survey: Survey) -> list[str]:
    """Invited before the reminder time, not answered, not reminded yet."""
    assert survey.id is not None
    invited = delivered_invitations(session=session, survey_id=survey.id, sent_before=survey.remind_at)
    keys = checking_keys(key)  # answers and reminders from before a key rotation still count
    digests = {participation_digest(key=k, survey_id=survey.id, user_id=u): u for u in invited for k in keys}
    answered: set[str] = set()
    chosen = list(digests)
    for start in range(0, len(chosen), 500):  # bounded IN lists, whatever the team's size
        column = col(SurveyParticipation.digest)
        answered.update(session.exec(select(column).where(column.in_(chosen[start:start + 500]))))
    answered_users = {digests[digest] for digest in answered}
    rows = _ledger_rows(session, KIND_REMIND, survey.id)
    reminded = {f"{survey.id}:{rest}" for rest, done, _ in rows if done is not None}
    return [
        user for user in dict.fromkeys(digests.values())
        if user not in answered_users
        and not any(reminder_key(key=k, survey_id=survey.id, user_id=user) in reminded for k in keys)
    ]


# --- results ---


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


def threshold(survey: Survey, team: StoredTeam) -> int:
    """The anonymity threshold for this survey: the one promised at start, or the team's current one if higher."""
    return domain.release_threshold(promised=survey.min_responses, current=team.settings.anonymity_min_responses)


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
