"""At-most-once side effects, carried by the ``delivery`` table's unique (kind, key).

Protocol: ``claim`` inserts the row in its own short transaction *before* the side effect (only one process can
win it) and returns a ``Claim``; ``complete`` records the result after. A claim whose holder stopped
heartbeating (see ``core.leases``: the holder died, or lost the database for longer than the lease) is stale:
``claim`` hands it to the next caller, which finishes the work. That is what lets a killed process resume
"neither duplicating nor skipping", within the failover time rather than minutes later.

Three stamps, never compared across clocks. ``heartbeat_at`` is on the database's clock and is what staleness is
measured by, so pods whose clocks disagree still agree on it. ``claimed_at`` is when the claim was taken, on this
machine's wall clock (for people reading the table). ``done_at`` records when the effect happened in the job's
time (its ``now``, which ``--as-of`` sets), because that is what later jobs compare with their own ``now`` (a
reminder goes to those invited before the survey's reminder time). ``release`` gives back only the claim it is
handed, so a run whose claim was taken over cannot free the new holder's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Delivery
from govbot.core.leases import database_now, keeper_for

HANDED_BACK = "handed-back"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # the heartbeat of a handed-back claim: stale at once


def wall_clock() -> datetime:
    """This machine's time, recorded as ``claimed_at`` (staleness uses the database's clock, see above)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """The right to perform (kind, key), identified by when it was taken."""

    kind: str
    key: str
    claimed_at: datetime
    row_id: int | None = None
    # Set when the claim was taken over from a holder that stopped: what it had recorded, and when it claimed.
    taken_over_from: datetime | None = None
    ref: str | None = None


def is_done(*, session: Session, kind: str, key: str) -> bool:
    """Whether this side effect has been completed."""
    row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
    return row is not None and row.done_at is not None


def claim(
    *, engine: Engine, kind: str, key: str, team_id: int | None = None, lease: timedelta | None = None,
    ref: str | None = None,
) -> Claim | None:
    """Take the right to perform (kind, key) once; None when done already, held by a live process, or when this
    process is shutting down (it takes no new work then).

    ``lease``: how long the holder's heartbeat may be silent before the claim counts as stale (default: from
    GOVBOT_FAILOVER_SECONDS). ``ref`` is stored with a new claim (e.g. the time a job run is for).
    """
    keeper = keeper_for(engine)
    if keeper.draining:
        return None
    stale_after = lease if lease is not None else keeper.timing.stale_after
    taken_at = wall_clock()
    with Session(engine) as session:
        beat = database_now(session)
        row = Delivery(kind=kind, key=key, team_id=team_id, claimed_at=taken_at, holder=keeper.holder,
                       heartbeat_at=beat, ref=ref)
        try:
            session.add(row)
            session.commit()
            assert row.id is not None
            keeper.track(row.id)
            return Claim(kind, key, taken_at, row.id, ref=ref)
        except IntegrityError:
            session.rollback()
        existing = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).first()
        if existing is None or existing.done_at is not None:
            return None
        # Read before the update below: committing it refreshes ``existing`` with the new values.
        row_id, previous_claim, previous_ref = existing.id, existing.claimed_at, existing.ref
        # Claims written before heartbeats existed only have their claim time to go by.
        last_sign_of_life = existing.heartbeat_at or existing.claimed_at
        if beat - last_sign_of_life < stale_after:
            return None
        # A stale claim: its holder stopped. Take it over (compare-and-swap on the holder and its heartbeat).
        taken = session.exec(  # type: ignore[call-overload]
            update(Delivery)
            .where(col(Delivery.id) == existing.id, col(Delivery.done_at).is_(None),
                   col(Delivery.claimed_at) == existing.claimed_at,
                   _same(col(Delivery.holder), existing.holder),
                   _same(col(Delivery.heartbeat_at), existing.heartbeat_at))
            .values(claimed_at=taken_at, holder=keeper.holder, heartbeat_at=beat)
        )
        session.commit()
        if taken.rowcount != 1:
            return None
        assert row_id is not None
        keeper.track(row_id)
        return Claim(kind, key, taken_at, row_id, taken_over_from=previous_claim, ref=previous_ref)


def _same(column, value):  # type: ignore[no-untyped-def]
    return column.is_(None) if value is None else column == value


def holds(*, engine: Engine, claim: Claim) -> bool:
    """Whether this process may still act on ``claim`` (its heartbeat is current and nobody took it over)."""
    return claim.row_id is not None and keeper_for(engine).holds(claim.row_id)


def complete(*, engine: Engine, kind: str, key: str, now: datetime, ref: str | None = None) -> None:
    """Mark (kind, key) as done at the job's ``now``, with what it produced."""
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.kind == kind, Delivery.key == key)).one()
        row.done_at = now
        row.ref = ref
        session.add(row)
        session.commit()
        if row.id is not None:
            keeper_for(engine).untrack(row.id)


def release(*, engine: Engine, kind: str, key: str, claim: Claim | None = None) -> None:
    """Give a claim back after the side effect failed, so a later run tries again at once.

    With ``claim``, only that claim is given back (it may have been taken over since); without it, any claim of
    (kind, key) that is not done.
    """
    query = delete(Delivery).where(col(Delivery.kind) == kind, col(Delivery.key) == key,
                                   col(Delivery.done_at).is_(None))
    keeper = keeper_for(engine)
    if claim is not None:
        query = query.where(col(Delivery.claimed_at) == claim.claimed_at, col(Delivery.holder) == keeper.holder)
    with Session(engine) as session:
        ids = session.exec(select(Delivery.id).where(Delivery.kind == kind, Delivery.key == key)).all()
        session.exec(query)  # type: ignore[call-overload]
        session.commit()
    for row_id in ids:
        if row_id is not None and (claim is None or claim.row_id == row_id):
            keeper.untrack(row_id)


def hand_back(*, engine: Engine, claim: Claim) -> None:
    """Give an unfinished claim to whoever comes next *now*, keeping what it records (a shutting-down process
    hands its running job back this way: the new leader resumes it at once instead of after the lease)."""
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Delivery)
            .where(col(Delivery.kind) == claim.kind, col(Delivery.key) == claim.key,
                   col(Delivery.claimed_at) == claim.claimed_at, col(Delivery.holder) == keeper_for(engine).holder,
                   col(Delivery.done_at).is_(None))
            .values(holder=HANDED_BACK, heartbeat_at=LONG_AGO)
        )
        session.commit()
    if claim.row_id is not None:
        keeper_for(engine).untrack(claim.row_id)


def abandon(*, engine: Engine, claim: Claim) -> None:
    """Stop heartbeating a claim whose work was interrupted midway (the process is going down): it goes stale
    within the lease and the next run takes it over, asking first whether the effect happened."""
    if claim.row_id is not None:
        keeper_for(engine).untrack(claim.row_id)


def open_claims(*, session: Session, kind: str) -> list[Delivery]:
    """The claims of ``kind`` not done yet (live or stale), oldest first."""
    query = select(Delivery).where(Delivery.kind == kind, col(Delivery.done_at).is_(None))
    return list(session.exec(query.order_by(col(Delivery.id))))


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
