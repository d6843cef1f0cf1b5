"""`/govbot digest preview` and `/govbot digest post` (managers)."""

from __future__ import annotations

from govbot.adapters.slack.notifier import SlackNotifier
from govbot.core.board import USER_FACING_ERRORS
from govbot.core.commands import CommandContext, Subcommand
from govbot.domain.digest import last_full_week
from govbot.features.digest import messages, service


def digest_preview(ctx: CommandContext) -> None:
    """The last full week's digest, to the manager only, with the blocks the channel would get."""
    assert ctx.team is not None
    week = last_full_week(ctx.now, service.zone_of(ctx.team))
    try:
        built = service.build(engine=ctx.runtime.engine, tracker=ctx.runtime.tracker(), team=ctx.team, week=week,
                              now=ctx.now)
    except USER_FACING_ERRORS as error:
        ctx.reply(str(error))
        return
    ctx.reply(messages.text(built.digest), blocks=messages.blocks(built.digest))


def digest_post(ctx: CommandContext) -> None:
    """Post the last full week's digest to the channel, or link to it when it is already there."""
    assert ctx.team is not None
    notifier = SlackNotifier(ctx.runtime.slack)
    try:
        outcome = service.post_week(engine=ctx.runtime.engine, tracker=ctx.runtime.tracker(), notifier=notifier,
                                    team=ctx.team, now=ctx.now)
    except USER_FACING_ERRORS as error:
        ctx.reply(str(error))
        return
    channel = f"<#{ctx.team.spec.digest_channel}>"
    if outcome.status == "posted":
        link = service.permalink(notifier=notifier, ref=outcome.ref)
        ctx.reply(f"Posted the digest of {outcome.week.label} in {channel}" + (f": {link}" if link else "."))
    elif outcome.status == "already_posted":
        ctx.reply(messages.already_posted(week=outcome.week.label,
                                          link=service.permalink(notifier=notifier, ref=outcome.ref)))
    elif outcome.status == "in_flight":
        ctx.reply(f"The digest of {outcome.week.label} is being posted right now; it will be in {channel} shortly.")
    else:
        ctx.reply(f"govbot is not a member of {channel}, so the digest was not posted: invite it with "
                  "`/invite @govbot` there, then run `/govbot digest post` again.")


SUBCOMMANDS = (
    Subcommand("digest preview", who="managers", handler=digest_preview,
               summary="the last full week's digest, shown only to you", lane="jira"),
    Subcommand("digest post", who="managers", handler=digest_post,
               summary="post the last full week's digest to the channel (or link to it when already posted)",
               lane="jira"),
)
