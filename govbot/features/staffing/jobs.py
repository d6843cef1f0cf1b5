"""Two-track staffing in the scheduler: its check in the one `check-policy` run (after the refactoring capacity
check, sharing the board and the sprint's issues that run has read)."""

from __future__ import annotations

from typing import cast

from govbot.adapters.tracker import JiraTracker
from govbot.core.policy import NamedCheck, PolicyContext
from govbot.features.staffing import service


def check_staffing_rules(ctx: PolicyContext) -> str:
    """Evaluate R1–R6 over the active sprint, keep the violations and send what is due (printed under --dry-run)."""
    # The run's tracker is the JiraTracker, or under --dry-run its wrapper that passes reads through (this check
    # writes to Jira only after its dry-run return).
    tracker = cast(JiraTracker, ctx.tracker)
    snapshot = ctx.snapshot()
    active = ctx.active_sprint()
    sprint = active.sprint if active is not None else None
    read = service.read_sprint(tracker=tracker, team=ctx.team, board=snapshot.board, sprint=sprint,
                               issues=ctx.active_issues() if sprint is not None else [])
    ctx.end_transaction()
    report = service.check_staffing(engine=ctx.engine, session=ctx.session, key=ctx.key, team=ctx.team, read=read,
                                    tracker=tracker, notifier=ctx.notifier, now=ctx.now, dry_run=ctx.dry_run,
                                    echo=ctx.echo, jira_url=ctx.jira_url)
    if sprint is None:
        return "no active sprint" + (f"; {report.summary()}" if report.steps else "")
    return report.summary()


POLICY_CHECKS = (NamedCheck("staffing rules", check_staffing_rules),)
