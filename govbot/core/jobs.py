"""Scheduled jobs: what a job is (``JobSpec``), what it sees (``JobContext``), and running one for one team.

A feature lists its jobs in ``jobs.py`` as ``JOBS``; ``govbot.runtime`` collects them for `govbot run-job`, the
scheduler and `govbot serve`. A job function receives a JobContext: the team, ``now`` (the real time, or
``--as-of``), a database session that is rolled back under ``--dry-run``, and Slack/Jira handles that only print
under ``--dry-run``. It returns a one-line summary. Nothing below the job reads the clock: ``ctx.now`` is the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlmodel import Session

from govbot.adapters.slack.notifier import Notifier, RecordingNotifier, SlackNotifier
from govbot.core import teams
from govbot.core.deps import Runtime
from govbot.core.teams import StoredTeam

JOB_RUNS = Counter("govbot_job_runs_total", "Job runs by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("govbot_job_seconds", "Job run time by kind", ["kind"])


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
            shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
            self._echo(f"[dry-run] would call Jira {name}({shown})")
            return None

        return _printed


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
