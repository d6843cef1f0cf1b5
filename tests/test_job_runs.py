"""Scheduled job runs: one at a time per (kind, team) across processes, and a run its process could not finish
is resumed once, with the ``now`` it had."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from govbot.core import delivery, jobs
from govbot.core.leases import keeper_for
from tests.conftest import age_open_claims

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def open_runs(engine) -> list[str]:
    with Session(engine) as session:
        return [row.key for row in delivery.open_claims(session=session, kind=jobs.JOB_RUN_KIND)]


def test_a_run_holds_its_claim_while_it_runs_and_gives_it_back_after(engine):
    seen: list[datetime] = []

    def run(now: datetime) -> None:
        assert open_runs(engine) == ["send-survey:payments"]
        # Meanwhile the same job for the same team does not start a second time.
        jobs.run_claimed(engine=engine, kind="send-survey", team_name="payments", now=now,
                         run=lambda _now: seen.append(_now))
        seen.append(now)

    jobs.run_claimed(engine=engine, kind="send-survey", team_name="payments", now=NOW, run=run)
    assert seen == [NOW] and open_runs(engine) == []


def test_a_run_whose_process_died_is_resumed_once_with_its_own_now(engine):
    claim = delivery.claim(engine=engine, kind=jobs.JOB_RUN_KIND, key="send-survey:payments", ref=NOW.isoformat())
    assert claim is not None
    delivery.abandon(engine=engine, claim=claim)  # its heartbeat stops
    assert jobs.interrupted_runs(engine=engine) == []  # not stale yet
    age_open_claims(engine)
    assert jobs.interrupted_runs(engine=engine) == ["send-survey:payments"]
    resumed: list[tuple[str, str, datetime]] = []
    jobs.resume_run(engine=engine, key="send-survey:payments", run=lambda *args: resumed.append(args))
    jobs.resume_run(engine=engine, key="send-survey:payments", run=lambda *args: resumed.append(args))
    assert resumed == [("send-survey", "payments", NOW)] and open_runs(engine) == []


def test_resuming_a_run_that_is_gone_leaves_nothing_behind(engine):
    jobs.resume_run(engine=engine, key="plan-sprints:payments", run=lambda *args: None)
    assert open_runs(engine) == []


def test_a_stopping_process_hands_its_run_back_for_the_next_leader_at_once(engine, db_url):
    from govbot.adapters.db.session import make_engine

    stopping = make_engine(db_url)  # another process's engine: its own keeper
    try:
        def stop_midway(now: datetime) -> None:
            keeper_for(stopping).drain()  # SIGTERM arrives while the job runs

        jobs.run_claimed(engine=stopping, kind="send-survey", team_name="payments", now=NOW, run=stop_midway)
        assert jobs.interrupted_runs(engine=engine) == ["send-survey:payments"]  # no lease to wait for
        resumed: list[tuple[str, str, datetime]] = []
        jobs.resume_run(engine=engine, key="send-survey:payments", run=lambda *args: resumed.append(args))
        assert resumed == [("send-survey", "payments", NOW)]
    finally:
        keeper_for(stopping).stop()
        stopping.dispose()
