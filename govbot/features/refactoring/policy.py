"""`check-policy`: the checks run over the team's active sprint, and the notices they send at most once.

A check is a function ``(PolicyContext) -> str`` (a one-line summary) registered with ``@policy_check(name)``;
``run_policy_checks`` runs them in order. The context reads Jira lazily and once per run (board, sprints,
the active sprint's issues), so checks added later share those reads. The first check is the refactoring
capacity check (SPEC §4); the staffing rules (SPEC §6) join the same list.

Notices go out at most once through the delivery ledger (``notify_once``): claimed before sending, completed
after, released when Slack fails so the next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.core import delivery as ledger
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain.cadence import NumberedSprint, Share
from govbot.domain.work import Issue
from govbot.features.refactoring.service import (
    SYSTEM,
    USER_FACING_ERRORS,
    BoardSnapshot,
    SprintTracker,
    measure_share,
    read_snapshot,
    store_anchor,
)

if TYPE_CHECKING:
    from govbot.adapters.slack.notifier import Notifier

log = logging.getLogger(__name__)

CAPACITY_NOTICE_KIND = "refactor-capacity"
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
    actor: str = SYSTEM
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
        """The active sprint's issues (points from the board's estimation field, reviewer from the settings)."""
        if self._active_issues is None:
            active = self.active_sprint()
            self._active_issues = [] if active is None else self.tracker.sprint_issues(
                active.sprint.id, estimation_field=self.snapshot().board.estimation_field,
                reviewer_field=self.team.settings.reviewer_field)
        return self._active_issues

    def end_transaction(self) -> None:
        """Commit what the run has recorded so far (not under --dry-run), before the ledger writes on its own."""
        if not self.dry_run:
            self.session.commit()


PolicyCheck = Callable[[PolicyContext], str]
POLICY_CHECKS: list[tuple[str, PolicyCheck]] = []


def policy_check(name: str) -> Callable[[PolicyCheck], PolicyCheck]:
    """Register a check of check-policy under ``name`` (checks run in registration order)."""

    def _register(fn: PolicyCheck) -> PolicyCheck:
        POLICY_CHECKS[:] = [(n, f) for n, f in POLICY_CHECKS if n != name]
        POLICY_CHECKS.append((name, fn))
        return fn

    return _register


@dataclass
class PolicyReport:
    """The summary of each check, and the message of each check Jira stopped."""

    lines: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def summary(self) -> str:
        """One line for `govbot run-job` and the scheduler's log."""
        return "; ".join(self.lines) or "no checks are registered"


def run_policy_checks(ctx: PolicyContext, checks: Sequence[tuple[str, PolicyCheck]] | None = None) -> PolicyReport:
    """Run every registered check; one stopped by Jira is reported and does not stop the others."""
    report = PolicyReport()
    for name, check in POLICY_CHECKS if checks is None else checks:
        try:
            report.lines.append(f"{name}: {check(ctx)}")
        except USER_FACING_ERRORS as error:
            report.lines.append(f"{name}: not checked ({error})")
            report.errors.append(error)
    return report


# --- at-most-once notices


def notify_once(ctx: PolicyContext, *, kind: str, key: str, send: Callable[[], object]) -> bool:
    """Send one notice unless (kind, key) was sent before; return whether it was sent now.

    Under --dry-run the ledger is only read (the notifier prints instead of sending).
    """
    if ctx.dry_run:
        if ledger.is_done(session=ctx.session, kind=kind, key=key):
            return False
        send()
        return True
    if not ledger.claim(engine=ctx.engine, kind=kind, key=key, team_id=ctx.team.id):
        return False
    try:
        send()
    except Exception:
        ledger.release(engine=ctx.engine, kind=kind, key=key)
        raise
    ledger.complete(engine=ctx.engine, kind=kind, key=key, now=ctx.now)
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


# --- the refactoring capacity check (SPEC §4)


def _unit(by_points: bool) -> str:
    return "story points" if by_points else "issues"


