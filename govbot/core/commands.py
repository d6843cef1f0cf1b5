"""The `/govbot` router: parse the text, find the team, check who may do it, then run the subcommand.

Parsing never fails loudly: anything unknown or malformed gets the help text. The team is the one whose digest
channel the command was used in, or ``--team NAME``; used elsewhere without ``--team``, the reply lists the
user's teams. Authorisation is checked here, on the server, for every subcommand.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.slack.ids import COMMAND
from govbot.core import teams as repo
from govbot.core.registry import SUBCOMMANDS, Subcommand
from govbot.core.teams import StoredTeam
from govbot.runtime import Runtime

log = logging.getLogger(__name__)

WHO_TEXT = {
    "anyone": "anyone",
    "members": "team members",
    "managers": "team managers",
    "admins": "govbot admins",
}


@dataclass(frozen=True)
class ParsedCommand:
    """The text of a `/govbot` command, split into subcommand, words and --options."""

    name: str | None
    args: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)


def parse(text: str) -> ParsedCommand:
    """Split command text; an unknown subcommand or bad quoting gives ``name=None`` (→ help)."""
    try:
        words = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return ParsedCommand(name=None)
    positional: list[str] = []
    options: dict[str, str | bool] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("--") and len(word) > 2:
            key, sep, value = word[2:].partition("=")
            if sep:
                options[key] = value
            elif index + 1 < len(words) and not words[index + 1].startswith("--"):
                options[key] = words[index + 1]
                index += 1
            else:
                options[key] = True
        else:
            positional.append(word)
        index += 1
    lowered = [w.lower() for w in positional]
    for size in (2, 1):
        candidate = " ".join(lowered[:size])
        if len(lowered) >= size and candidate in SUBCOMMANDS:
            return ParsedCommand(name=candidate, args=positional[size:], options=options)
    return ParsedCommand(name=None, args=positional, options=options)


def help_text() -> str:
    """Usage of every registered subcommand, grouped by who may use it."""
    lines = ["*govbot* keeps AI-assisted delivery honest. Usage: `/govbot <command> [--team NAME]`", ""]
    for sub in sorted(SUBCOMMANDS.values(), key=lambda s: s.name):
        lines.append(f"• `{COMMAND} {sub.usage}` — {sub.summary} _({WHO_TEXT[sub.who]})_")
    lines.append("")
    lines.append("Used in a team's digest channel, commands act on that team; elsewhere add `--team NAME`.")
    return "\n".join(lines)


@dataclass
class CommandContext:
    """What a subcommand handler gets."""

    runtime: Runtime
    user_id: str
    channel_id: str
    parsed: ParsedCommand
    trigger_id: str | None
    client: WebClient
    respond: Callable[..., Any]
    now: datetime
    team: StoredTeam | None = None

    @property
    def args(self) -> list[str]:
        return self.parsed.args

    @property
    def options(self) -> dict[str, str | bool]:
        return self.parsed.options

    def reply(self, text: str, blocks: list[Any] | None = None) -> None:
        """An ephemeral reply to the user who ran the command."""
        rendered = [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks] if blocks else None
        self.respond(text=text, blocks=rendered, response_type="ephemeral", replace_original=False)


def _resolve_team(session: Session, ctx: CommandContext) -> tuple[StoredTeam | None, str | None]:
    """The team the command is about, or a reply explaining how to name one."""
    option = ctx.options.get("team")
    if isinstance(option, str):
        team = repo.get_team(session=session, name=option.strip().lower())
        if team is None:
            return None, f"There is no team named `{option}`. `/govbot status --team NAME` with one of: " + (
                ", ".join(f"`{t.name}`" for t in repo.teams_of_user(session=session, user_id=ctx.user_id)) or "—"
            )
        return team, None
    in_channel = repo.teams_for_channel(session=session, channel_id=ctx.channel_id)
    if len(in_channel) == 1:
        return in_channel[0], None
    mine = repo.teams_of_user(session=session, user_id=ctx.user_id)
    if len(in_channel) > 1:
        names = ", ".join(f"`{t.name}`" for t in in_channel)
        return None, f"Several teams post in this channel ({names}): add `--team NAME` to say which one."
    if not mine:
        return None, ("This channel is not a govbot team's digest channel and you are not in any team. "
                      "Ask a govbot admin to add you, or use `--team NAME`.")
    names = ", ".join(f"`{t.name}`" for t in mine)
    return None, f"This channel is not a team's digest channel. Your teams: {names}. Add `--team NAME`."


def authorise(sub: Subcommand, *, user_id: str, team: StoredTeam | None, admins: tuple[str, ...]) -> str | None:
    """None when allowed, else a polite refusal that says who may do it."""
    if sub.who == "anyone":
        return None
    if sub.who == "admins":
        if user_id in admins:
            return None
        return "Sorry, only govbot admins (GOVBOT_ADMINS) can do that. Ask your Slack admin to add you."
    assert team is not None
    if sub.who == "managers" and not team.is_manager(user_id):
        managers = ", ".join(f"<@{m}>" for m in team.spec.managers)
        return f"Sorry, only the managers of team `{team.name}` can do that. Ask {managers}."
    if sub.who == "members" and not team.is_member(user_id):
        return f"Sorry, only members of team `{team.name}` can see that. Ask a manager to add you."
    return None


def run_command(ctx: CommandContext) -> None:
    """Route one parsed command (after the ack)."""
    if ctx.parsed.name is None:
        ctx.reply(help_text())
        return
    sub = SUBCOMMANDS[ctx.parsed.name]
    with Session(ctx.runtime.engine, expire_on_commit=False) as session:
        if sub.needs_team:
            team, problem = _resolve_team(session, ctx)
            if team is None:
                ctx.reply(problem or help_text())
                return
            ctx.team = team
    refusal = authorise(sub, user_id=ctx.user_id, team=ctx.team, admins=ctx.runtime.settings.admins)
    if refusal:
        log.warning("refused %r for user %s (team %s)", sub.name, ctx.user_id, ctx.team.name if ctx.team else "-")
        ctx.reply(refusal)
        return
    sub.handler(ctx)
