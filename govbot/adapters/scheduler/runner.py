"""APScheduler 3 in govbot: one leader, jobs persisted in the database, one job per (kind, team).

Job ids are explicit (``"<kind>:<team>"``) and added with ``replace_existing``, so restarts and re-syncs never
duplicate a job; ``coalesce`` folds a backlog of missed runs into one; ``misfire_grace_time`` lets a run that was
due while the process was down still happen when it comes back. Only one process runs jobs: on PostgreSQL a
session advisory lock, on SQLite a file lock beside the database; others wait and take over if the leader dies.
Every job is idempotent on its own (see ``services.ledger``), so even two leaders would not act twice.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlmodel import Session

from govbot.adapters.scheduler.context import JOBS, load_features
from govbot.core import jobs
from govbot.core import teams as repo
from govbot.core.events import settings_changed
from govbot.runtime import Runtime

log = logging.getLogger(__name__)

SYNC_JOB_ID = "govbot:sync-teams"
LOCK_KEY = 0x60B07  # arbitrary, constant: the advisory lock id of the scheduler leader
MISFIRE_GRACE_SECONDS = 6 * 3600


class LeaderLock:
    """Held by the one process that runs jobs."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._connection: Any = None
        self._file: Any = None

    def acquire(self) -> bool:
        """Try once, without waiting."""
        url = self.runtime.engine.url
        if url.get_backend_name() == "postgresql":
            # Autocommit: a session lock needs no transaction, and an "idle in transaction" connection is what
            # managed PostgreSQL terminates first (which would silently end the leadership).
            connection = self.runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                self._connection = connection
                return True
            connection.close()
            return False
        database = url.database
        if not database or database == ":memory:":
            return True
        handle = open(Path(database).with_suffix(".scheduler.lock"), "a+")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        """Whether the lock is still ours (the PostgreSQL session that holds it may have been terminated)."""
        if self._connection is None:
            return self._file is not None or self.runtime.engine.url.get_backend_name() != "postgresql"
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def release(self) -> None:
        """Give leadership up."""
        if self._connection is not None:
            # Unlock explicitly: closing only returns the connection to the pool, where the lock would live on.
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._connection.close()
            except Exception:  # the session is gone, and the lock with it
                self._connection.invalidate()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """A BackgroundScheduler whose jobs live in the database (SQLAlchemyJobStore on DATABASE_URL)."""
    return BackgroundScheduler(
        # Team jobs persist in the database; the internal re-sync job is a bound method and lives in memory.
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine), "internal": MemoryJobStore()},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1},
        timezone="UTC",
    )


def sync_team_jobs(scheduler: BackgroundScheduler, runtime: Runtime) -> int:
    """Make the scheduled jobs match the teams: add/replace each team's jobs, drop those of removed teams."""
    load_features()
    with Session(runtime.engine) as session:
        teams = repo.list_teams(session=session)
    wanted: set[str] = set()
    for team in teams:
        for spec in JOBS.values():
            if spec.schedule is None:
                continue
            job_id = f"{spec.kind}:{team.name}"
            wanted.add(job_id)
            scheduler.add_job(jobs.scheduled, trigger=spec.schedule(team), args=[spec.kind, team.name], id=job_id,
                              name=job_id, replace_existing=True)
    for job in scheduler.get_jobs(jobstore="default"):
        if job.id not in wanted:
            job.remove()
    return len(wanted)


class SchedulerService:
    """Starts the scheduler when this process becomes leader, and keeps team jobs in sync."""

    def __init__(self, runtime: Runtime, *, retry_seconds: float = 15.0):
        self.runtime = runtime
        self.lock = LeaderLock(runtime)
        self.scheduler = build_scheduler(runtime)
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin (becoming leader now or as soon as the current leader goes away)."""
        jobs.set_runtime(self.runtime)
        self._thread = threading.Thread(target=self._lead, name="govbot-scheduler-leader", daemon=True)
        self._thread.start()

    def _lead(self) -> None:
        while not self._stop.is_set():
            if self.lock.acquire():
                log.info("this process runs the scheduler")
                self.scheduler.start()
                self.scheduler.add_job(self.resync, "interval", minutes=5, id=SYNC_JOB_ID, replace_existing=True,
                                       jobstore="internal")
                count = self.resync()
                log.info("scheduled %d team jobs", count)
                settings_changed.connect(self._on_settings_changed)
                return
            self._stop.wait(self.retry_seconds)

    def resync(self) -> int:
        """Re-read the teams and (re)schedule their jobs; step down if leadership was lost meanwhile."""
        if not self.lock.still_held():
            log.error("the scheduler lost its leader lock; pausing jobs until it can lead again")
            self.scheduler.pause()
            self.lock.release()
            threading.Thread(target=self._regain, name="govbot-scheduler-regain", daemon=True).start()
            return 0
        return sync_team_jobs(self.scheduler, self.runtime)

    def _regain(self) -> None:
        while not self._stop.is_set():
            if self.lock.acquire():
                log.info("this process runs the scheduler again")
                self.scheduler.resume()
                sync_team_jobs(self.scheduler, self.runtime)
                return
            self._stop.wait(self.retry_seconds)

    def _on_settings_changed(self, team_name: str) -> None:
        self.resync()

    def stop(self) -> None:
        """Stop running jobs and give up leadership."""
        self._stop.set()
        settings_changed.disconnect(self._on_settings_changed)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # let a running job finish its transaction
        self.lock.release()
