"""Running one job for one team: by the scheduler, or now from `govbot run-job`.

``scheduled`` is the module-level function APScheduler stores (by reference, with the kind and team name as its
only arguments, so the job store pickles nothing else); it reads the clock once and hands ``now`` down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from prometheus_client import Counter, Histogram
from sqlmodel import Session

from govbot.adapters.scheduler.context import JOBS, JobContext, load_features
from govbot.adapters.slack.notifier import Notifier, RecordingNotifier, SlackNotifier
from govbot.core import teams as repo
from govbot.runtime import Runtime

log = logging.getLogger(__name__)

JOB_RUNS = Counter("govbot_job_runs_total", "Job runs by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("govbot_job_seconds", "Job run time by kind", ["kind"])

_runtime: Runtime | None = None


class UnknownJob(LookupError):
    """No job of that kind is registered."""


class UnknownTeam(LookupError):
    """No team of that name exists."""


def set_runtime(runtime: Runtime) -> None:
    """Give scheduled jobs in this process their runtime (done once by `serve` / `scheduler`)."""
    global _runtime
    _runtime = runtime


def run_job(
    runtime: Runtime,
    kind: str,
    team_name: str,
    *,
    now: datetime,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    notifier: Notifier | None = None,
) -> str:
    """Run one job for one team at ``now``; under dry_run nothing reaches Slack, Jira or the database."""
    load_features()
    spec = JOBS.get(kind)
    if spec is None:
        raise UnknownJob(f"there is no job {kind!r}; the jobs are: {', '.join(sorted(JOBS))}")
    started = time.monotonic()
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = repo.get_team(session=session, name=team_name)
        if team is None:
            raise UnknownTeam(f"no team is named {team_name!r}: `govbot team list` shows the teams")
        chosen = notifier or (RecordingNotifier(echo) if dry_run else SlackNotifier(runtime.slack))
        ctx = JobContext(runtime=runtime, team=team, now=now, session=session, notifier=chosen,
                         dry_run=dry_run, echo=echo)
        try:
            summary = spec.run(ctx)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except Exception:
            session.rollback()
            JOB_RUNS.labels(kind, "error").inc()
            raise
        finally:
            JOB_SECONDS.labels(kind).observe(time.monotonic() - started)
    JOB_RUNS.labels(kind, "ok").inc()
    return summary


def scheduled(kind: str, team_name: str) -> None:
    """Entry point APScheduler calls; reads the clock once and runs the job."""
    runtime = _runtime
    if runtime is None:
        raise RuntimeError("the scheduler started without a runtime")
    try:
        summary = run_job(runtime, kind, team_name, now=runtime.clock(), echo=log.info)
        log.info("job %s for team %s: %s", kind, team_name, summary)
    except UnknownTeam:
        log.warning("job %s skipped: team %s no longer exists", kind, team_name)
