"""APScheduler 3 in govbot: one leader, jobs persisted in the database, one job per (kind, team).

Job ids are explicit (``"<kind>:<team>"``) and added with ``replace_existing``, so restarts and re-syncs never
duplicate a job; ``coalesce`` folds a backlog of missed runs into one; ``misfire_grace_time`` lets a run that was
due while the process was down still happen when it comes back. Only one process runs jobs: on PostgreSQL a
session advisory lock (it dies with the leader's database session), on SQLite a file lock beside the database.
Every scheduler process looks every GOVBOT_FAILOVER_SECONDS / 6: a standby for the lock, the leader for a lock
it lost (it pauses at once) and for job runs a dead or stopping process left unfinished (it resumes them, with
their own ``now``: see ``govbot.core.jobs``). A look that fails (the database unreachable, its schema behind
this version) never ends the loop: the process says so once, reports ``retrying`` with the reason on its
readiness endpoint, and looks again after 1, 2, 4 … up to 60 seconds. Every job is idempotent on its own (see
``govbot.core.delivery``), so even two leaders for a moment would not act twice.

The job store keeps a textual reference to ``scheduled`` and the (kind, team name) arguments, nothing else that
would need pickling. ``TeamJobStore`` points each job it loads at the ``run`` callable this process was given,
so the process's runtime reaches the jobs without a module-level global.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from govbot.metrics import LEADER, LEADER_CHANGES

log = logging.getLogger(__name__)

SYNC_JOB_ID = "govbot:sync-teams"
FIRST_RETRY_SECONDS = 1.0  # after a failed look: 1, 2, 4, … seconds
MAX_RETRY_SECONDS = 60.0
LOCK_KEY = 0x60B07  # arbitrary, constant: the advisory lock id of the scheduler leader
MISFIRE_GRACE_SECONDS = 6 * 3600

RunTeamJob = Callable[[str, str], None]  # (kind, team name): reads the clock and runs the job


@dataclass(frozen=True)
class TeamJob:
    """One scheduled (kind, team) and its trigger."""

    kind: str
    team: str
    trigger: Any

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.team}"


def scheduled(kind: str, team_name: str) -> None:
    """What the job store names as each team job's function; ``TeamJobStore`` replaces it on load."""
    raise RuntimeError(f"job {kind} of team {team_name} was loaded outside govbot's scheduler")


class TeamJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The SQLAlchemy job store, with every loaded job bound to this process's ``run``."""

    def __init__(self, *, engine: Engine, run: RunTeamJob):
        super().__init__(engine=engine)
        self._run = run

    def _reconstitute_job(self, job_state: bytes) -> Job:
        job = super()._reconstitute_job(job_state)
        if job.func_ref == f"{__name__}:scheduled":
            job.func = self._run  # the stored reference (func_ref) stays "scheduled"
        return job

class LeaderLock:
    """Held by the one process that runs jobs."""

    def __init__(self, engine: Engine, *, failover_seconds: float = 30.0):
        self.engine = engine
        self.failover_seconds = failover_seconds
        self._connection: Any = None
        self._file: Any = None

    def acquire(self) -> bool:
        """Try once, without waiting."""
        url = self.engine.url
        if url.get_backend_name() == "postgresql":
            # Autocommit: a session lock needs no transaction, and an "idle in transaction" connection is what
            # managed PostgreSQL terminates first (which would silently end the leadership).
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._detect_dead_peer(connection)
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

    def _detect_dead_peer(self, connection: Any) -> None:
        """Let the server notice within the failover time that this session's machine is gone (a node that dies
        sends no FIN): TCP keepalives on the session, so the lock is freed and a standby can lead."""
        failover = self.failover_seconds
        options = {"tcp_keepalives_idle": failover / 3, "tcp_keepalives_interval": failover / 10,
                   "tcp_keepalives_count": 3, "tcp_user_timeout": failover * 2 / 3 * 1000}
        for name, value in options.items():
            try:
                connection.execute(text(f"SET {name} = {max(1, int(value))}"))
            except Exception:  # e.g. a server without tcp_user_timeout: keep its default
                log.debug("could not set %s on the leader session", name)

    def still_held(self) -> bool:
        """Whether the lock is still ours (the PostgreSQL session that holds it may have been terminated)."""
        if self._connection is None:
            return self._file is not None or self.engine.url.get_backend_name() != "postgresql"
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


