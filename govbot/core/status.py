"""`/govbot status` and the App Home, built from the status sections features register.

Each registered section (``govbot.core.registry.status_section``) is shown under its title, in ``order``; a
renderer returns its content blocks only (the title is added here). A section that fails is shown as unavailable
and logged, so one feature's problem does not hide the others.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from govbot.adapters.slack.blocks import MESSAGE_BLOCK_LIMIT, VIEW_BLOCK_LIMIT, fit_blocks
from govbot.adapters.slack.ids import COMMAND, ActionId
from govbot.core import teams as repo
from govbot.core.registry import STATUS_SECTIONS
from govbot.core.teams import StoredTeam
from govbot.features.teams.settings_modal import describe_rule

if TYPE_CHECKING:
    from govbot.runtime import Runtime

log = logging.getLogger(__name__)


def escape(text: str) -> str:
    """Text safe inside mrkdwn (Slack's three control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section_blocks(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    blocks: list[Any] = []
    for section in STATUS_SECTIONS:
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


def status_message_blocks(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """The blocks of `/govbot status` for one team (within a message's block limit)."""
    blocks = [HeaderBlock(text=f"Team {team.name}"[:150]), *_section_blocks(runtime, session, team, now)]
    return fit_blocks(blocks, MESSAGE_BLOCK_LIMIT, overflow_note="_More in govbot's App Home._")


def home_view(runtime: Runtime, session: Session, user_id: str, now: datetime) -> View:
    """The App Home: every team the user belongs to, and a settings button on the teams they manage."""
    teams = repo.teams_of_user(session=session, user_id=user_id)
    blocks: list[Any] = [HeaderBlock(text="govbot")]
    if not teams:
        blocks.append(SectionBlock(text="You are not in a governed team yet. Ask a govbot admin to add you "
                                        f"(`{COMMAND} setup`), then come back here."))
    for team in teams:
        blocks.append(HeaderBlock(text=f"Team {team.name}"[:150]))
        if team.is_manager(user_id):
            blocks.append(ActionsBlock(block_id=f"manage:{team.name}", elements=[ButtonElement(
                text="Team settings", action_id=ActionId.OPEN_SETTINGS, value=team.name)]))
        blocks.extend(_section_blocks(runtime, session, team, now))
        blocks.append(DividerBlock())
    note = f"_More than fits here: use `{COMMAND} status --team NAME`._"
    return View(type="home", blocks=fit_blocks(blocks, VIEW_BLOCK_LIMIT, overflow_note=note))


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _names(values: list[str]) -> str:
    return ", ".join(escape(v) for v in values) or "—"


def settings_summary_blocks(team: StoredTeam) -> list[Block]:
    """The team's settings in words."""
    s = team.settings
    tz = escape(team.spec.timezone)
    length = f"{s.sprint_length_days} days" if s.sprint_length_days else "as long as the board's last sprints"
    reviewer = f"`{s.reviewer_field}`" if s.reviewer_field else "not configured (zone-2 and review-load rules are off)"
    labels = ", ".join(f"`{escape(v)}`" for v in s.labels.model_dump().values())
    lines = [
        f"*Refactoring:* every {_ordinal(s.refactor_every)} sprint, at least {s.refactor_capacity_pct}% of its "
        f"capacity · sprints {length} · {s.plan_horizon_sprints} planned ahead",
        f"*Tracks:* human-first {s.track_target_human_first_pct}% ± {s.track_tolerance_pct} "
        f"(ai-heavy {100 - s.track_target_human_first_pct}%) · juniors at least {s.junior_min_human_first_pct}% "
        f"human-first · at most {s.senior_review_cap} ai-heavy reviews per senior per sprint",
        f"*Zones:* 1 (human-only): {_names(s.zones.get(1, []))} · 2 (senior review): {_names(s.zones.get(2, []))}"
        f" · 3 (AI-friendly): {_names(s.zones.get(3, [])) + ' and ' if s.zones.get(3) else ''}everything unlisted",
        f"*Jira:* reviewer field {reviewer} · comments on rule breaks {'on' if s.jira_comments else 'off'} · "
        f"labels {labels} · incidents {_names(s.incident_issue_types)} · features {_names(s.feature_issue_types)}"
        f" · review queue {_names(s.review_statuses)}",
        f"*Surveys:* {describe_rule(s.survey_rrule)} ({tz}) · open {s.survey_open_hours} h · reminder after "
        f"{s.survey_reminder_after_hours} h · results shown from {s.anonymity_min_responses} responses",
        f"*Digest:* {describe_rule(s.digest_rrule)} ({tz})",
    ]
    return [SectionBlock(text="\n".join(lines)[:3000])]
