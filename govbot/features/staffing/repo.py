"""Queries on the staffing_violation table (keyword-only; the service is the only writer)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from govbot.adapters.db.tables import AuditEvent, Delivery, StaffingViolation
from govbot.domain.staffing import RULES, Known

STATUSES = ("open", "acknowledged", "resolved")
LIVE = ("open", "acknowledged")


def known(*, session: Session, team_id: int) -> list[Known]:
    """Every violation of the team that is not resolved, as reconciliation needs it."""
    rows = session.exec(select(StaffingViolation).where(
        StaffingViolation.team_id == team_id, col(StaffingViolation.status).in_(LIVE)))
    return [as_known(row) for row in rows]


def by_keys(*, session: Session, keys: Sequence[str]) -> dict[str, StaffingViolation]:
    """Stored violations by identity (any status)."""
    if not keys:
        return {}
    rows = session.exec(select(StaffingViolation).where(col(StaffingViolation.key).in_(list(keys))))
    return {row.key: row for row in rows}


def as_known(row: StaffingViolation) -> Known:
    """The reconciliation view of a stored row."""
    return Known(key=row.key, sprint_id=row.sprint_id, status=row.status, fingerprint=row.fingerprint,
                 notified_state=row.notified_state, notified_magnitude=row.notified_magnitude)


def get(*, session: Session, violation_id: int) -> StaffingViolation | None:
    """One violation by id."""
    return session.get(StaffingViolation, violation_id)


def listing(*, session: Session, team_id: int, status: str = "open") -> list[StaffingViolation]:
    """The team's violations with this status (or "all"), oldest first."""
    query = select(StaffingViolation).where(StaffingViolation.team_id == team_id)
    if status != "all":
        query = query.where(StaffingViolation.status == status)
    return list(session.exec(query.order_by(col(StaffingViolation.opened_at), col(StaffingViolation.id))))


def to_notify(*, session: Session, team_id: int) -> list[StaffingViolation]:
    """Open violations: their current round of notices goes out unless it already has."""
    return list(session.exec(select(StaffingViolation).where(
        StaffingViolation.team_id == team_id, StaffingViolation.status == "open").order_by(col(StaffingViolation.id))))


def resolved_in_sprint(*, session: Session, team_id: int, sprint_id: int) -> list[StaffingViolation]:
    """Violations of this sprint that were resolved: the managers are told once."""
    return list(session.exec(select(StaffingViolation).where(
        StaffingViolation.team_id == team_id, StaffingViolation.sprint_id == sprint_id,
        StaffingViolation.status == "resolved").order_by(col(StaffingViolation.id))))


def open_by_rule(*, session: Session, team_id: int) -> dict[str, int]:
    """How many open (not acknowledged) violations each rule has, every rule listed."""
    counts: dict[str, int] = dict.fromkeys(RULES, 0)
    rows = session.exec(select(StaffingViolation.rule, func.count()).where(
        StaffingViolation.team_id == team_id, StaffingViolation.status == "open").group_by(StaffingViolation.rule))
    for rule, count in rows:
        counts[rule] = int(count)
    return counts


def oldest_open(*, session: Session, team_id: int, limit: int = 3) -> list[StaffingViolation]:
    """The longest-open violations."""
    return list(session.exec(select(StaffingViolation).where(
        StaffingViolation.team_id == team_id, StaffingViolation.status == "open")
        .order_by(col(StaffingViolation.opened_at), col(StaffingViolation.id)).limit(limit)))


def audited(*, session: Session, action: str, target: str) -> bool:
    """Whether an audit event with this action and target exists (a write recorded before a crash)."""
    return session.exec(select(AuditEvent.id).where(AuditEvent.action == action, AuditEvent.target == target)
                        .limit(1)).first() is not None


def delivered(*, session: Session, team_id: int, kinds: Sequence[str]) -> set[tuple[str, str]]:
    """(kind, key) of the team's notices already sent: one query instead of a claim attempt per notice."""
    rows = session.exec(select(Delivery.kind, Delivery.key).where(
        Delivery.team_id == team_id, col(Delivery.kind).in_(list(kinds)), col(Delivery.done_at).is_not(None)))
    return {(kind, key) for kind, key in rows}
