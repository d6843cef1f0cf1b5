"""The one registry of scheduled jobs, shared by `serve`, `scheduler` and `run-job`.

A feature adds a job by decorating one function::

    @job("plan-sprints", "keep future sprints planned in Jira", schedule=daily_at(5))
    def plan_sprints(ctx: JobContext) -> str: ...

The function receives a JobContext: the team name, ``now`` (the real time, or ``--as-of``), a database session
that is rolled back under ``--dry-run``, and Slack/Jira handles that only print under ``--dry-run``. It returns a
one-line summary. Nothing below the job reads the clock: ``ctx.now`` is the time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

if TYPE_CHECKING:
    from govbot.adapters.slack.notifier import Notifier
    from govbot.core.teams import StoredTeam
    from govbot.runtime import Runtime

# Modules whose import registers jobs, subcommands and status sections (each feature adds its module here).
FEATURE_MODULES: list[str] = [
    "govbot.core.help",
    "govbot.features.refactoring.slack",
    "govbot.features.teams.slack",
    "govbot.features.surveys.slack",
]


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


TriggerFactory = Callable[["StoredTeam"], Any]


@dataclass(frozen=True)
class JobSpec:
    """A registered job kind."""

    kind: str
    description: str
    run: Callable[[JobContext], str]
    schedule: TriggerFactory | None


JOBS: dict[str, JobSpec] = {}


def job(kind: str, description: str, *, schedule: TriggerFactory | None = None) -> Callable:
    """Register a job function under ``kind`` (as used by `govbot run-job KIND`)."""

    def _register(fn: Callable[[JobContext], str]) -> Callable[[JobContext], str]:
        JOBS[kind] = JobSpec(kind=kind, description=description, run=fn, schedule=schedule)
        return fn

    return _register


def load_features() -> None:
    """Import every feature module so that its jobs, subcommands and sections are registered."""
    for module in FEATURE_MODULES:
        importlib.import_module(module)
