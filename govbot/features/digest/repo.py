"""The digest's queries: the kept weekly figures (``digest_week``) and what the delivery ledger says was posted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Delivery, DigestWeek, StaffingViolation, Survey
from govbot.domain.digest import IsoWeek, People, ReviewQueue, Tracks, WeekFigures, WeekSpan


def _figures(row: DigestWeek) -> WeekFigures:
    queue = None
    if row.review_count is not None:
        queue = ReviewQueue(row.review_count, row.review_median_hours, row.review_oldest_hours)
    return WeekFigures(
        week=IsoWeek.parse(row.week),
        unit="points" if row.unit == "points" else "issues",
        velocity=row.velocity,
        features_shipped=row.features_shipped,
        incidents=row.incidents,
        rollbacks=row.rollbacks,
        review_queue=queue,
    )


def kept_weeks(*, session: Session, team_id: int, weeks: Iterable[IsoWeek]) -> list[WeekFigures]:
    """The kept figures of those of ``weeks`` that are kept."""
    labels = [week.label for week in weeks]
    rows = session.exec(
        select(DigestWeek).where(DigestWeek.team_id == team_id, col(DigestWeek.week).in_(labels))
    ).all()
    return [_figures(row) for row in rows]


def save_week(
    *,
    session: Session,
    team_id: int,
    span: WeekSpan,
    figures: WeekFigures,
    people: People | None,
    tracks: Tracks | None,
    now: datetime,
) -> None:
    """Keep one week's figures (insert, or update the row another run kept); the caller commits."""
    queue = figures.review_queue
    values: dict[str, Any] = {
        "week_start": span.start,
        "unit": figures.unit,
        "velocity": figures.velocity,
        "features_shipped": figures.features_shipped,
        "incidents": figures.incidents,
        "rollbacks": figures.rollbacks,
        "review_count": queue.count if queue is not None else None,
        "review_median_hours": queue.median_age_hours if queue is not None else None,
        "review_oldest_hours": queue.oldest_age_hours if queue is not None else None,
        "burnout_index": people.burnout_index if people is not None else None,
        "learning_index": people.learning_index if people is not None else None,
        "response_rate": people.response_rate if people is not None else None,
        "human_first_pct": tracks.human_first_pct if tracks is not None else None,
        "computed_at": now,
    }
    query = select(DigestWeek).where(DigestWeek.team_id == team_id, DigestWeek.week == span.week.label)
    row = session.exec(query).first()
    if row is None:
        # Another process may insert the same week at the same moment: the unique (team, week) decides, and the
        # loser updates the winner's row instead.
        savepoint = session.begin_nested()
        try:
            session.add(DigestWeek(team_id=team_id, week=span.week.label, **values))
            session.flush()
            savepoint.commit()
            return
        except IntegrityError:
            savepoint.rollback()
            row = session.exec(query).one()
    if queue is None and row.review_count is not None:
        # A backfill never measures the queue: keep what the week's post measured.
        for name in ("review_count", "review_median_hours", "review_oldest_hours"):
            values.pop(name)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)


def delivery_ref(*, session: Session, kind: str, key: str) -> tuple[bool, str | None]:
    """Whether (kind, key) is done in the delivery ledger, and what it recorded."""
    row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
    if row is None:
        return False, None
    return row.done_at is not None, row.ref


@dataclass(frozen=True)
class ClosedSurvey:
    """What the digest reads of a closed survey: the threshold it promised and its stored aggregate results."""

    min_responses: int
    responses: int
    burnout_index: float | None
    learning_index: float | None
    response_rate: float | None


def last_closed_surveys(*, session: Session, team_id: int, count: int = 2) -> list[ClosedSurvey]:
    """The team's last ``count`` closed surveys with results, most recent first."""
    rows = session.exec(
        select(Survey)
        .where(Survey.team_id == team_id, Survey.status == "closed")
        .order_by(col(Survey.closed_at).desc(), col(Survey.id).desc())
        .limit(count)
    ).all()
    found = []
    for row in rows:
        results = row.results or {}
        found.append(ClosedSurvey(
            min_responses=row.min_responses,
            responses=int(results.get("responses") or 0),
            burnout_index=results.get("burnout_index"),
            learning_index=results.get("learning_index"),
            response_rate=results.get("response_rate"),
        ))
    return found


def open_violations(*, session: Session, team_id: int) -> dict[str, int]:
    """How many staffing violations are open, by rule (acknowledged and resolved ones are not open)."""
    rows = session.exec(
        select(StaffingViolation.rule, func.count())
        .where(StaffingViolation.team_id == team_id, StaffingViolation.status == "open")
        .group_by(StaffingViolation.rule)
    ).all()
    return {str(rule): int(count) for rule, count in rows}
