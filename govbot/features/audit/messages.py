"""Audit events in words, pure: one line per event, in lines that fit a Slack section."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from govbot.adapters.db.tables import AuditEvent
from govbot.adapters.slack.blocks import escape
from govbot.config import is_slack_user
from govbot.core.audit import changes_in_words


def _actor(actor: str) -> str:
    return f"<@{actor}>" if is_slack_user(actor) else escape(actor)


def audit_line(event: AuditEvent, tz: ZoneInfo) -> str:
    """One audit event in a line: when, who, what, and what changed."""
    when = event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if event.before is None and event.after is not None:
        change = "created"
    elif event.after is None and event.before is not None:
        change = "removed"
    else:
        changed = event.before or event.after
        change = "; ".join(changes_in_words(event.before, event.after)) if changed else ""
    text = f"`{when}` {_actor(event.actor)} *{escape(event.action)}*"
    if event.target:
        text += f" {escape(event.target)}"
    if change:
        text += f" — {escape(change)}"
    if event.reason:
        text += f" _(reason: {escape(event.reason)})_"
    return text[:500]


def chunks(lines: list[str], limit: int) -> list[str]:
    """The lines joined into as few texts of at most ``limit`` characters as they fit in."""
    joined: list[str] = []
    for line in lines:
        if joined and len(joined[-1]) + len(line) + 1 <= limit:
            joined[-1] += "\n" + line
        else:
            joined.append(line)
    return joined
