"""The delivery ledger: leases on the wall clock, the job's time recorded as done, take-over of stale claims."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import make_engine
from govbot.adapters.db.tables import Delivery
from govbot.core import delivery as ledger
from govbot.core.leases import database_now, keeper_for

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
JOB_NOW = datetime(2031, 3, 2, 8, 30, tzinfo=UTC)  # the job's time: far from the wall clock on purpose


class WallClock:
    """The wall clock the ledger reads for leases, set by the test."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def wall(monkeypatch) -> WallClock:
    clock = WallClock(T0)
    monkeypatch.setattr(ledger, "wall_clock", clock)
    return clock


def _row(engine, key: str) -> Delivery:
    with Session(engine) as session:
        return session.exec(select(Delivery).where(Delivery.kind == "k", Delivery.key == key)).one()


def test_claim_once_then_done(engine, wall):
    first = ledger.claim(engine=engine, kind="k", key="a")
    assert first and ledger.claim(engine=engine, kind="k", key="a") is None
    ledger.complete(engine=engine, kind="k", key="a", now=JOB_NOW, ref="ts-1")
    wall.moment = T0 + timedelta(days=1)
    assert ledger.claim(engine=engine, kind="k", key="a") is None


def test_lease_on_the_wall_clock_done_at_in_the_jobs_time(engine, wall):
    assert ledger.claim(engine=engine, kind="k", key="a")
    ledger.complete(engine=engine, kind="k", key="a", now=JOB_NOW, ref="ts-1")
    row = _row(engine, "a")
    assert row.claimed_at == T0 and row.done_at == JOB_NOW and row.ref == "ts-1"
    with Session(engine) as session:
        assert ledger.mark_once(session=session, kind="k", key="b", now=JOB_NOW)
        assert not ledger.mark_once(session=session, kind="k", key="b", now=JOB_NOW)
        session.commit()
    row = _row(engine, "b")
    assert row.claimed_at == T0 and row.done_at == JOB_NOW


def silence(engine, key: str, seconds: float) -> None:
    """Make the holder of (k, key) look silent for ``seconds`` (its last heartbeat that long ago)."""
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.kind == "k", Delivery.key == key)).one()
        row.heartbeat_at = database_now(session) - timedelta(seconds=seconds)
        session.add(row)
        session.commit()


@pytest.fixture
def other_process(db_url):
    """A second engine on the same database: its keeper is another holder, as another process's would be."""
    engine = make_engine(db_url)
    yield engine
    keeper_for(engine).stop()
    engine.dispose()


def test_a_claim_whose_holder_went_silent_is_taken_over_and_the_old_holder_cannot_release_it(
        engine, other_process, wall):
    old = ledger.claim(engine=engine, kind="k", key="a")
    silence(engine, "a", seconds=5)  # within the lease (2/3 of the 30 s failover)
    assert ledger.claim(engine=other_process, kind="k", key="a") is None
    silence(engine, "a", seconds=25)
    new = ledger.claim(engine=other_process, kind="k", key="a")
    assert old and new and new.taken_over_from == old.claimed_at
    ledger.release(engine=engine, kind="k", key="a", claim=old)  # the old holder finishes late: a no-op
    assert ledger.claim(engine=engine, kind="k", key="a") is None
    keeper_for(engine).beat()  # the old holder's next heartbeat tells it the claim is gone
    assert old.row_id is not None and not ledger.holds(engine=engine, claim=old)
    ledger.release(engine=other_process, kind="k", key="a", claim=new)
    assert ledger.claim(engine=engine, kind="k", key="a")


def test_a_live_holder_keeps_its_claim_however_long_and_a_dead_one_loses_it_within_the_failover(
        engine, other_process):
    keeper_for(engine, failover_seconds=3)  # heartbeat every 0.3 s, stale after 2 s
    keeper_for(other_process, failover_seconds=3)
    held = ledger.claim(engine=engine, kind="k", key="long")
    assert held
    time.sleep(2.5)  # longer than the lease: only the heartbeat keeps it
    assert ledger.claim(engine=other_process, kind="k", key="long") is None
    assert ledger.holds(engine=engine, claim=held)
    keeper_for(engine).stop()  # the holder dies: no more heartbeats
    deadline = time.monotonic() + 10
    while (taken := ledger.claim(engine=other_process, kind="k", key="long")) is None:
        assert time.monotonic() < deadline, "the dead holder's claim was never taken over"
        time.sleep(0.1)
    assert taken.taken_over_from == held.claimed_at
    keeper_for(engine).beat()  # the old holder comes back: it learns it lost the claim
    assert not ledger.holds(engine=engine, claim=held)


def test_a_stopping_process_takes_no_new_claim_and_hands_back_what_it_held(engine, other_process):
    running = ledger.claim(engine=engine, kind="k", key="job", ref="2026-11-25T10:00:00+00:00")
    assert running
    keeper_for(engine).drain()
    assert ledger.claim(engine=engine, kind="k", key="next") is None
    assert ledger.claim(engine=other_process, kind="k", key="job") is None  # still held
    ledger.hand_back(engine=engine, claim=running)
    resumed = ledger.claim(engine=other_process, kind="k", key="job")
    assert resumed and resumed.ref == "2026-11-25T10:00:00+00:00" and resumed.taken_over_from is not None


def test_leases_are_judged_on_the_database_clock_not_the_pods(engine, other_process, monkeypatch):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs on one machine: there is one clock")
    held = ledger.claim(engine=engine, kind="k", key="a")
    # The other pod's clock runs an hour ahead: it must still see a live claim as live.
    monkeypatch.setattr(ledger, "wall_clock", lambda: datetime.now(UTC) + timedelta(hours=1))
    assert held and ledger.claim(engine=other_process, kind="k", key="a") is None


def test_a_claim_finished_or_given_back_while_the_heartbeat_runs_is_no_take_over(engine, other_process, wall,
                                                                                   caplog):
    """``complete`` and ``release`` commit before they stop tracking the claim: a heartbeat in between finds the
    row done or gone. That is this process's own work, not a take-over, and says nothing."""
    from govbot.core import leases

    done = ledger.claim(engine=engine, kind="k", key="done")
    given_back = ledger.claim(engine=engine, kind="k", key="given-back")
    taken = ledger.claim(engine=engine, kind="k", key="taken")
    assert done and given_back and taken
    keeper = keeper_for(engine)
    with Session(engine) as session:  # what `complete` and `release` have committed before they untrack
        finished = session.exec(select(Delivery).where(Delivery.key == "done")).one()
        finished.done_at = JOB_NOW
        session.add(finished)
        session.delete(session.exec(select(Delivery).where(Delivery.key == "given-back")).one())
        session.commit()
    caplog.set_level("WARNING", logger=leases.__name__)
    keeper.beat()
    assert "taken over" not in caplog.text
    assert not ledger.holds(engine=engine, claim=done) and not ledger.holds(engine=engine, claim=given_back)
    assert ledger.holds(engine=engine, claim=taken)

    silence(engine, "taken", seconds=25)
    assert ledger.claim(engine=other_process, kind="k", key="taken")
    keeper.beat()
    assert "1 claim(s) of this process were taken over by another one" in caplog.text
    assert not ledger.holds(engine=engine, claim=taken)
