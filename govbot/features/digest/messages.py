"""The digest's words: Block Kit for the channel post and the plain text for notifications and `digest show`.

Pure builders over ``domain.digest.Digest``. The verdict comes first, then the figures with their change, the
people and tracks sections, what to look at this week, and what could not be read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from govbot.domain.digest import Digest, Trend
from govbot.domain.digest.verdict import number, signed_pct

NOT_ENOUGH = "not enough responses to show (anonymity threshold)"
NO_SURVEY = "no survey closed yet"
UNREADABLE = "the survey results could not be read"


def _day_range(digest: Digest) -> str:
    last_day = digest.span.end.date() - timedelta(days=1)
    return f"{digest.span.start:%a %d %b} – {last_day:%a %d %b %Y}"


def _change(trend: Trend) -> str:
    if trend.previous_mean is None:
        return "no earlier week to compare"
    mean = number(round(trend.previous_mean, 2))
    weeks = f"{trend.weeks} earlier week" + ("s" if trend.weeks != 1 else "")
    if trend.change_pct is None:
        return f"up from a mean of 0 over {weeks}"
    return f"{signed_pct(trend.change_pct)} against the mean of {weeks}, {mean}"


def title(digest: Digest) -> str:
    """The post's heading."""
    return f"Weekly digest: {digest.team}, {digest.week.label}"


def figure_lines(digest: Digest) -> list[str]:
    """The tracker figures, one line each (empty when Jira could not be read)."""
    figures = digest.figures
    if figures is None:
        return []
    ipf = figures.incidents_per_feature
    lines = [
        f"Velocity: {number(figures.velocity)} {figures.unit} ({_change(digest.velocity_trend)})",
        f"Features shipped: {figures.features_shipped}",
        f"Incidents: {figures.incidents}",
        "Incidents per feature: n/a (no feature shipped)"
        if ipf is None
        else f"Incidents per feature: {ipf:.2f} ({_change(digest.quality_trend)})",
        f"Rollbacks: {figures.rollbacks}",
    ]
    queue = figures.review_queue
    if queue is None:
        lines.append("Review queue: not measured for this week")
    elif queue.count == 0:
        lines.append("Review queue: empty")
    else:
        lines.append(
            f"Review queue: {queue.count} issue{'s' if queue.count != 1 else ''}, "
            f"median {queue.median_age_hours or 0:.0f} h, oldest {queue.oldest_age_hours or 0:.0f} h in review"
        )
    return lines


def people_line(digest: Digest) -> str:
    """The last closed survey's indices, or why they are not shown."""
    people = digest.people
    if people is None:
        reason = {"below_threshold": NOT_ENOUGH, "unreadable": UNREADABLE}.get(digest.people_state, NO_SURVEY)
        return f"People: {reason}"
    parts = []
    if people.burnout_index is not None:
        parts.append(f"burnout index {people.burnout_index:.0f}/100")
    if people.learning_index is not None:
        parts.append(f"learning index {people.learning_index:.0f}/100")
    if people.response_rate is not None:
        parts.append(f"response rate {people.response_rate:.0f}%")
    return "People (last survey): " + (", ".join(parts) if parts else "no index answered")


def tracks_line(digest: Digest) -> str:
    """This sprint's human-first share against target, and the open violations by rule."""
    tracks = digest.tracks
    if tracks is None:
        return "Tracks: no active sprint to measure"
    share = "n/a (no tracked work)" if tracks.human_first_pct is None else f"{tracks.human_first_pct:.0f}%"
    by_rule = tracks.violations_by_rule()
    open_rules = [f"{rule} {count}" for rule, count in (by_rule or {}).items() if count]
    violations = "not checked" if by_rule is None else ", ".join(open_rules) if open_rules else "none"
    return f"Tracks: human-first {share} (target {tracks.target_pct}%), open violations: {violations}"


def refactoring_line(digest: Digest) -> str:
    """Where the team is in its refactoring cadence."""
    section = digest.refactoring
    if section is None:
        return "Refactoring: no active sprint on the board"
    if section.is_refactor_sprint:
        share = "not measured" if section.refactor_share_pct is None else f"{section.refactor_share_pct:.0f}%"
        return f"Refactoring: this is a refactoring sprint; refactor share {share} (goal {section.capacity_pct}%)"
    if section.sprints_until_next == 1:
        return "Refactoring: the next sprint is a refactoring sprint"
    return f"Refactoring: next refactoring sprint in {section.sprints_until_next} sprints"


def look_at(digest: Digest) -> list[str]:
    """What to look at this week: the flags, then a split off target and a refactoring sprint short of its goal."""
    items = [flag.message for flag in digest.flags]
    if digest.tracks is not None and digest.tracks.off_target and digest.tracks.human_first_pct is not None:
        items.append(
            f"The human-first share is {digest.tracks.human_first_pct:.0f}%, outside "
            f"{digest.tracks.target_pct}% ± {digest.tracks.tolerance_pct}."
        )
    if digest.refactoring is not None and digest.refactoring.below_capacity:
        items.append(f"This refactoring sprint is below its {digest.refactoring.capacity_pct}% refactoring goal.")
    return items


def missing_line(digest: Digest) -> str | None:
    """What could not be read, or None."""
    if not digest.missing:
        return None
    return "Could not be read this time: " + ", ".join(m.replace("_", " ") for m in digest.missing) + "."


def text(digest: Digest) -> str:
    """The whole digest as plain text (the post's fallback, notifications, `digest show`)."""
    lines = [f"{title(digest)} ({_day_range(digest)})", digest.verdict, ""]
    lines += figure_lines(digest)
    lines += ["", people_line(digest), tracks_line(digest), refactoring_line(digest), ""]
    items = look_at(digest)
    lines.append("What to look at this week:" if items else "What to look at this week: nothing stands out.")
    lines += [f"• {item}" for item in items]
    gap = missing_line(digest)
    if gap:
        lines += ["", gap]
    return "\n".join(lines).rstrip() + "\n"


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:3000]}}


def blocks(digest: Digest) -> list[dict[str, Any]]:
    """The channel post: verdict first, figures, people and tracks, what to look at, what is missing."""
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(digest)[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _day_range(digest)}]},
        _section(f"*{digest.verdict}*"),
    ]
    figures = figure_lines(digest)
    if figures:
        out.append(_section("\n".join(f"• {line}" for line in figures)))
    out.append({"type": "divider"})
    out.append(_section("\n".join(f"• {line}" for line in (people_line(digest), tracks_line(digest),
                                                             refactoring_line(digest)))))
    items = look_at(digest)
    body = "\n".join(f"• {item}" for item in items) if items else "Nothing stands out."
    out.append(_section(f"*What to look at this week*\n{body}"))
    gap = missing_line(digest)
    if gap:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: {gap}"}]})
    return out


def invite_bot_dm(*, team: str, channel: str) -> str:
    """The one DM managers get when the bot is not in the digest channel."""
    return (
        f"govbot could not post the weekly digest of {team} in <#{channel}> because it is not a member of that "
        f"channel: invite it there with `/invite @govbot`, and the digest goes out on the next run."
    )


def already_posted(*, week: str, link: str | None) -> str:
    """The answer to `/govbot digest post` when the week is already posted."""
    where = f": {link}" if link else "."
    return f"The digest of {week} is already posted{where}"
