"""The refactoring capacity check of check-policy (SPEC §4): a refactoring sprint below its reservation."""

from __future__ import annotations

from functools import partial

from govbot.core import delivery
from govbot.core.policy import NamedCheck, PolicyContext, notify_once
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain.cadence import NumberedSprint, Share
from govbot.features.refactoring.service import measure_share

CAPACITY_NOTICE_KIND = "refactor-capacity"


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
    if all(delivery.is_done(session=ctx.session, kind=CAPACITY_NOTICE_KIND, key=k) for k in keys.values()):
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


POLICY_CHECKS = (NamedCheck("refactoring capacity", check_refactor_capacity),)
