"""One team's digest of one week: the kept figures, their trends, the other sections, verdict, flags, gaps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from govbot.domain.digest.figures import NO_TREND, Trend, WeekFigures, history_by_week, previous_values, trend
from govbot.domain.digest.sections import People, PeopleState, Refactoring, Tracks
from govbot.domain.digest.verdict import Flag, flags, verdict
from govbot.domain.digest.weeks import IsoWeek, WeekSpan

CHART_WEEKS = 12

# What `missing` names when a source cannot be read: the JSON fields left empty because of it.
TRACKER_FIGURES: tuple[str, ...] = (
    "velocity",
    "features_shipped",
    "incidents",
    "incidents_per_feature",
    "rollbacks",
    "review_queue",
)


@dataclass(frozen=True, slots=True)
class ChartWeek:
    """One bar and one point of the 12-week chart (None: the week is not kept, or no feature shipped)."""

    week: IsoWeek
    velocity: float | None
    incidents_per_feature: float | None


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything the post, `digest show` and the JSON export say about one team's week."""

    team: str
    span: WeekSpan
    figures: WeekFigures | None  # None: Jira could not be read (and the week was not kept before)
    velocity_trend: Trend
    quality_trend: Trend  # incidents per feature against its earlier weeks
    people: People | None
    people_state: PeopleState
    tracks: Tracks | None
    refactoring: Refactoring | None
    verdict: str
    flags: tuple[Flag, ...]
    missing: tuple[str, ...]
    chart: tuple[ChartWeek, ...]

    @property
    def week(self) -> IsoWeek:
        return self.span.week


def chart_weeks(week: IsoWeek, kept: dict[IsoWeek, WeekFigures], *, count: int = CHART_WEEKS) -> list[ChartWeek]:
    """The ``count`` weeks ending with ``week``, oldest first; weeks not kept have no values."""
    out = []
    for n in range(count - 1, -1, -1):
        label = week.shifted(-n)
        row = kept.get(label)
        out.append(
            ChartWeek(
                label,
                row.velocity if row is not None else None,
                row.incidents_per_feature if row is not None else None,
            )
        )
    return out


def compose(
    *,
    team: str,
    span: WeekSpan,
    figures: WeekFigures | None,
    history: Iterable[WeekFigures],
    people: People | None,
    people_state: PeopleState,
    tracks: Tracks | None,
    refactoring: Refactoring | None,
    missing: Sequence[str] = (),
) -> Digest:
    """Put the week together: trends from the kept earlier weeks, then the verdict and the flags.

    ``history`` holds the kept weeks (any order, may include this one); ``missing`` names what could not be
    read. A people section is released only in the "shown" state.
    """
    kept = history_by_week(history)
    if figures is not None:
        kept[span.week] = figures
        velocity_trend = trend(
            figures.velocity, previous_values(span.week, kept, figure="velocity", unit=figures.unit)
        )
        quality_trend = trend(
            figures.incidents_per_feature, previous_values(span.week, kept, figure="incidents_per_feature")
        )
    else:
        velocity_trend = quality_trend = NO_TREND
    shown = people if people_state == "shown" else None
    gaps = list(dict.fromkeys(missing))
    if people_state == "unreadable" and "people" not in gaps:
        gaps.append("people")
    return Digest(
        team=team,
        span=span,
        figures=figures,
        velocity_trend=velocity_trend,
        quality_trend=quality_trend,
        people=shown,
        people_state=people_state,
        tracks=tracks,
        refactoring=refactoring,
        verdict=verdict(figures, velocity_trend, quality_trend),
        flags=tuple(flags(figures=figures, people=shown, tracks=tracks)),
        missing=tuple(gaps),
        chart=tuple(chart_weeks(span.week, kept)),
    )
