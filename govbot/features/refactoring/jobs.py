"""The refactoring feature's jobs: plan-sprints (daily) and the re-plan after a settings change."""

from __future__ import annotations

import logging
from contextlib import nullcontext

from govbot.adapters.scheduler.triggers import daily_at
from govbot.core.board import USER_FACING_ERRORS
from govbot.core.deps import Runtime
from govbot.core.jobs import JobContext, JobSpec, UnknownTeam, run_job
from govbot.core.policy import policy_context, tell_managers_jira_failed
from govbot.features.refactoring import service as sprints
from govbot.features.refactoring.service import PlanBusy

log = logging.getLogger(__name__)


def plan_sprints(ctx: JobContext) -> str:
    """Plan the board; on a Jira or board problem tell the managers (once a day) and fail the run."""
    tracker = ctx.tracker()
    if not ctx.dry_run:
        # Each Jira write is committed with its record as it happens: end the transaction run_job opened, so
        # the planning lock (its own connection) can be taken on SQLite too.
        ctx.session.commit()
    lock = nullcontext(None) if ctx.dry_run else sprints.plan_lock(engine=ctx.runtime.engine, team=ctx.team)
    try:
        with lock as still_planning:

            def checkpoint() -> None:
                # Each Jira write is committed with its record; before the next one, make sure the planning
                # lease is still this run's.
                ctx.session.commit()
                if still_planning is not None:
                    still_planning()

            report = sprints.plan_team_sprints(
                session=ctx.session, tracker=tracker, key=ctx.key, team=ctx.team, now=ctx.now,
                checkpoint=ctx.session.flush if ctx.dry_run else checkpoint)
    except PlanBusy as busy:
        return f"skipped: {busy}"
    except USER_FACING_ERRORS as error:
        tell_managers_jira_failed(policy_context(ctx, tracker), doing="plan the team's sprints in Jira",
                                         error=error)
        raise
    finally:
        # Sprints this run created or updated show in this process's next status render at once.
        ctx.runtime.render_cache.forget_board(ctx.team.spec.jira_board_id)
    return report.summary()


PLAN_SPRINTS = JobSpec("plan-sprints", "keep the team's future sprints planned in Jira, refactoring sprints included",
                       run=plan_sprints, schedule=daily_at(5))
JOBS = (PLAN_SPRINTS,)


def replan_after_settings_change(runtime: Runtime, team_name: str) -> None:
    """Re-plan the team's sprints with a fresh session; Jira trouble is told to the managers, never raised.

    ``govbot.runtime`` connects it to settings_changed, whose receivers run on a background worker: the save
    that fired it does not wait for Jira. It runs the same plan-sprints job as the scheduler, for one team.
    """
    if not runtime.has_jira():
        return
    try:
        summary = run_job(runtime, PLAN_SPRINTS, team_name, now=runtime.clock(), echo=log.info)
        log.info("re-planned the sprints of team %s after a settings change: %s", team_name, summary)
    except UnknownTeam:
        log.info("team %s is gone: no re-plan", team_name)
    except USER_FACING_ERRORS as error:
        log.warning("re-plan of team %s after a settings change failed (the managers were told): %s",
                    team_name, error)
