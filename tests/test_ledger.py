"""The delivery ledger: leases on the wall clock, the job's time recorded as done, take-over of stale claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.tables import Delivery
from govbot.core import delivery as ledger

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


def test_stale_claim_is_taken_over_and_old_holder_cannot_release_it(engine, wall):
    old = ledger.claim(engine=engine, kind="k", key="a")
    wall.moment = T0 + timedelta(minutes=5)
    assert ledger.claim(engine=engine, kind="k", key="a") is None
    wall.moment = T0 + timedelta(minutes=11)
    new = ledger.claim(engine=engine, kind="k", key="a")
    assert old and new and new.claimed_at > old.claimed_at
    ledger.release(engine=engine, kind="k", key="a", claim=old)  # the old holder finishes late: a no-op
    wall.moment = T0 + timedelta(minutes=12)
    assert ledger.claim(engine=engine, kind="k", key="a") is None
    ledger.release(engine=engine, kind="k", key="a", claim=new)
    assert ledger.claim(engine=engine, kind="k", key="a")
