"""Two-track staffing's words and Block Kit: violation DMs, track nudges, the acknowledgement modal, the tracks
status section, Jira comments and the `govbot violations list` formats. Pure builders."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from govbot.adapters.db.tables import StaffingViolation
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.domain.staffing import RULE_TITLES, RULES
from govbot.domain.tracks import Split, Track

REASON_BLOCK = "reason"
REASON_MAX = 500
BAR_WIDTH = 20
MODAL_TITLE = "Acknowledge"


MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")


def escape(text: str) -> str:
    """Text safe inside mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_keeping_mentions(text: str) -> str:
    """Escaped text in which the user mentions govbot wrote stay mentions."""
    return MENTION.sub(r"<@\1>", escape(text))


def issue_link(key: str, jira_url: str | None) -> str:
    """The issue key as a Slack link to Jira when the Jira URL is known."""
    return f"<{jira_url.rstrip('/')}/browse/{key}|{key}>" if jira_url else key


def rule_name(rule: str) -> str:
    """e.g. "R3 zone 1"."""
    return f"{rule} {RULE_TITLES.get(rule, '')}".strip()  # type: ignore[call-overload]


# --- DMs


def violation_dm(row: StaffingViolation, *, team: str, jira_url: str | None, again: bool) -> tuple[str, list[Any]]:
    """The notice of one violation, with the ``violation_ack`` button (its value is the violation id)."""
    subject = issue_link(row.issue, jira_url) if row.issue else (f"<@{row.person}>" if row.person else "the sprint")
    lead = "still broken, and it changed" if again else "broken"
    head = f"*{rule_name(row.rule)}* ({row.severity}) {lead} in team `{escape(team)}` — {subject}"
    text = f"{rule_name(row.rule)} ({row.severity}) in team {team}: {row.detail}"
    blocks: list[Any] = [
        SectionBlock(text=f"{head}\n{escape_keeping_mentions(row.detail)}"[:3000]),
        ActionsBlock(block_id=f"violation:{row.id}", elements=[ButtonElement(
            text="Acknowledge", action_id=ActionId.VIOLATION_ACK, value=str(row.id))]),
        ContextBlock(elements=[MarkdownTextObject(text="Managers can acknowledge it with a reason (kept in the audit "
                                                       "trail); govbot tells you again only if it changes.")]),
    ]
    return text, blocks


def nudge_dm(*, key: str, summary: str, team: str, jira_url: str | None, labels: tuple[str, str]
             ) -> tuple[str, list[Any]]:
    """The R2 nudge to the assignee: which track is this issue? Buttons carry the issue key."""
    human, ai = labels
    text = f"{key} ({summary}) has no track yet: is it {human} or {ai}?"
    blocks: list[Any] = [
        SectionBlock(text=(f"*{issue_link(key, jira_url)}* — {escape(summary) or 'no summary'}\nThis issue of team "
                           f"`{escape(team)}` has no track yet. Is it *{escape(human)}* (people design and write it, "
                           f"AI assists) or *{escape(ai)}* (AI generates, people review)?")[:3000]),
        ActionsBlock(block_id=f"track:{key}", elements=[
            ButtonElement(text=human[:75], action_id=ActionId.TRACK_HUMAN_FIRST, value=key, style="primary"),
            ButtonElement(text=ai[:75], action_id=ActionId.TRACK_AI_HEAVY, value=key),
        ]),
    ]
    return text, blocks


def track_chosen(*, key: str, label: str, user: str, jira_url: str | None, already: bool) -> tuple[str, list[Any]]:
    """What replaces the nudge's buttons once a track is chosen."""
    how = "was already" if already else "is now"
    text = f"{key} {how} {label} (chosen by <@{user}>)."
    return text, [SectionBlock(text=f":white_check_mark: {issue_link(key, jira_url)} {how} *{escape(label)}* "
                                    f"(chosen by <@{user}>).")]


def resolved_dm(row: StaffingViolation, *, team: str, jira_url: str | None) -> str:
    """Told to the managers once when a violation of the current sprint holds again."""
    subject = issue_link(row.issue, jira_url) if row.issue else (f"<@{row.person}>" if row.person else "the sprint")
    return (f":white_check_mark: {rule_name(row.rule)} in team `{escape(team)}` is resolved — {subject}: the rule "
            "holds again.")


# --- the acknowledgement modal


class AckMetadata(BaseModel):
    """What the modal carries through Slack (sealed): the violation it acknowledges."""

    violation_id: int


def ack_modal(row: StaffingViolation, *, metadata: str) -> View:
    """The ``violation_ack`` modal: the violation and a required reason."""
    return View(
        type="modal", callback_id=CallbackId.VIOLATION_ACK, title=MODAL_TITLE, submit="Acknowledge", close="Cancel",
        private_metadata=metadata,
        blocks=[
            SectionBlock(text=f"*{rule_name(row.rule)}* ({row.severity})\n"
                              f"{escape_keeping_mentions(row.detail)}"[:3000]),
            InputBlock(block_id=REASON_BLOCK, label="Why is this acceptable for now?", element=PlainTextInputElement(
                action_id="value", multiline=True, min_length=3, max_length=REASON_MAX,
                placeholder="e.g. the reviewer is on leave until Monday; Grace reviews meanwhile")),
            ContextBlock(elements=[MarkdownTextObject(text="The reason is kept in the audit trail. govbot does not "
                                                           "remind about this violation again unless it changes.")]),
        ],
    )


