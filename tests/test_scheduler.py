"""The job registry, run-job (--as-of, --dry-run), persisted APScheduler jobs, RRULE triggers and leadership."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent
from govbot.adapters.scheduler.runner import LeaderLock, build_scheduler, sync_team_jobs
from govbot.adapters.scheduler.triggers import RRuleTrigger, daily_at
from govbot.config import load_settings
from govbot.core import audit
from govbot.core.jobs import JobContext, JobSpec, UnknownJob, UnknownTeam
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import FEATURES, Feature, build_runtime, create_scheduler, run_job, scheduled_jobs

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
KEY = b"test-secret-key-0123456789"


@pytest.fixture
def runtime(db_url):
    settings = load_settings(sandbox=True, DATABASE_URL=db_url, GOVBOT_SECRET_KEY=KEY.decode(),
                             SLACK_API_URL="http://127.0.0.1:9/api/")
    rt = build_runtime(settings)
    specs = parse_team_file(EXAMPLE)
    with session_scope(rt.engine) as session:
        apply_specs(session=session, key=KEY, now=datetime.now(UTC), actor="test", specs=specs, source="test")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def probe_job():
    """A feature with one job, ``probe``; the fixture's value is what the job saw."""
    seen: list[tuple[str, datetime, bool]] = []

    def probe(ctx: JobContext) -> str:
        seen.append((ctx.team.name, ctx.now, ctx.dry_run))
        audit.record(session=ctx.session, key=ctx.key, now=ctx.now, actor="system", action="probe.ran",
                     team=ctx.team.name)
        ctx.notifier.post(channel=ctx.team.spec.digest_channel, text="probe says hello")
        return "probed"

    return SimpleNamespace(seen=seen,
                           features=(*FEATURES, Feature("probe", jobs=(JobSpec("probe", "test probe", probe,
                                                                               daily_at(6)),))))


def _events(engine, action):
    with Session(engine) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_run_job_as_of_hands_that_time_down(runtime, probe_job):
    from govbot.adapters.slack.notifier import RecordingNotifier

    as_of = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    notifier = RecordingNotifier(echo=lambda _: None)
    assert run_job(runtime, "probe", "payments", now=as_of, notifier=notifier,
                   features=probe_job.features) == "probed"
    assert probe_job.seen == [("payments", as_of, False)]
    assert [e.at for e in _events(runtime.engine, "probe.ran")] == [as_of]


def test_dry_run_writes_nothing(runtime, probe_job):
    printed: list[str] = []
    run_job(runtime, "probe", "payments", now=datetime.now(UTC), dry_run=True, echo=printed.append,
            features=probe_job.features)
    assert probe_job.seen[0][2] is True
    assert _events(runtime.engine, "probe.ran") == []
    assert printed == ["[dry-run] would post to C0PAYMENTS1: probe says hello"]


def test_unknown_job_and_team_are_clear(runtime, probe_job):
    with pytest.raises(UnknownJob, match="there is no job 'nope'; the jobs are: .*probe"):
        run_job(runtime, "nope", "payments", now=datetime.now(UTC), features=probe_job.features)
    with pytest.raises(UnknownTeam, match="no team is named 'ghost'"):
        run_job(runtime, "probe", "ghost", now=datetime.now(UTC), features=probe_job.features)


def test_team_jobs_persist_with_explicit_ids_and_no_duplicates(runtime, probe_job):
    scheduler = build_scheduler(runtime.engine, run=lambda kind, team: None)
    scheduler.start(paused=True)
    try:
        sync_team_jobs(scheduler, scheduled_jobs(runtime, probe_job.features))
        sync_team_jobs(scheduler, scheduled_jobs(runtime, probe_job.features))  # a re-sync replaces, never adds
        ids = [job.id for job in scheduler.get_jobs(jobstore="default")]
        assert ids.count("probe:payments") == 1
        job = scheduler.get_job("probe:payments")
        assert job.args == ("probe", "payments")
        assert job.coalesce is True and job.misfire_grace_time > 0
        assert str(job.trigger.timezone) == "Europe/Berlin"
        from govbot.features.teams.service import remove_team

        with session_scope(runtime.engine) as session:
            remove_team(session=session, key=KEY, now=datetime.now(UTC), actor="test", name="payments", reason=None)
        sync_team_jobs(scheduler, scheduled_jobs(runtime, probe_job.features))
        assert scheduler.get_job("probe:payments") is None
    finally:
        scheduler.shutdown(wait=False)