def build_scheduler(engine: Engine, run: RunTeamJob) -> BackgroundScheduler:
    """A BackgroundScheduler whose team jobs live in the database (on DATABASE_URL)."""
    return BackgroundScheduler(
        # Team jobs persist in the database; the internal re-sync job is a bound method and lives in memory.
        jobstores={"default": TeamJobStore(engine=engine, run=run), "internal": MemoryJobStore()},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1},
        timezone="UTC",
    )


def sync_team_jobs(scheduler: BackgroundScheduler, wanted: list[TeamJob]) -> int:
    """Make the scheduled jobs match ``wanted``: add/replace each, drop the others (e.g. of removed teams)."""
    for job in wanted:
        scheduler.add_job(scheduled, trigger=job.trigger, args=[job.kind, job.team], id=job.id, name=job.id,
                          replace_existing=True)
    ids = {job.id for job in wanted}
    for stored in scheduler.get_jobs(jobstore="default"):
        if stored.id not in ids:
            stored.remove()
    return len(ids)


class NotReady(Exception):
    """This process must not lead yet; ``str(error)`` says why (the readiness endpoint shows it)."""

    def __str__(self) -> str:
        return str(self.args[0])


def retry_delay(failures: int, *, first: float = FIRST_RETRY_SECONDS, cap: float = MAX_RETRY_SECONDS) -> float:
    """How long to wait after ``failures`` failed looks in a row (at least one): doubling from ``first``, capped."""
    return float(min(cap, first * 2 ** min(max(failures - 1, 0), 32)))


def problem_text(exc: Exception) -> str:
    """What a failed look means, for a log line and the readiness endpoint (never the exception's text, which
    can hold a database URL)."""
    if isinstance(exc, NotReady):
        return str(exc)
    if _database_away(exc):
        return f"the database did not answer ({exc.__class__.__name__})"
    return f"the leadership check failed ({exc.__class__.__name__}; the traceback is in the log)"


def _database_away(exc: Exception) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class Drainable(Protocol):
    """This process's leases (``govbot.core.leases.LeaseKeeper``): told to take no new work on stop."""

    def drain(self) -> None: ...


