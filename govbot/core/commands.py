"""The `/govbot` surface: subcommands and status sections, and the router that parses, authorises and runs.

Features list their subcommands and status sections (in their ``slack.py``); ``govbot.runtime`` gathers them
from its FEATURES list into one ``Surface`` that the router, `/govbot help`, `/govbot status` and the App Home
read. A feature adds a subcommand without editing the router. Authorisation is declared with the subcommand
(``who``) and enforced here, on the server, for every call, so a new subcommand cannot forget it.

Parsing never fails loudly: anything unknown or malformed gets the help text. The team is the one whose digest
channel the command was used in, or ``--team NAME``; used elsewhere without ``--team``, the reply lists the
user's teams.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.slack.ids import COMMAND
from govbot.core import teams
from govbot.core.deps import Runtime
from govbot.core.teams import WHO_TEXT, StoredTeam, Who, authorise

log = logging.getLogger(__name__)

# Slack's message composer sends at most 40,000 characters; a longer text was not typed by a person.
MAX_COMMAND_TEXT = 40_000
TOO_LONG = (f"That command is longer than Slack sends ({MAX_COMMAND_TEXT:,} characters), so govbot did not read "
            f"it. Try `{COMMAND} help`.")
_WHITESPACE = " \t\r\n"
_PLAIN = re.compile(r"[^ \t\r\n\\'\"]+")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_QUOTED_ESCAPE = re.compile(r'\\(["\\])')


@dataclass(frozen=True)
class Subcommand:
    """One `/govbot` subcommand."""

    name: str  # one or two words, e.g. "status" or "survey start"
    summary: str
    who: Who
    handler: Callable[[CommandContext], None]  # runs after the ack; may take its time
    usage: str = ""  # e.g. "refactor skip --reason \"…\""; the name when empty
    needs_team: bool = True
    lane: str = "render"  # where the handler runs after the ack (govbot.core.lanes): render, jira or fanout

    @property
    def shown_usage(self) -> str:
        return self.usage or self.name


SectionRenderer = Callable[[Runtime, Session, StoredTeam, datetime], list[Any]]  # returns Block Kit blocks


@dataclass(frozen=True)
class StatusSection:
    """A part of `/govbot status` and the App Home, contributed by one feature (shown in ``order``)."""

    order: int
    title: str
    render: SectionRenderer


@dataclass(frozen=True)
class Surface:
    """Every subcommand and status section of this install, as the features list them."""

    subcommands: Mapping[str, Subcommand]
    sections: tuple[StatusSection, ...]

    @classmethod
    def of(cls, subcommands: Sequence[Subcommand], sections: Sequence[StatusSection]) -> Surface:
        """A surface from lists; a repeated subcommand name is a wiring mistake, so it fails at start-up."""
        by_name: dict[str, Subcommand] = {}
        for sub in subcommands:
            if sub.name in by_name:
                raise ValueError(f"two subcommands are named {sub.name!r}")
            by_name[sub.name] = sub
        return cls(subcommands=by_name, sections=tuple(sorted(sections, key=lambda s: s.order)))

    def help_text(self) -> str:
        """Usage of every subcommand, with who may use it."""
        return self._help

    @cached_property
    def _help(self) -> str:
        # Made once: `/govbot help` is the command Slack sends most, and the text never changes while running.
        lines = ["*govbot* keeps AI-assisted delivery honest. Usage: `/govbot <command> [--team NAME]`", ""]
        for sub in sorted(self.subcommands.values(), key=lambda s: s.name):
            lines.append(f"• `{COMMAND} {sub.shown_usage}` — {sub.summary} _({WHO_TEXT[sub.who]})_")
        lines.append("")
        lines.append("Used in a team's digest channel, commands act on that team; elsewhere add `--team NAME`.")
        return "\n".join(lines)

    def parse(self, text: str) -> ParsedCommand:
        """Split command text; an unknown subcommand or bad quoting gives ``name=None`` (→ help), a text longer
        than Slack sends gives ``name=None`` and a ``problem`` to answer with. Linear in the text."""
        if len(text) > MAX_COMMAND_TEXT:
            return ParsedCommand(name=None, problem=TOO_LONG)
        words = split_words(text.replace("“", '"').replace("”", '"'))
        if words is None:
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
            if len(lowered) >= size and candidate in self.subcommands:
                return ParsedCommand(name=candidate, args=positional[size:], options=options)
        return ParsedCommand(name=None, args=positional, options=options)


@dataclass(frozen=True)
class ParsedCommand:
    """The text of a `/govbot` command, split into subcommand, words and --options."""

    name: str | None
    args: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)
    problem: str | None = None  # answered instead of the help text


def split_words(text: str) -> list[str] | None:
    """Words as a POSIX shell splits them (``shlex.split``): quotes group, a backslash escapes; None when a
    quote is not closed or the text ends in a backslash. Linear in the text (shlex grows a word one character
    at a time by string concatenation, which is quadratic in the length of a word)."""
    words: list[str] = []
    word: list[str] = []
    in_word, index, end = False, 0, len(text)
    while index < end:
        char = text[index]
        if char in _WHITESPACE:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            index += 1
            continue
        in_word = True
        if char == "\\":
            if index + 1 >= end:
                return None
            word.append(text[index + 1])
            index += 2
        elif char == "'":
            close = text.find("'", index + 1)
            if close < 0:
                return None
            word.append(text[index + 1:close])
            index = close + 1
        elif char == '"':
            found = _DOUBLE_QUOTED.match(text, index)
            if found is None:
                return None
            word.append(_QUOTED_ESCAPE.sub(r"\1", found.group(1)))
            index = found.end()
        else:
            found = _PLAIN.match(text, index)
            assert found is not None
            word.append(found.group())
            index = found.end()
    if in_word:
        words.append("".join(word))
    return words


@dataclass
class CommandContext:
    """What a subcommand handler gets."""

    runtime: Runtime
    surface: Surface
    user_id: str
    channel_id: str
    parsed: ParsedCommand
    trigger_id: str | None
    client: WebClient
    respond: Callable[..., Any]
    now: datetime
    team: StoredTeam | None = None
    asked_at: float = field(default_factory=time.monotonic)  # when Slack's request arrived (monotonic clock)

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
        team = teams.get_team(session=session, name=option.strip().lower())
        if team is None:
            return None, f"There is no team named `{option}`. `/govbot status --team NAME` with one of: " + (
                ", ".join(f"`{t.name}`" for t in teams.teams_of_user(session=session, user_id=ctx.user_id)) or "—"
            )
        return team, None
    in_channel = teams.teams_for_channel(session=session, channel_id=ctx.channel_id)
    if len(in_channel) == 1:
        return in_channel[0], None
    mine = teams.teams_of_user(session=session, user_id=ctx.user_id)
    if len(in_channel) > 1:
        names = ", ".join(f"`{t.name}`" for t in in_channel)
        return None, f"Several teams post in this channel ({names}): add `--team NAME` to say which one."
    if not mine:
        return None, ("This channel is not a govbot team's digest channel and you are not in any team. "
                      "Ask a govbot admin to add you, or use `--team NAME`.")
    names = ", ".join(f"`{t.name}`" for t in mine)
    return None, f"This channel is not a team's digest channel. Your teams: {names}. Add `--team NAME`."


def run_command(ctx: CommandContext) -> None:
    """Route one parsed command (after the ack)."""
    if ctx.parsed.name is None:
        ctx.reply(ctx.surface.help_text())
        return
    sub = ctx.surface.subcommands[ctx.parsed.name]
    with Session(ctx.runtime.engine, expire_on_commit=False) as session:
        if sub.needs_team:
            team, problem = _resolve_team(session, ctx)
            if team is None:
                ctx.reply(problem or ctx.surface.help_text())
                return
            ctx.team = team
    refusal = authorise(sub.who, user_id=ctx.user_id, team=ctx.team, admins=ctx.runtime.settings.admins)
    if refusal:
        log.warning("refused %r for user %s (team %s)", sub.name, ctx.user_id, ctx.team.name if ctx.team else "-")
        ctx.reply(refusal)
        return
    sub.handler(ctx)


def _help(ctx: CommandContext) -> None:
    ctx.reply(ctx.surface.help_text())


HELP = Subcommand("help", summary="this help", who="anyone", handler=_help, needs_team=False)
