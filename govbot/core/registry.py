"""Where features plug into the Slack surface: subcommands, status sections and listeners.

The `/govbot` router, `/govbot status` and the App Home read these registries, so a feature adds a subcommand or
a status section by registering it from its own module (listed in ``govbot.adapters.scheduler.context.FEATURE_MODULES``)
and never edits the router. Authorisation is declared with the subcommand (``who``) and enforced by the router
for every call, so a new subcommand cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from slack_bolt import App
    from sqlmodel import Session

    from govbot.core.commands import CommandContext
    from govbot.core.teams import StoredTeam
    from govbot.runtime import Runtime

Who = Literal["anyone", "members", "managers", "admins"]


@dataclass(frozen=True)
class Subcommand:
    """One `/govbot` subcommand."""

    name: str  # one or two words, e.g. "status" or "survey start"
    usage: str  # e.g. "refactor skip|postpone --reason \"…\""
    summary: str
    who: Who
    handler: Callable[[CommandContext], None]
    needs_team: bool = True


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str, *, usage: str | None = None, summary: str, who: Who, needs_team: bool = True
) -> Callable[[Callable[[CommandContext], None]], Callable[[CommandContext], None]]:
    """Register a `/govbot` subcommand handler (runs after the ack; may take its time)."""

    def _register(fn: Callable[[CommandContext], None]) -> Callable[[CommandContext], None]:
        SUBCOMMANDS[name] = Subcommand(name=name, usage=usage or name, summary=summary, who=who, handler=fn,
                                       needs_team=needs_team)
        return fn

    return _register


@dataclass(frozen=True)
class StatusSection:
    """A part of `/govbot status` and the App Home, contributed by one feature."""

    order: int
    title: str
    render: Callable[[Runtime, Session, StoredTeam, datetime], list[Any]]  # returns Block Kit blocks


STATUS_SECTIONS: list[StatusSection] = []


def status_section(order: int, title: str) -> Callable:
    """Register a status section renderer ``(runtime, session, team, now) -> blocks``."""

    def _register(fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        STATUS_SECTIONS[:] = [s for s in STATUS_SECTIONS if s.title != title]
        STATUS_SECTIONS.append(StatusSection(order=order, title=title, render=fn))
        STATUS_SECTIONS.sort(key=lambda s: s.order)
        return fn

    return _register


LISTENER_SETUPS: list[Callable[[App, Runtime], None]] = []


def listeners(fn: Callable[[App, Runtime], None]) -> Callable[[App, Runtime], None]:
    """Register a function that adds a feature's actions, views and events to the bolt app."""
    if fn not in LISTENER_SETUPS:
        LISTENER_SETUPS.append(fn)
    return fn