class SchedulerService:
    """Leads the scheduler while this process holds the lock; stands by otherwise; hands over on stop."""

    def __init__(self, *, engine: Engine, run: RunTeamJob, wanted: Callable[[], list[TeamJob]],
                 interrupted: Callable[[], list[str]], resume: Callable[[str], None], keeper: Drainable,
                 poll_seconds: float = 5.0, failover_seconds: float = 30.0,
                 not_ready: Callable[[], str | None] = lambda: None,
                 first_retry_seconds: float = FIRST_RETRY_SECONDS):
        """``not_ready`` is asked before each attempt to lead: a sentence saying why this process must not lead
        yet (e.g. the schema is behind), or None."""
        self.wanted = wanted
        self.not_ready = not_ready
        self.first_retry_seconds = first_retry_seconds
        self.failures = 0  # failed looks in a row
        self.problem: str | None = None  # why the last look failed, while it keeps failing
        self._synced = False
        self.interrupted = interrupted
        self.resume = resume
        self.keeper = keeper
        self.lock = LeaderLock(engine, failover_seconds=failover_seconds)
        self.scheduler = build_scheduler(engine, run)
        self.poll_seconds = poll_seconds
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._change = threading.Lock()

    def start(self) -> None:
        """Begin: lead now, or stand by and lead as soon as the current leader goes away."""
        LEADER.set(0)
        self._thread = threading.Thread(target=self._watch, name="govbot-scheduler-leader", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        """Whether the watch loop runs (the liveness of a scheduler process)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def state(self) -> str:
        """``leading``, ``standing by``, ``retrying`` (the last look failed: see ``problem``), ``starting`` or
        ``stopped``."""
        if self._thread is None:
            return "starting"
        if not self._thread.is_alive() or self._stop.is_set():
            return "stopped"
        if self.problem is not None:
            return "retrying"
        return "leading" if self.leading else "standing by"

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._look()
            except Exception as exc:  # the database may be away for a while: never let the loop die
                self._failed(problem_text(exc), exc)
            else:
                self._recovered()
            delay = retry_delay(self.failures, first=self.first_retry_seconds) if self.failures else self.poll_seconds
            self._stop.wait(delay)

    def _look(self) -> None:
        """One look: lead if the lock is free and the database is ready; check a lock we hold; resume runs."""
        if not self.leading:
            problem = self.not_ready()
            if problem is not None:
                raise NotReady(problem)
            if self.lock.acquire():
                self._take_lead()
        elif not self.lock.still_held():
            log.error("the scheduler lost its leader lock; pausing jobs until it can lead again")
            self._step_down()
        else:
            if not self._synced:  # the sync at taking the lead failed: do it now rather than in 5 minutes
                log.info("scheduled %d team jobs", self.resync())
                self._synced = True
            self.resume_interrupted()

    def _failed(self, problem: str, exc: Exception) -> None:
        self.failures += 1
        wait = retry_delay(self.failures, first=self.first_retry_seconds)
        if problem != self.problem:  # one line per kind of trouble, not one traceback per look
            # A database away or a schema behind is expected trouble: one line. Anything else may be a bug.
            expected = isinstance(exc, NotReady) or _database_away(exc)
            log.warning("the scheduler cannot lead or check its lead: %s; it retries with backoff (at most every "
                        "%d s)", problem, int(MAX_RETRY_SECONDS), exc_info=None if expected else exc)
        else:
            log.debug("scheduler look failed again (%d in a row); next look in %.0f s", self.failures, wait)
        self.problem = problem

    def _recovered(self) -> None:
        if self.problem is not None:
            log.info("the scheduler looks normally again after %d failed looks", self.failures)
        self.failures = 0
        self.problem = None

    def _take_lead(self) -> None:
        with self._change:
            if self._stop.is_set():
                self.lock.release()
                return
            self.leading = True
            LEADER.set(1)
            LEADER_CHANGES.inc()
            log.info("this process runs the scheduler")
            if not self.scheduler.running:
                self.scheduler.start()
                self.scheduler.add_job(self.resync, "interval", minutes=5, id=SYNC_JOB_ID, replace_existing=True,
                                       jobstore="internal")
            else:
                self.scheduler.resume()
            self._synced = False
        log.info("scheduled %d team jobs", self.resync())
        self._synced = True
        self.resume_interrupted()

    def _step_down(self) -> None:
        with self._change:
            if self.scheduler.running:
                self.scheduler.pause()
            self.lock.release()
            self.leading = False
            LEADER.set(0)

    def resume_interrupted(self) -> int:
        """Queue the job runs a dead or stopping process left unfinished (each is resumed once)."""
        keys = self.interrupted()
        for key in keys:
            self.scheduler.add_job(self.resume, trigger="date", args=[key], id=f"resume:{key}",
                                   name=f"resume:{key}", jobstore="internal", replace_existing=True,
                                   misfire_grace_time=None)
        return len(keys)

    def resync(self) -> int:
        """Re-read the teams and (re)schedule their jobs (the leader only)."""
        return sync_team_jobs(self.scheduler, self.wanted()) if self.leading else 0

    def on_settings_changed(self, team_name: str) -> None:
        """A team's schedules may have changed: re-sync (only the leader has anything to re-sync)."""
        if self.leading:
            self.resync()

    def stop(self) -> None:
        """Stop (SIGTERM): take no new work, release the lock at once so the standby leads, and let the running
        job end: it finishes what it has started and hands the rest back to the next leader."""
        self._stop.set()
        self.keeper.drain()
        with self._change:
            if self.scheduler.running:
                self.scheduler.pause()
            self.lock.release()
            was_leading, self.leading = self.leading, False
            LEADER.set(0)
        if was_leading:
            log.info("scheduler lock released; the standby takes over")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._thread is not None:
            self._thread.join(timeout=10)  # a look in progress ends within the database's own timeouts
