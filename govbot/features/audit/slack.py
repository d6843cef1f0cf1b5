"""`/govbot audit [N]`: the team's last audit events, for its managers."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import SectionBlock
from sqlmodel import Session

from govbot.adapters.slack.blocks import SECTION_TEXT_LIMIT
from govbot.core import audit
from govbot.core.commands import CommandContext, Subcommand
from govbot.features.audit.messages import audit_line, chunks

AUDIT_DEFAULT, AUDIT_MAX = 10, 50


def audit_command(ctx: CommandContext) -> None:
    """The team's last N audit events, newest first, in the team's timezone."""
    assert ctx.team is not None
    wanted = ctx.args[0] if ctx.args else str(AUDIT_DEFAULT)
    if not (wanted.isascii() and wanted.isdigit()) or int(wanted) < 1:
        ctx.reply(f"`/govbot audit [N]`: N is how many events to show, 1 to {AUDIT_MAX} (default {AUDIT_DEFAULT}).")
        return
    count = min(int(wanted), AUDIT_MAX)
    with Session(ctx.runtime.engine) as session:
        events = audit.recent(session=session, team=ctx.team.name, limit=count)
    tz = ZoneInfo(ctx.team.spec.timezone)
    title = f"Last {len(events)} audit event(s) of team `{ctx.team.name}`, newest first ({ctx.team.spec.timezone})"
    if int(wanted) > AUDIT_MAX:
        title += f" — at most {AUDIT_MAX} are shown; `govbot audit export` has them all"
    if not events:
        ctx.reply(f"Team `{ctx.team.name}` has no audit events yet.")
        return
    texts = chunks([audit_line(e, tz) for e in events], SECTION_TEXT_LIMIT)
    ctx.reply(title, [SectionBlock(text=title + ":"), *[SectionBlock(text=c) for c in texts]])


SUBCOMMANDS = (
    Subcommand("audit", usage="audit [N]", who="managers", handler=audit_command,
               summary=f"the last N audit events (default {AUDIT_DEFAULT}, at most {AUDIT_MAX})"),
)
