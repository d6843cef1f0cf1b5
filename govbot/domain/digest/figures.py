"""The tracker figures of one week (SPEC §7), measured from plain issues, and their trends.

Every figure counts an issue by one date cut on the week's [start, end) in the team's timezone: velocity and
features shipped by when the issue was resolved, incidents and rollbacks by when it was created. Issues may be
handed in from a wider query (JQL reads dates in the Jira user's timezone); the cut here decides.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from govbot.domain.digest.weeks import IsoWeek, WeekSpan
from govbot.domain.work import Issue

Unit = Literal["points", "issues"]
TREND_WEEKS = 6  # velocity and incidents per feature are compared with the mean of this many earlier weeks


@dataclass(frozen=True, slots=True)
class CountingRules:
    """The team settings that decide what counts (SPEC §2), matched case-insensitively."""

    by_points: bool  # the board estimates in story points; False: count issues
    feature_types: tuple[str, ...] = ("Story",)
    incident_types: tuple[str, ...] = ("Incident",)
    incident_label: str = "incident"
    rollback_label: str = "rollback"

    @property
    def unit(self) -> Unit:
        return "points" if self.by_points else "issues"


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    """Issues in the review statuses: how many, and how long (hours) since they entered the status."""

    count: int
    median_age_hours: float | None
    oldest_age_hours: float | None


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """What the tracker says about one week; kept per team and week so trends never re-query history."""

    week: IsoWeek
    unit: Unit
    velocity: float
    features_shipped: int
    incidents: int
    rollbacks: int
    review_queue: ReviewQueue | None = None  # measured only for the week just ended (it is a "now" figure)

    @property
    def incidents_per_feature(self) -> float | None:
        return incidents_per_feature(self.incidents, self.features_shipped)


def _folded(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.casefold() for name in names)


def _has_label(issue: Issue, label: str) -> bool:
    wanted = label.casefold()
    return any(existing.casefold() == wanted for existing in issue.labels)


def unique(issues: Iterable[Issue]) -> list[Issue]:
    """Issues by key, the first seen of each (one search may return an issue for two reasons)."""
    seen: dict[str, Issue] = {}
    for issue in issues:
        seen.setdefault(issue.key, issue)
    return list(seen.values())


def velocity(issues: Iterable[Issue], span: WeekSpan, *, by_points: bool) -> float:
    """Story points of issues resolved in the week (an unestimated issue weighs 0), or their count."""
    resolved = [i for i in unique(issues) if span.contains(i.resolved)]
    if by_points:
        return float(sum(i.points or 0.0 for i in resolved))
    return float(len(resolved))


def features_shipped(issues: Iterable[Issue], span: WeekSpan, *, feature_types: Sequence[str]) -> int:
    """Resolved issues of the feature types in the week."""
    types = _folded(feature_types)
    return sum(1 for i in unique(issues) if span.contains(i.resolved) and i.issue_type.casefold() in types)


def is_incident(issue: Issue, rules: CountingRules) -> bool:
    """An incident by its type or by the incident label."""
    return issue.issue_type.casefold() in _folded(rules.incident_types) or _has_label(issue, rules.incident_label)


def incidents(issues: Iterable[Issue], span: WeekSpan, *, rules: CountingRules) -> int:
    """Incidents created in the week."""
    return sum(1 for i in unique(issues) if span.contains(i.created) and is_incident(i, rules))


def rollbacks(issues: Iterable[Issue], span: WeekSpan, *, rollback_label: str) -> int:
    """Issues created in the week with the rollback label."""
    return sum(1 for i in unique(issues) if span.contains(i.created) and _has_label(i, rollback_label))


def incidents_per_feature(incident_count: int, features: int) -> float | None:
    """Incidents ÷ features shipped; None ("n/a") when no feature shipped."""
    return incident_count / features if features > 0 else None


def review_queue(issues: Iterable[Issue], *, statuses: Sequence[str], now: datetime) -> ReviewQueue:
    """The review queue at ``now``: issues in a review status, aged from when they entered it.

    An issue that entered its status after ``now`` (a replay of an earlier time) was not in the queue then.
    """
    wanted = _folded(statuses)
    at = now.astimezone(UTC)
    ages: list[float] = []
    for issue in unique(issues):
        entered = issue.status_since or issue.created
        if issue.status.casefold() not in wanted or entered is None or entered.astimezone(UTC) > at:
            continue
        ages.append((at - entered.astimezone(UTC)).total_seconds() / 3600)
    if not ages:
        return ReviewQueue(count=0, median_age_hours=None, oldest_age_hours=None)
    return ReviewQueue(count=len(ages), median_age_hours=statistics.median(ages), oldest_age_hours=max(ages))


def measure_week(
    span: WeekSpan, *, issues: Iterable[Issue], rules: CountingRules, queue: ReviewQueue | None = None
) -> WeekFigures:
    """Every tracker figure of the week from the issues resolved or created around it."""
    found = unique(issues)
    return WeekFigures(
        week=span.week,
        unit=rules.unit,
        velocity=velocity(found, span, by_points=rules.by_points),
        features_shipped=features_shipped(found, span, feature_types=rules.feature_types),
        incidents=incidents(found, span, rules=rules),
        rollbacks=rollbacks(found, span, rollback_label=rules.rollback_label),
        review_queue=queue,
    )


@dataclass(frozen=True, slots=True)
class Trend:
    """A figure against the mean of the earlier weeks that have it.

    ``change_pct`` is None without history, and when the mean is 0 but the figure is not (no percentage exists
    for a rise from zero; ``rose_from_zero`` says so).
    """

    previous_mean: float | None
    change_pct: float | None
    weeks: int  # how many earlier weeks the mean covers

    @property
    def rose_from_zero(self) -> bool:
        return self.previous_mean == 0 and self.change_pct is None


NO_TREND = Trend(previous_mean=None, change_pct=None, weeks=0)


def trend(current: float | None, previous: Sequence[float | None]) -> Trend:
    """``current`` against the mean of ``previous`` (the earlier weeks, most recent first; None: not known).

    Only the first ``TREND_WEEKS`` entries count, and of those the ones known: fewer when history is shorter.
    """
    known = [value for value in previous[:TREND_WEEKS] if value is not None]
    if current is None or not known:
        return NO_TREND
    mean = statistics.fmean(known)
    if mean == 0:
        return Trend(previous_mean=0.0, change_pct=0.0 if current == 0 else None, weeks=len(known))
    change = (current - mean) / mean * 100
    # A mean that is all but zero gives no meaningful percentage either (it would overflow).
    return Trend(previous_mean=mean, change_pct=change if math.isfinite(change) else None, weeks=len(known))


def history_by_week(rows: Iterable[WeekFigures]) -> dict[IsoWeek, WeekFigures]:
    """Kept weeks keyed by ISO week."""
    return {row.week: row for row in rows}


def previous_values(
    week: IsoWeek,
    kept: dict[IsoWeek, WeekFigures],
    *,
    figure: Literal["velocity", "incidents_per_feature"],
    unit: Unit | None = None,
) -> list[float | None]:
    """The figure in each of the ``TREND_WEEKS`` calendar weeks before ``week`` (None where not kept).

    With ``unit``, a week measured in the other unit (the board started or stopped estimating) counts as not
    kept: points and issue counts do not average together.
    """
    values: list[float | None] = []
    for n in range(1, TREND_WEEKS + 1):
        row = kept.get(week.shifted(-n))
        usable = row is not None and (unit is None or row.unit == unit)
        values.append(getattr(row, figure) if usable else None)
    return values
