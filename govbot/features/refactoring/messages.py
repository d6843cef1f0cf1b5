"""The refactoring feature's texts, pure: dates in words, the override confirmation, the status lines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from govbot.adapters.slack.blocks import escape
from govbot.core.teams import StoredTeam
from govbot.features.refactoring import service as sprints
from govbot.features.refactoring.overrides import OverrideOutcome


def day_text(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def dates_text(dates: tuple[datetime, datetime] | None) -> str:
    return f"{day_text(dates[0])} – {day_text(dates[1])}" if dates else "dates not planned yet"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def override_reply(outcome: OverrideOutcome, *, team: StoredTeam, reason: str, now: datetime) -> str:
    """The confirmation: which refactoring sprint moved where, the reason, and what changed in Jira."""
    number = outcome.sprint_number

    def when(n: int) -> str:
        return dates_text(sprints.sprint_dates(outcome.snapshot, team, n, now))

    if outcome.kind == "postpone":
        moved_to = min(outcome.effect.added, default=number + 1)
        head = (f"Postponed refactoring sprint {number} ({when(number)}) by one sprint: sprint {moved_to} "
                f"({when(moved_to)}) is the refactoring sprint now, and the cadence counts on from there.")
    else:
        head = (f"Skipped refactoring sprint {number} ({when(number)}): it is an ordinary sprint now. The next "
                f"refactoring sprint is sprint {outcome.next_number} ({when(outcome.next_number)}).")
    lines = [head, f"Reason (kept in the audit trail): “{escape(reason)}”"]
    if outcome.plan_error is not None:
        lines.append(f"The decision is saved, but Jira could not be updated now: {escape(outcome.plan_error)} "
                     "govbot applies it at its next daily plan.")
    elif outcome.plan is not None and (outcome.plan.updated or outcome.plan.created):
        changes = [f"{escape(w.before_name or '')} → {escape(w.name)}" for w in outcome.plan.updated
                   if w.before_name != w.name]
        changes += [f"created {escape(w.name)}" for w in outcome.plan.created]
        lines.append("Jira updated: " + "; ".join(changes) + "." if changes else "Jira updated.")
    else:
        lines.append(f"Nothing to change in Jira yet: the sprints planned ahead "
                     f"({team.settings.plan_horizon_sprints}) are already right; later ones are named when planned.")
    return "\n".join(lines)


def status_lines(status: sprints.CadenceStatus, *, team: StoredTeam) -> list[str]:
    """The refactoring section in words."""
    label = escape(team.settings.labels.refactor)
    lines = [f"Every {_ordinal(status.every)} sprint on board _{escape(status.board_name)}_ is a refactoring "
             f"sprint, with at least {status.capacity_pct}% of its capacity on refactoring."]
    current = status.current
    if current is None:
        lines.append("*Current sprint:* none is active.")
    else:
        zone = ZoneInfo(team.spec.timezone)
        end = f", until {day_text(current.sprint.end.astimezone(zone))}" if current.sprint.end else ""
        kind = " (a refactoring sprint)" if status.current_is_refactor else ""
        lines.append(f"*Current sprint:* {current.number} — {escape(current.sprint.name)}{end}{kind}")
    if status.current_is_refactor and status.share is not None:
        share = status.share
        unit = "story points" if status.by_points else "issues"
        if share.pct is None:
            lines.append(f"*Refactor share:* nothing to measure yet (no {unit} in the sprint).")
        else:
            verdict = ("below the reservation" if share.pct < status.capacity_pct else "within the reservation")
            lines.append(f"*Refactor share:* {share.pct:.0f}% of the sprint's {unit} ({share.refactor:g} of "
                         f"{share.total:g}) are labelled `{label}`: {verdict} of {status.capacity_pct}%.")
    where = (f"in Jira as _{escape(status.next_sprint.name)}_" if status.next_sprint is not None
             else "not in Jira yet")
    lines.append(f"*Next refactoring sprint:* {status.next_number} — {dates_text(status.next_dates)} ({where})")
    return lines