def test_rrule_trigger_keeps_local_time_across_dst_and_pickles():
    trigger = RRuleTrigger("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", timezone="Europe/Berlin",
                           anchor=datetime(2026, 1, 1, tzinfo=UTC))
    before_dst_end = trigger.get_next_fire_time(None, datetime(2026, 10, 13, tzinfo=UTC))
    after_dst_end = trigger.get_next_fire_time(None, datetime(2026, 10, 20, tzinfo=UTC))
    assert before_dst_end.astimezone(UTC) == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    assert after_dst_end.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # CET, UTC+1 (DST ended 25 Oct)
    assert before_dst_end.hour == after_dst_end.hour == 9
    clone = pickle.loads(pickle.dumps(trigger))
    assert clone.get_next_fire_time(None, datetime(2026, 10, 20, tzinfo=UTC)) == after_dst_end


def test_biweekly_rule_picks_the_same_fortnight_whenever_asked():
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=14;BYMINUTE=0"
    trigger = RRuleTrigger(rule, timezone="UTC", anchor=datetime(2026, 1, 1, tzinfo=UTC))
    a = trigger.get_next_fire_time(None, datetime(2026, 3, 2, tzinfo=UTC))
    b = trigger.get_next_fire_time(None, datetime(2026, 3, 6, tzinfo=UTC))
    assert a == b or (b - a).days == 14


def test_only_one_leader(db_url):
    settings = load_settings(sandbox=True, DATABASE_URL=db_url)
    first, second = LeaderLock(build_runtime(settings).engine), LeaderLock(build_runtime(settings).engine)
    assert first.acquire() is True
    try:
        assert second.acquire() is False
    finally:
        first.release()
    assert second.acquire() is True
    second.release()


def test_scheduler_service_runs_persisted_team_jobs(runtime):
    import time

    from apscheduler.triggers.interval import IntervalTrigger

    seen: list[tuple[str, datetime, bool]] = []

    def quiet_probe(ctx: JobContext) -> str:
        seen.append((ctx.team.name, ctx.now, ctx.dry_run))
        audit.record(session=ctx.session, key=ctx.key, now=ctx.now, actor="system", action="probe.ran",
                     team=ctx.team.name)
        return "probed"

    every_second = JobSpec("probe", "test probe", quiet_probe,
                           lambda team: IntervalTrigger(seconds=1, timezone=team.spec.timezone))
    service = create_scheduler(runtime, (*FEATURES, Feature("probe", jobs=(every_second,))), poll_seconds=0.1)
    service.start()
    try:
        deadline = time.monotonic() + 15
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        service.stop()
    assert seen and seen[0][0] == "payments" and seen[0][2] is False
    assert _events(runtime.engine, "probe.ran")  # the job's session committed


def test_schedule_is_right_in_the_hour_the_clock_goes_back():
    from govbot.domain.schedule import latest_at_or_before, next_after

    rule = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30"
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    # 25 Oct 2026, Berlin: 02:30 CEST (00:30 UTC) happened; 01:10 UTC is 02:10 CET, the repeated hour.
    after = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    upcoming = next_after(rule, tz="Europe/Berlin", after=after, anchor=anchor)
    assert upcoming is not None and upcoming.astimezone(UTC) > after
    assert upcoming.astimezone(UTC) == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    latest = latest_at_or_before(rule, tz="Europe/Berlin", now=after, anchor=anchor)
    assert latest is not None and latest.astimezone(UTC) <= after


def test_rules_that_end_are_refused():
    from govbot.domain.schedule import ScheduleError, validate_rule

    for rule in ("FREQ=WEEKLY;COUNT=2;BYDAY=MO;BYHOUR=9", "FREQ=WEEKLY;UNTIL=20260301T000000Z;BYDAY=MO;BYHOUR=9"):
        with pytest.raises(ScheduleError, match="must not end"):
            validate_rule(rule, tz="UTC", now=datetime(2026, 1, 5, tzinfo=UTC))


def test_leader_lock_survives_idle_and_notices_loss(db_url):
    settings = load_settings(sandbox=True, DATABASE_URL=db_url)
    lock = LeaderLock(build_runtime(settings).engine)
    assert lock.acquire() is True
    try:
        assert lock.still_held() is True
        if lock._connection is not None:  # PostgreSQL: the lock's session is not left idle in a transaction
            from sqlalchemy import text

            admin = build_runtime(settings).engine
            with admin.connect() as connection:
                states = connection.execute(text(
                    "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )).scalars().all()
                assert "idle in transaction" not in states
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            assert lock.still_held() is False
    finally:
        lock.release()
