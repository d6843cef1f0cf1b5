"""Core subcommands every install has: help."""

from __future__ import annotations

from govbot.core.commands import CommandContext, help_text
from govbot.core.registry import subcommand


@subcommand("help", summary="this help", who="anyone", needs_team=False)
def _help(ctx: CommandContext) -> None:
    ctx.reply(help_text())