# --- Jira comments


def comment_marker(row: StaffingViolation) -> str:
    """The tag that finds govbot's comment again (so a crash never leads to a second comment)."""
    return f"[govbot {row.key}]"


def comment_body(row: StaffingViolation) -> str:
    """The comment govbot leaves on an issue that breaks a rule."""
    return f"govbot: {rule_name(row.rule)} ({row.severity}). {row.detail} {comment_marker(row)}"


# --- status


@dataclass(frozen=True)
class TracksView:
    """What the tracks section shows."""

    sprint_name: str | None
    split: Split | None
    target_pct: int
    tolerance_pct: int
    open_by_rule: Mapping[str, int]
    oldest: Sequence[StaffingViolation]
    not_configured: Sequence[str]
    problem: str | None = None


def split_bar(human_pct: int, *, width: int = BAR_WIDTH) -> str:
    """A bar of text: filled for human-first, light for ai-heavy."""
    filled = round(human_pct * width / 100)
    return "█" * filled + "░" * (width - filled)


def tracks_lines(view: TracksView, *, jira_url: str | None) -> list[str]:
    """The tracks section of `/govbot status` and the App Home, in words."""
    low, high = max(0, view.target_pct - view.tolerance_pct), min(100, view.target_pct + view.tolerance_pct)
    lines = []
    if view.problem:
        lines.append(f"Jira could not be read: {escape(view.problem)}")
    elif view.sprint_name is None:
        lines.append("*Split:* no sprint is active.")
    elif view.split is None or view.split.human_first_pct is None:
        lines.append(f"*Split:* nothing in _{escape(view.sprint_name)}_ has a track yet (target "
                     f"{view.target_pct}% human-first ± {view.tolerance_pct}).")
    else:
        split = view.split
        pct = split.human_first_pct or 0
        verdict = "on target" if low <= pct <= high else "off target"
        untracked = f" · {split.unlabelled:g} {split.unit} without a track" if split.unlabelled else ""
        lines.append(f"*Split* in _{escape(view.sprint_name)}_: `{split_bar(pct)}` {pct}% human-first / "
                     f"{split.ai_heavy_pct}% ai-heavy — target {view.target_pct}% ± {view.tolerance_pct} "
                     f"({verdict}){untracked}")
    counts = [f"{rule} {view.open_by_rule[rule]}" for rule in RULES if view.open_by_rule.get(rule)]
    lines.append("*Open violations:* " + (" · ".join(counts) if counts else "none"))
    for row in view.oldest:
        subject = issue_link(row.issue, jira_url) if row.issue else (f"<@{row.person}>" if row.person else "sprint")
        lines.append(f"• {rule_name(row.rule)} — {subject}, open since {row.opened_at:%a %d %b}")
    if view.not_configured:
        lines.append(f"_{' and '.join(view.not_configured)} not configured: set `reviewer_field` in the settings._")
    return lines


def split_sentence(split: Split | None, *, target_pct: int, tolerance_pct: int) -> str:
    """The sprint's split in one sentence, for the `/govbot track` answer."""
    if split is None:
        return "No sprint is active, so there is no split to show."
    if split.human_first_pct is None:
        return "Nothing in the active sprint has a track yet."
    return (f"This sprint's split is now {split.human_first_pct}% human-first / {split.ai_heavy_pct}% ai-heavy "
            f"(target {target_pct}% ± {tolerance_pct}).")


# --- `govbot violations list`


def as_json(row: StaffingViolation) -> dict[str, Any]:
    """One violation as the stable JSON object of `govbot violations list --format json`."""
    return {
        "id": row.id,
        "rule": row.rule,
        "severity": row.severity,
        "issue": row.issue,
        "person": row.person,
        "detail": row.detail,
        "status": row.status,
        "opened_at": _iso(row.opened_at),
        "acknowledged_by": row.acknowledged_by,
        "reason": row.reason,
        "sprint_id": row.sprint_id,
        "acknowledged_at": _iso(row.acknowledged_at),
        "resolved_at": _iso(row.resolved_at),
    }


def as_text(rows: Sequence[StaffingViolation], *, team: str, status: str) -> str:
    """The violations as lines a person reads."""
    if not rows:
        return f"No {'' if status == 'all' else status + ' '}violations for team {team}."
    lines = []
    for row in rows:
        subject = row.issue or row.person or "sprint"
        lines.append(f"#{row.id} {row.rule} {row.severity:<8} {row.status:<12} {subject:<12} "
                     f"opened {row.opened_at:%Y-%m-%d}  {row.detail}")
        if row.status == "acknowledged":
            lines.append(f"    acknowledged by {row.acknowledged_by}: {row.reason}")
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


TRACK_OF_ACTION: dict[str, Track] = {ActionId.TRACK_HUMAN_FIRST: "human-first", ActionId.TRACK_AI_HEAVY: "ai-heavy"}
