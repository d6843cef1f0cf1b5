"""The digest's one-sentence verdict and its leading-indicator flags (SPEC §7), chosen by stated rules.

Velocity and incidents per feature are each read as up, down or steady against the mean of their earlier weeks:
a change of ``SIGNIFICANT_PCT`` or more either way is a move, anything smaller is steady. The pair picks the
sentence from ``SENTENCES`` (velocity first, then quality); "unknown" covers a figure with nothing to compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from govbot.domain.digest.figures import Trend, WeekFigures
from govbot.domain.digest.sections import People, Tracks
from govbot.domain.surveys import BURNOUT_HIGH, BURNOUT_RISE_POINTS

SIGNIFICANT_PCT = 10.0
REVIEW_STALE_HOURS = 72.0  # an oldest review older than this is flagged
Direction = Literal["up", "down", "steady", "unknown"]
FlagKind = Literal["burnout_rise", "burnout_high", "review_stale", "zone1_violations"]

# (velocity, incidents per feature) -> the verdict's conclusion. {v} and {q} are the two figures' phrases.
SENTENCES: dict[tuple[Direction, Direction], str] = {
    ("up", "up"): "{v} but {q}: quality is paying for speed",
    ("up", "down"): "{v} and {q}: faster and safer",
    ("up", "steady"): "{v} with {q}: speed without a quality cost so far",
    ("up", "unknown"): "{v}; {q}: no quality trend to weigh it against",
    ("steady", "up"): "{v} but {q}: quality is slipping",
    ("steady", "down"): "{v} and {q}: quality is improving",
    ("steady", "steady"): "{v} and {q}: a steady week",
    ("steady", "unknown"): "{v}; {q}: no quality trend yet",
    ("down", "up"): "{v} and {q}: slower and less stable, look at what is breaking",
    ("down", "down"): "{v} and {q}: both down, speed may be traded for stability",
    ("down", "steady"): "{v} with {q}: a slower week at the same quality",
    ("down", "unknown"): "{v}; {q}: no quality trend to weigh it against",
}
NO_TRACKER = "Jira could not be read, so there is no velocity or quality verdict this week"


def direction(current: float | None, trend: Trend) -> Direction:
    """Up, down or steady against the earlier weeks' mean; unknown without one. A rise from zero is up."""
    if current is None or trend.previous_mean is None:
        return "unknown"
    if trend.change_pct is None:
        return "up"  # the mean was 0 and the figure is not
    rounded = round(trend.change_pct, 6)  # float noise must not decide between steady and a move
    if rounded >= SIGNIFICANT_PCT:
        return "up"
    if rounded <= -SIGNIFICANT_PCT:
        return "down"
    return "steady"


def signed_pct(value: float) -> str:
    """A change in whole percent with its sign: "+18%", "-7%", "+0%"."""
    whole = round(value)
    return f"+{whole}%" if whole >= 0 else f"-{abs(whole)}%"


def number(value: float) -> str:
    """A figure as people read it: 34, 2.5, 0.33."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _phrase(name: str, current: float | None, trend: Trend, heading: Direction) -> str:
    if heading == "unknown":
        return f"{name} {number(current)}, no earlier week to compare" if current is not None else f"{name} n/a"
    if trend.change_pct is None:
        return f"{name} up from 0 to {number(current or 0)}"
    if heading == "steady":
        return f"{name} steady ({signed_pct(trend.change_pct)})"
    return f"{name} {signed_pct(trend.change_pct)}"


def verdict(figures: WeekFigures | None, velocity_trend: Trend, quality_trend: Trend) -> str:
    """The one sentence that heads the digest."""
    if figures is None:
        return NO_TRACKER
    v_heading = direction(figures.velocity, velocity_trend)
    ipf = figures.incidents_per_feature
    q_heading = direction(ipf, quality_trend)
    if v_heading == "unknown":
        q = "no feature shipped" if ipf is None else f"incidents per feature {number(ipf)}"
        return f"First week on record: velocity {number(figures.velocity)} {figures.unit}, {q}; no trend yet"
    v = _phrase("Velocity", figures.velocity, velocity_trend, v_heading)
    if ipf is None:
        q = "no feature shipped, so incidents per feature is n/a"
    else:
        q = _phrase("incidents per feature", ipf, quality_trend, q_heading)
    return SENTENCES[(v_heading, q_heading)].format(v=v, q=q)


@dataclass(frozen=True, slots=True)
class Flag:
    """A leading indicator the digest calls out, with a sentence for people."""

    kind: FlagKind
    message: str


def flags(*, figures: WeekFigures | None, people: People | None, tracks: Tracks | None) -> list[Flag]:
    """Burnout index up 10+ points or above 60; oldest review older than 72 h; zone-1 (R3) violations open."""
    found: list[Flag] = []
    if people is not None and people.burnout_index is not None:
        value, before = people.burnout_index, people.previous_burnout_index
        # Rounded so that float noise (40.2 - 30.2 = 10.000000000000004) cannot decide a flag.
        if before is not None and round(value - before, 6) >= BURNOUT_RISE_POINTS:
            found.append(Flag("burnout_rise", f"The burnout index rose {value - before:.1f} points to {value:.1f}."))
        if round(value, 6) > BURNOUT_HIGH:
            found.append(Flag("burnout_high", f"The burnout index is {value:.1f}, above {BURNOUT_HIGH:.0f}."))
    queue = figures.review_queue if figures is not None else None
    if queue is not None and queue.oldest_age_hours is not None and queue.oldest_age_hours > REVIEW_STALE_HOURS:
        found.append(
            Flag(
                "review_stale",
                f"The oldest review has waited {queue.oldest_age_hours:.0f} hours, "
                f"more than {REVIEW_STALE_HOURS:.0f}.",
            )
        )
    by_rule = tracks.violations_by_rule() if tracks is not None else None
    zone1 = by_rule["R3"] if by_rule is not None else 0
    if zone1 > 0:
        noun = "violation is" if zone1 == 1 else "violations are"
        found.append(Flag("zone1_violations", f"{zone1} zone-1 (R3) {noun} open: ai-heavy work in a human-only zone."))
    return found
