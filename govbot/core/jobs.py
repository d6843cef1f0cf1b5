"""Scheduled jobs: what a job is (``JobSpec``), what it sees (``JobContext``), and running one for one team.

A feature lists its jobs in ``jobs.py`` as ``JOBS``; ``govbot.runtime`` collects them for `govbot run-job`, the
scheduler and `govbot serve`. A job function receives a JobContext: the team, ``now`` (the real time, or
``--as-of``), a database session that is rolled back under ``--dry-run``, and Slack/Jira handles that only print
under ``--dry-run``. It returns a one-line summary. Nothing below the job reads the clock: ``ctx.now`` is the time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.slack.notifier import Notifier, RecordingNotifier, SlackNotifier
from govbot.core import delivery, teams
from govbot.core.deps import Runtime
from govbot.core.leases import database_now, keeper_for
from govbot.core.teams import StoredTeam
from govbot.logs import log_context
from govbot.metrics import JOB_RUNS, JOB_SECONDS, JOBS_RESUMED

log = logging.getLogger(__name__)

JOB_RUN_KIND = "job-run"  # delivery ledger kind of a running scheduled job; key "<kind>:<team>", ref its now


class UnknownJob(LookupError):
    """No job of that kind exists."""


class UnknownTeam(LookupError):
    """No team of that name exists."""


@dataclass
class JobContext:
    """What a job run sees: who, when, and handles that respect ``dry_run``."""

    runtime: Runtime
    team: StoredTeam
    now: datetime
    session: Session
    notifier: Notifier
    dry_run: bool = False
    echo: Callable[[str], None] = print
    notes: list[str] = field(default_factory=list)

    def tracker(self) -> Any:
        """The Jira tracker; under dry-run its writes are printed instead of sent."""
        real = self.runtime.tracker()
        return DryRunTracker(real, self.echo) if self.dry_run else real

    @property
    def key(self) -> bytes:
        return self.runtime.key


class DryRunTracker:
    """Passes reads through to Jira and prints writes instead of making them."""

    WRITES = {"create_sprint", "update_sprint", "move_issues_to_sprint", "add_label", "remove_label", "add_comment"}

    def __init__(self, real: Any, echo: Callable[[str], None]):
        self._real = real
        self._echo = echo

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name not in self.WRITES:
            return attr

        def _printed(*args: Any, **kwargs: Any) -> None:
            shown = ", ".join([shown_value(a) for a in args] + [f"{k}={shown_value(v)}" for k, v in kwargs.items()])
            self._echo(f"[dry-run] would call Jira {name}({shown})")
            return None

        return _printed


def shown_value(value: Any) -> str:
    """A value as a dry run prints it: a time as people read it (``Mon 7 Dec 2026 09:00 Europe/Berlin``)."""
    if isinstance(value, datetime):
        zone = getattr(value.tzinfo, "key", None) or value.tzname() or ""
        return f"{value:%a} {value.day} {value:%b %Y %H:%M} {zone}".rstrip()
    return repr(value)


TriggerFactory = Callable[[StoredTeam], Any]


@dataclass(frozen=True)
class JobSpec:
    """A job kind: its name for `govbot run-job KIND`, what it does, and when it runs for a team (if at all)."""

    kind: str
    description: str
    run: Callable[[JobContext], str]
    schedule: TriggerFactory | None = None


def run_job(
    runtime: Runtime,
    spec: JobSpec,
    team_name: str,
    *,
    now: datetime,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    notifier: Notifier | None = None,
) -> str:
    """Run one job for one team at ``now``; under dry_run nothing reaches Slack, Jira or the database."""
    started = time.monotonic()
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = teams.get_team(session=session, name=team_name)
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
            JOB_RUNS.labels(spec.kind, "error").inc()
            raise
        finally:
            JOB_SECONDS.labels(spec.kind).observe(time.monotonic() - started)
    JOB_RUNS.labels(spec.kind, "ok").inc()
    return summary


# --- scheduled runs: one at a time per (kind, team) across processes, resumed when their process stops
#
# A scheduled run holds a ``job-run`` claim in the delivery ledger for (kind, team) that records its ``now``. A
# run whose process died (its heartbeat stopped) or stopped (SIGTERM: it handed the claim back) is found by the
# leader (``interrupted_runs``) and run again with the same ``now`` (``resume_run``). The jobs are idempotent per
# occurrence, so the second run does exactly what the first left undone.


def run_claimed(*, engine: Engine, kind: str, team_name: str, now: datetime, run: Callable[[datetime], None],
                held: delivery.Claim | None = None) -> None:
    """Run ``run(now)`` under the (kind, team) job-run claim (taken here unless ``held``), then give it back."""
    if held is None:
        held = delivery.claim(engine=engine, kind=JOB_RUN_KIND, key=f"{kind}:{team_name}", ref=now.isoformat())
        if held is None:
            log.info("job %s for team %s not started: another run of it is in progress", kind, team_name)
            return
    with log_context(job_id=f"{kind}:{team_name}:{now.astimezone().strftime('%Y%m%dT%H%M%S%z')}"):
        try:
            run(now)
        finally:
            if keeper_for(engine).draining:
                # Stopping: what the run did not start is left to the next leader, which resumes it at once.
                delivery.hand_back(engine=engine, claim=held)
                log.info("job %s for team %s handed back to the next leader", kind, team_name)
            else:
                delivery.release(engine=engine, kind=JOB_RUN_KIND, key=held.key, claim=held)


def interrupted_runs(*, engine: Engine) -> list[str]:
    """Keys ("<kind>:<team>") of job runs whose process died or handed them back (their heartbeat is stale)."""
    stale_after = keeper_for(engine).timing.stale_after
    with Session(engine) as session:
        now = database_now(session)
        return [row.key for row in delivery.open_claims(session=session, kind=JOB_RUN_KIND)
                if now - (row.heartbeat_at or row.claimed_at) >= stale_after]


def resume_run(*, engine: Engine, key: str, run: Callable[[str, str, datetime], None]) -> None:
    """Take over an interrupted job run and run it again, as ``run(kind, team, now)`` with the ``now`` it had."""
    held = delivery.claim(engine=engine, kind=JOB_RUN_KIND, key=key)
    if held is None:
        return  # resumed by another process meanwhile, or live after all
    if held.taken_over_from is None or held.ref is None:
        # The interrupted run's claim was gone by now (finished or given back): nothing to resume.
        delivery.release(engine=engine, kind=JOB_RUN_KIND, key=key, claim=held)
        return
    kind, _, team_name = key.partition(":")
    now = datetime.fromisoformat(held.ref)
    JOBS_RESUMED.labels(kind).inc()
    log.info("job %s for team %s resumed: its run of %s was interrupted", kind, team_name, held.ref)
    run_claimed(engine=engine, kind=kind, team_name=team_name, now=now, held=held,
                run=lambda at: run(kind, team_name, at))
