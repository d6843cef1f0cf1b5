"""Refactoring sprints (SPEC §4) on Slack: `/govbot refactor skip|postpone --reason "…"` and the status section.

The jobs are in ``jobs.py``, the work in ``service.py``, the texts in ``messages.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from sqlmodel import Session

from govbot.adapters.slack.blocks import escape
from govbot.adapters.slack.ids import COMMAND
from govbot.config import ConfigError
from govbot.core.board import USER_FACING_ERRORS
from govbot.core.commands import CommandContext, StatusSection, Subcommand
from govbot.core.deps import Runtime
from govbot.core.teams import StoredTeam
from govbot.features.refactoring import overrides
from govbot.features.refactoring import service as sprints
from govbot.features.refactoring.messages import override_reply, status_lines
from govbot.features.refactoring.service import OverrideError, OverrideKind

NO_JIRA = ("govbot has no Jira connection configured (JIRA_URL with JIRA_EMAIL + JIRA_API_TOKEN, or JIRA_PAT): "
           "ask your govbot admin.")


def _override_command(ctx: CommandContext, kind: OverrideKind) -> None:
    assert ctx.team is not None
    usage = f'`{COMMAND} refactor {kind} --reason "…"`'
    try:
        reason = overrides.check_reason(ctx.options.get("reason"))
    except OverrideError as error:
        ctx.reply(f"{str(error).capitalize()}: {usage}, e.g. `--reason \"release week\"`. The reason is kept in "
                  "the audit trail. Nothing was changed.")
        return
    try:
        outcome = overrides.apply_override(engine=ctx.runtime.engine, tracker=ctx.runtime.tracker(),
                                         key=ctx.runtime.key, team=ctx.team, now=ctx.now, kind=kind,
                                         reason=reason, actor=ctx.user_id)
    except ConfigError:
        ctx.reply(f"{NO_JIRA} Nothing was changed.")
        return
    except OverrideError as error:
        ctx.reply(f"{str(error).capitalize()}. Nothing was changed.")
        return
    except USER_FACING_ERRORS as error:
        ctx.reply(f"Nothing was changed: {escape(str(error))}")
        return
    finally:
        ctx.runtime.render_cache.forget_board(ctx.team.spec.jira_board_id)  # the re-plan may have moved sprints
    ctx.reply(override_reply(outcome, team=ctx.team, reason=reason, now=ctx.now))


def refactor_skip(ctx: CommandContext) -> None:
    """Skip the next refactoring sprint."""
    _override_command(ctx, "skip")


def refactor_postpone(ctx: CommandContext) -> None:
    """Postpone the next refactoring sprint by one sprint."""
    _override_command(ctx, "postpone")


def refactoring_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """Current sprint number, next refactoring sprint (number and dates), this sprint's refactor share."""
    try:
        status = sprints.cadence_status(session=session, tracker=runtime.board_reads(), team=team, now=now)
    except ConfigError:
        return [ContextBlock(elements=[MarkdownTextObject(text=NO_JIRA)])]
    except USER_FACING_ERRORS as error:
        return [SectionBlock(text=f"Jira could not be read: {escape(str(error))}"[:3000])]
    return [SectionBlock(text="\n".join(status_lines(status, team=team))[:3000])]


SUBCOMMANDS = (
    Subcommand("refactor skip", usage='refactor skip --reason "…"', who="managers", handler=refactor_skip,
               summary="skip the next refactoring sprint (it is not held); the reason is audited", lane="jira"),
    Subcommand("refactor postpone", usage='refactor postpone --reason "…"', who="managers", handler=refactor_postpone,
               summary="move the next refactoring sprint one sprint later; the reason is audited", lane="jira"),
)
STATUS_SECTIONS = (StatusSection(order=10, title="Refactoring sprints", render=refactoring_section),)
