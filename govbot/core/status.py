"""`/govbot status` and the App Home, built from the status sections the features list.

Each section is shown under its title, in ``order``; a renderer returns its content blocks only (the title is
added here). A section that fails is shown as unavailable and logged, so one feature's problem does not hide the
others. This module queries nothing itself: the sections read what they show, and the App Home is handed the
user's teams.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from govbot.adapters.slack import inputs
from govbot.adapters.slack.blocks import MESSAGE_BLOCK_LIMIT, VIEW_BLOCK_LIMIT, escape, fit_blocks
from govbot.adapters.slack.ids import COMMAND, ActionId
from govbot.core import teams
from govbot.core.commands import CommandContext, StatusSection, Subcommand, Surface
from govbot.core.deps import Runtime
from govbot.core.teams import StoredTeam

log = logging.getLogger(__name__)


def _section_blocks(runtime: Runtime, session: Session, team: StoredTeam, now: datetime,
                    sections: tuple[StatusSection, ...]) -> list[Any]:
    blocks: list[Any] = []
    for section in sections:
        try:
            rendered = list(section.render(runtime, session, team, now) or [])
        except Exception:
            log.exception("status section %r failed for team %s", section.title, team.name)
            session.rollback()
            rendered = [ContextBlock(elements=[MarkdownTextObject(text="_Not available right now._")])]
        if rendered:
            blocks.append(SectionBlock(text=f"*{escape(section.title)}*"))
            blocks.extend(rendered)
    return blocks


def status_message_blocks(runtime: Runtime, session: Session, team: StoredTeam, now: datetime,
                          sections: tuple[StatusSection, ...]) -> list[Any]:
    """The blocks of `/govbot status` for one team (within a message's block limit)."""
    blocks = [HeaderBlock(text=f"Team {team.name}"[:150]), *_section_blocks(runtime, session, team, now, sections)]
    return fit_blocks(blocks, MESSAGE_BLOCK_LIMIT, overflow_note="_More in govbot's App Home._")


def home_view(runtime: Runtime, session: Session, *, user_id: str, user_teams: list[StoredTeam], now: datetime,
              sections: tuple[StatusSection, ...]) -> View:
    """The App Home: every team the user belongs to, and a settings button on the teams they manage."""
    blocks: list[Any] = [HeaderBlock(text="govbot")]
    if not user_teams:
        blocks.append(SectionBlock(text="You are not in a governed team yet. Ask a govbot admin to add you "
                                        f"(`{COMMAND} setup`), then come back here."))
    for team in user_teams:
        blocks.append(HeaderBlock(text=f"Team {team.name}"[:150]))
        if team.is_manager(user_id):
            blocks.append(ActionsBlock(block_id=f"manage:{team.name}", elements=[ButtonElement(
                text="Team settings", action_id=ActionId.OPEN_SETTINGS, value=team.name)]))
        blocks.extend(_section_blocks(runtime, session, team, now, sections))
        blocks.append(DividerBlock())
    note = f"_More than fits here: use `{COMMAND} status --team NAME`._"
    return View(type="home", blocks=fit_blocks(blocks, VIEW_BLOCK_LIMIT, overflow_note=note))


def _status(ctx: CommandContext) -> None:
    """Every status section for the team."""
    assert ctx.team is not None
    team = ctx.team

    def render() -> list[Any]:
        with Session(ctx.runtime.read_engine, expire_on_commit=False) as session:
            blocks = status_message_blocks(ctx.runtime, session, team, ctx.now, ctx.surface.sections)
        return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]

    # Everyone who asked before a render of this team's status began gets that render (see shared_renders).
    blocks = ctx.runtime.shared_renders.get(("status", team.id), asked_at=ctx.asked_at, render=render)
    ctx.reply(f"Status of team {team.name}", blocks)


STATUS = Subcommand("status", summary="where the team stands: sprints, tracks, surveys, settings", who="members",
                    handler=_status)


def publish_home(runtime: Runtime, surface: Surface, client: WebClient, user_id: str) -> None:
    """Render the user's App Home and publish it."""
    with Session(runtime.read_engine, expire_on_commit=False) as session:
        user_teams = teams.teams_of_user(session=session, user_id=user_id)
        view = home_view(runtime, session, user_id=user_id, user_teams=user_teams, now=runtime.clock(),
                         sections=surface.sections)
    client.views_publish(user_id=user_id, view=view)


def register_home(app: App, runtime: Runtime, surface: Surface) -> None:
    """Publish the App Home when a user opens it: the event is acked at once, the render runs on a lane."""

    @app.event("app_home_opened")
    def on_app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        user_id = inputs.user_id(event.get("user"))
        if event.get("tab", "home") != "home" or user_id is None:
            return
        # A full lane drops this render (counted in govbot_lane_refused_total): the user's next visit renders.
        runtime.lanes.submit("render", publish_home, runtime, surface, client, user_id)
