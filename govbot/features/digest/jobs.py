"""The digest's scheduled job: `post-digest`, on the team's digest_rrule in the team's timezone."""

from __future__ import annotations

from govbot.adapters.scheduler.triggers import RRuleTrigger
from govbot.core.jobs import JobContext, JobSpec
from govbot.core.teams import StoredTeam
from govbot.domain.schedule import anchor_in
from govbot.features.digest import service


def post_digest(ctx: JobContext) -> str:
    """Post the last full week's digest and its chart, once (a week already posted is left alone)."""
    # The job's own session only loaded the team: end its transaction, so that the ledger claims and the kept
    # week (written on the engine, in short transactions) never wait on it.
    ctx.session.rollback()
    outcome = service.post_week(engine=ctx.runtime.engine, tracker=ctx.tracker(), notifier=ctx.notifier,
                                team=ctx.team, now=ctx.now, dry_run=ctx.dry_run)
    return outcome.summary()


def _digest_schedule(team: StoredTeam) -> RRuleTrigger:
    tz = team.spec.timezone
    return RRuleTrigger(team.settings.digest_rrule, timezone=tz, anchor=anchor_in(tz))


JOBS = (
    JobSpec("post-digest", "post the last full week's velocity-versus-quality digest and its chart, once",
            run=post_digest, schedule=_digest_schedule),
)
