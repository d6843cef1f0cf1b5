"""`check-policy`: the checks run over the team's active sprint, and the notices they send at most once.

A check is a function ``(PolicyContext) -> str`` (a one-line summary); features list theirs as ``POLICY_CHECKS``
and ``govbot.runtime`` hands them, in FEATURES order, to the one check-policy job. The context reads Jira lazily
and once per run (board, sprints, the active sprint's issues), so every check shares those reads. The refactoring
capacity check (SPEC §4) comes first; the staffing rules (SPEC §6) join the same list.

Notices go out at most once through the delivery ledger (``notify_once``): claimed before sending, completed
after, released when Slack fails so the next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.scheduler.triggers import daily_at
from govbot.adapters.slack.notifier import Notifier
from govbot.core import audit, delivery
from govbot.core.board import USER_FACING_ERRORS, BoardSnapshot, SprintTracker, read_snapshot, store_anchor
from govbot.core.jobs import JobContext, JobSpec
from govbot.core.teams import StoredTeam
from govbot.domain.cadence import NumberedSprint
from govbot.domain.work import Issue

log = logging.getLogger(__name__)

JIRA_TROUBLE_KIND = "jira-trouble"


@dataclass
class PolicyContext:
    """One check-policy run for one team: who, when, the handles, and Jira facts read once and shared."""

    session: Session
    engine: Engine
    key: bytes
    team: StoredTeam
    now: datetime
    tracker: SprintTracker
    notifier: Notifier
    dry_run: bool = False
    actor: str = audit.SYSTEM
    echo: Callable[[str], None] = print  # where --dry-run says what a check would do
    jira_url: str | None = None  # for links to issues in messages
    _snapshot: BoardSnapshot | None = field(default=None, repr=False)
    _active_issues: list[Issue] | None = field(default=None, repr=False)

    def snapshot(self) -> BoardSnapshot:
        """The board, numbered (read from Jira on first use; a default anchor is stored on the team)."""
        if self._snapshot is None:
            self._snapshot = read_snapshot(session=self.session, tracker=self.tracker, team=self.team)
            store_anchor(session=self.session, key=self.key, now=self.now, team=self.team,
                         snapshot=self._snapshot, actor=self.actor)
        return self._snapshot

    def active_sprint(self) -> NumberedSprint | None:
        """The board's active sprint with its cadence number, or None between sprints."""
        return self.snapshot().active

    def active_issues(self) -> list[Issue]:
        """The active sprint's issues as the checks need them — labels, components, points (the board's
        estimation field), assignee, reviewer (from the settings), epic — read once in one paged search."""
        if self._active_issues is None:
            active = self.active_sprint()
            self._active_issues = [] if active is None else self.tracker.sprint_work(
                active.sprint.id, estimation_field=self.snapshot().board.estimation_field,
                reviewer_field=self.team.settings.reviewer_field)
        return self._active_issues

    def end_transaction(self) -> None:
        """Commit what the run has recorded so far (not under --dry-run), before the ledger writes on its own."""
        if not self.dry_run:
            self.session.commit()


PolicyCheck = Callable[[PolicyContext], str]


@dataclass(frozen=True)
class NamedCheck:
    """One check of check-policy, as a feature lists it."""

    name: str
    check: PolicyCheck


@dataclass
class PolicyReport:
    """The summary of each check, and the message of each check Jira stopped."""

    lines: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def summary(self) -> str:
        """One line for `govbot run-job` and the scheduler's log."""
        return "; ".join(self.lines) or "no checks are listed"


def run_policy_checks(ctx: PolicyContext, checks: Sequence[NamedCheck]) -> PolicyReport:
    """Run the checks in order; one stopped by Jira is reported and does not stop the others."""
    report = PolicyReport()
    for named in checks:
        try:
            report.lines.append(f"{named.name}: {named.check(ctx)}")
        except USER_FACING_ERRORS as error:
            report.lines.append(f"{named.name}: not checked ({error})")
            report.errors.append(error)
    return report


# --- at-most-once notices


def notify_once(ctx: PolicyContext, *, kind: str, key: str, send: Callable[[], object]) -> bool:
    """Send one notice unless (kind, key) was sent before; return whether it was sent now.

    Under --dry-run the ledger is only read (the notifier prints instead of sending).
    """
    if ctx.dry_run:
        if delivery.is_done(session=ctx.session, kind=kind, key=key):
            return False
        send()
        return True
    if not delivery.claim(engine=ctx.engine, kind=kind, key=key, team_id=ctx.team.id):
        return False
    try:
        send()
    except Exception:
        delivery.release(engine=ctx.engine, kind=kind, key=key)
        raise
    delivery.complete(engine=ctx.engine, kind=kind, key=key, now=ctx.now)
    return True


def tell_managers_jira_failed(ctx: PolicyContext, *, doing: str, error: Exception) -> int:
    """DM the managers the manager-facing message of a Jira failure, at most once per team per day."""
    ctx.end_transaction()
    day = ctx.now.astimezone(ZoneInfo(ctx.team.spec.timezone)).date().isoformat()
    text = (f"govbot could not {doing} for team `{ctx.team.name}`: {error} Nothing was changed; govbot tries "
            "again at its next run.")
    sent = 0
    for manager in ctx.team.spec.managers:
        try:
            sent += notify_once(ctx, kind=JIRA_TROUBLE_KIND, key=f"{ctx.team.id}:{day}:{manager}",
                                send=partial(ctx.notifier.dm, user=manager, text=text))
        except Exception:
            # Slack trouble on top of Jira trouble: the log has it; the job still reports the Jira error.
            log.exception("could not tell manager %s of team %s about a Jira failure", manager, ctx.team.name)
    return sent


def policy_context(ctx: JobContext, tracker: SprintTracker) -> PolicyContext:
    """The policy context of one job run."""
    return PolicyContext(session=ctx.session, engine=ctx.runtime.engine, key=ctx.key, team=ctx.team, now=ctx.now,
                         tracker=tracker, notifier=ctx.notifier, dry_run=ctx.dry_run, echo=ctx.echo,
                         jira_url=ctx.runtime.settings.jira_url)


def check_policy_job(checks: Sequence[NamedCheck]) -> JobSpec:
    """The check-policy job running ``checks``; when Jira stopped one, tell the managers and fail the run."""

    def check_policy(ctx: JobContext) -> str:
        pctx = policy_context(ctx, ctx.tracker())
        report = run_policy_checks(pctx, checks)
        if report.errors:
            pctx.end_transaction()  # keep what the other checks recorded
            tell_managers_jira_failed(pctx, doing="check the team's active sprint", error=report.errors[0])
            raise report.errors[0]
        return report.summary()

    return JobSpec("check-policy", "check the active sprint against the team's rules (refactoring capacity, ...)",
                   run=check_policy, schedule=daily_at(9))
