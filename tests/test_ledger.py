"""The delivery ledger: leases on the wall clock, take-over of stale claims, release of one's own claim only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from govbot.services import ledger

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(moment):
    return lambda: moment


def test_claim_once_then_done(engine):
    first = ledger.claim(engine=engine, kind="k", key="a", clock=at(T0))
    assert first and ledger.claim(engine=engine, kind="k", key="a", clock=at(T0)) is None
    ledger.complete(engine=engine, kind="k", key="a", ref="ts-1")
    assert ledger.claim(engine=engine, kind="k", key="a", clock=at(T0 + timedelta(days=1))) is None


def test_stale_claim_is_taken_over_and_old_holder_cannot_release_it(engine):
    old = ledger.claim(engine=engine, kind="k", key="a", clock=at(T0))
    assert ledger.claim(engine=engine, kind="k", key="a", clock=at(T0 + timedelta(minutes=5))) is None
    new = ledger.claim(engine=engine, kind="k", key="a", clock=at(T0 + timedelta(minutes=11)))
    assert new and new.claimed_at > old.claimed_at
    ledger.release(engine=engine, kind="k", key="a", claim=old)  # the old holder finishes late: a no-op
    assert ledger.claim(engine=engine, kind="k", key="a", clock=at(T0 + timedelta(minutes=12))) is None
    ledger.release(engine=engine, kind="k", key="a", claim=new)
    assert ledger.claim(engine=engine, kind="k", key="a", clock=at(T0 + timedelta(minutes=12)))


def test_job_time_does_not_move_leases(engine):
    # A job replayed --as-of last week passes its own `now`; the lease still runs on the wall clock.
    assert ledger.claim(engine=engine, kind="k", key="a", now=T0 - timedelta(days=7))
    assert ledger.claim(engine=engine, kind="k", key="a", now=T0 + timedelta(days=7)) is None
