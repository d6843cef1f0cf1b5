"""At-most-once side effects, carried by the ``delivery`` table's unique (kind, key).

Protocol: ``claim`` inserts the row in its own short transaction *before* the side effect (only one process can
win it); ``complete`` records the result after. A claim that is older than ``lease`` and still not complete
belongs to a process that died mid-way: ``claim`` hands it to the next caller, which finishes the work. That is
what lets a killed process resume "neither duplicating nor skipping".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.db.tables import Delivery

DEFAULT_LEASE = timedelta(minutes=10)


def is_done(*, session: Session, kind: str, key: str) -> bool:
    """Whether this side effect has been completed."""
    row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
    return row is not None and row.done_at is not None


def claim(
    *, engine: Engine, kind: str, key: str, now: datetime, team_id: int | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> bool:
    """Take the right to perform (kind, key) once; False when done already or being done by someone else."""
    with Session(engine) as session:
        try:
            session.add(Delivery(kind=kind, key=key, team_id=team_id, claimed_at=now))
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
        if row is None or row.done_at is not None:
            return False
        if now - row.claimed_at < lease:
            return False
        # A stale claim: the process that made it died before completing. Take it over (compare-and-swap).
        from sqlalchemy import update

        taken = session.exec(
            update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.claimed_at) == row.claimed_at,
                   col(Delivery.done_at).is_(None))
            .values(claimed_at=now)
        )
        session.commit()
        return taken.rowcount == 1


def complete(*, engine: Engine, kind: str, key: str, now: datetime, ref: str | None = None) -> None:
    """Mark (kind, key) as done, with what it produced."""
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).one()
        row.done_at = now
        row.ref = ref
        session.add(row)
        session.commit()


def release(*, engine: Engine, kind: str, key: str) -> None:
    """Give a claim back after the side effect failed, so a later run tries again at once."""
    with Session(engine) as session:
        row = session.exec(
            select(Delivery).where(Delivery.kind == kind, Delivery.key == key, Delivery.done_at.is_(None))  # type: ignore[union-attr]
        ).first()
        if row is not None:
            session.delete(row)
            session.commit()


def mark_once(*, session: Session, kind: str, key: str, now: datetime, team_id: int | None = None) -> bool:
    """Inside the caller's transaction: record (kind, key) as done; False if it already was.

    For effects that live in the same database (e.g. handling a Slack event), where the claim and the work
    commit together.
    """
    savepoint = session.begin_nested()
    try:
        session.add(Delivery(kind=kind, key=key, team_id=team_id, claimed_at=now, done_at=now))
        session.flush()
        savepoint.commit()
        return True
    except IntegrityError:
        savepoint.rollback()
        return False
