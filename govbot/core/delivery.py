"""At-most-once side effects, carried by the ``delivery`` table's unique (kind, key).

Protocol: ``claim`` inserts the row in its own short transaction *before* the side effect (only one process can
win it) and returns a ``Claim``; ``complete`` records the result after. A claim that is older than ``lease`` and
still not complete belongs to a process that died mid-way: ``claim`` hands it to the next caller, which finishes
the work. That is what lets a killed process resume "neither duplicating nor skipping".

Two clocks, never compared with each other. ``claimed_at`` is a lease stamp on the wall clock: a job replayed
with ``--as-of`` last week must neither see a live claim as stale (and act twice) nor leave a claim dated in the
future that blocks real runs for days. ``done_at`` records when the effect happened in the job's time (its
``now``, which ``--as-of`` sets), because that is what later jobs compare with their own ``now`` (a reminder
goes to those invited before the survey's reminder time). ``release`` gives back only the claim it is handed,
so a run whose lease was taken over cannot free the new holder's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Delivery

DEFAULT_LEASE = timedelta(minutes=10)


def wall_clock() -> datetime:
    """Infrastructure time for leases only (not the job's time: see the module docstring)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """The right to perform (kind, key), identified by when it was taken."""

    kind: str
    key: str
    claimed_at: datetime


def is_done(*, session: Session, kind: str, key: str) -> bool:
    """Whether this side effect has been completed."""
    row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
    return row is not None and row.done_at is not None


def claim(
    *, engine: Engine, kind: str, key: str, team_id: int | None = None, lease: timedelta = DEFAULT_LEASE,
) -> Claim | None:
    """Take the right to perform (kind, key) once; None when done already or being done by someone else.

    Takes no ``now``: the lease is measured on the wall clock (see the module docstring).
    """
    taken_at = wall_clock()
    with Session(engine) as session:
        try:
            session.add(Delivery(kind=kind, key=key, team_id=team_id, claimed_at=taken_at))
            session.commit()
            return Claim(kind, key, taken_at)
        except IntegrityError:
            session.rollback()
        row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
        if row is None or row.done_at is not None:
            return None
        if taken_at - row.claimed_at < lease:
            return None
        # A stale claim: the process that made it died before completing. Take it over (compare-and-swap).
        taken = session.exec(  # type: ignore[call-overload]
            update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.claimed_at) == row.claimed_at,
                   col(Delivery.done_at).is_(None))
            .values(claimed_at=taken_at)
        )
        session.commit()
        return Claim(kind, key, taken_at) if taken.rowcount == 1 else None


def complete(*, engine: Engine, kind: str, key: str, now: datetime, ref: str | None = None) -> None:
    """Mark (kind, key) as done at the job's ``now``, with what it produced."""
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).one()
        row.done_at = now
        row.ref = ref
        session.add(row)
        session.commit()


def release(*, engine: Engine, kind: str, key: str, claim: Claim | None = None) -> None:
    """Give a claim back after the side effect failed, so a later run tries again at once.

    With ``claim``, only that claim is given back (it may have been taken over since); without it, any claim of
    (kind, key) that is not done.
    """
    query = delete(Delivery).where(col(Delivery.kind) == kind, col(Delivery.key) == key,
                                   col(Delivery.done_at).is_(None))
    if claim is not None:
        query = query.where(col(Delivery.claimed_at) == claim.claimed_at)
    with Session(engine) as session:
        session.exec(query)  # type: ignore[call-overload]
        session.commit()


def mark_once(*, session: Session, kind: str, key: str, now: datetime, team_id: int | None = None) -> bool:
    """Inside the caller's transaction: record (kind, key) as done at ``now``; False if it already was.

    For effects that live in the same database (e.g. handling a Slack event), where the claim and the work
    commit together.
    """
    savepoint = session.begin_nested()
    try:
        session.add(Delivery(kind=kind, key=key, team_id=team_id, claimed_at=wall_clock(), done_at=now))
        session.flush()
        savepoint.commit()
        return True
    except IntegrityError:
        savepoint.rollback()
        return False