def _amount(value: float) -> str:
    return f"{value:g}"


def capacity_messages(*, team: StoredTeam, sprint: NumberedSprint, share: Share, by_points: bool,
                      checkpoint: cadence.Checkpoint) -> tuple[str, str]:
    """The managers' DM and the channel's short post about a refactoring sprint below its reservation."""
    settings = team.settings
    label = settings.labels.refactor
    unit = _unit(by_points)
    when = "starts" if checkpoint == "start" else "is half-way"
    pct = share.pct or 0.0
    dm = (f"Refactoring sprint {sprint.number} of team `{team.name}` ({sprint.sprint.name}) {when} with "
          f"{pct:.0f}% of its {unit} on refactoring ({_amount(share.refactor)} of {_amount(share.total)} "
          f"labelled `{label}`), below the {settings.refactor_capacity_pct}% the team reserves. Label the "
          f"refactoring work `{label}`, or bring more of it into the sprint.")
    post = (f"Refactoring sprint {sprint.number} ({sprint.sprint.name}) {when}: {pct:.0f}% of its {unit} are "
            f"labelled `{label}`; the team reserves {settings.refactor_capacity_pct}%.")
    return dm, post


@policy_check("refactoring capacity")
def check_refactor_capacity(ctx: PolicyContext) -> str:
    """In an active refactoring sprint, tell the managers and the channel when the refactor share is too low.

    Once at sprint start and once at mid-sprint: the notice of a checkpoint goes out the first time a run in its
    half of the sprint finds the share below ``refactor_capacity_pct``; a sprint first checked after its midpoint
    gets only the mid-sprint notice.
    """
    settings = ctx.team.settings
    active = ctx.active_sprint()
    if active is None:
        return "no active sprint"
    snapshot = ctx.snapshot()
    if not cadence.is_refactor_sprint(active.number, every=settings.refactor_every, overrides=snapshot.overrides):
        return f"sprint {active.number} is not a refactoring sprint"
    due = cadence.capacity_checkpoints(active.sprint, ctx.now)
    if not due:
        return f"refactoring sprint {active.number} has not started"
    checkpoint = due[-1]
    recipients = [("dm", m) for m in ctx.team.spec.managers] + [("post", ctx.team.spec.digest_channel)]
    keys = {r: f"{ctx.team.id}:{active.sprint.id}:{checkpoint}:{r[1]}" for r in recipients}
    if all(ledger.is_done(session=ctx.session, kind=CAPACITY_NOTICE_KIND, key=k) for k in keys.values()):
        return f"refactoring sprint {active.number}: the {checkpoint} notice went out already"
    by_points = snapshot.board.estimation_field is not None
    share = measure_share(tracker=ctx.tracker, team=ctx.team, board=snapshot.board, sprint=active.sprint,
                          issues=ctx.active_issues())
    shown = f"{share.pct:.0f}%" if share.pct is not None else "nothing to measure"
    reserved = settings.refactor_capacity_pct
    if not cadence.is_below_capacity(share, capacity_pct=reserved):
        return f"refactoring sprint {active.number}: refactor share {shown} (reserved {reserved}%)"
    dm, post = capacity_messages(team=ctx.team, sprint=active, share=share, by_points=by_points,
                                 checkpoint=checkpoint)
    ctx.end_transaction()
    sent = 0
    for (how, target), key in keys.items():
        if how == "dm":
            sent += notify_once(ctx, kind=CAPACITY_NOTICE_KIND, key=key,
                                send=partial(ctx.notifier.dm, user=target, text=dm))
        else:
            sent += notify_once(ctx, kind=CAPACITY_NOTICE_KIND, key=key,
                                send=partial(ctx.notifier.post, channel=target, text=post))
    return (f"refactoring sprint {active.number}: refactor share {shown}, below the reserved "
            f"{settings.refactor_capacity_pct}%: {checkpoint} notice sent to {sent} recipient(s)")
