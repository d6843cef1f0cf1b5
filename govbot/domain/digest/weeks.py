"""ISO weeks in a team's timezone: the digest covers Monday 00:00 to the next Monday 00:00, local time.

A week that contains a DST change is 167 or 169 hours long; its bounds are still local midnights. Bounds are
built from the calendar (never by adding 7 × 24 hours to an instant) and compared as instants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")


class WeekError(ValueError):
    """A week label govbot cannot read; the message says what a valid one looks like."""


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """One ISO week (year and number), independent of any timezone."""

    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise WeekError(
                f"{self.year}-W{self.week:02d} is not an ISO week: weeks run from W01 to W52 (W53 in some years)"
            ) from None

    @property
    def label(self) -> str:
        """The ISO label, e.g. "2026-W47"."""
        return f"{self.year:04d}-W{self.week:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (earlier when negative)."""
        return IsoWeek.containing(self.monday + timedelta(weeks=weeks))

    @staticmethod
    def containing(day: date) -> IsoWeek:
        """The ISO week a calendar day belongs to."""
        year, week, _ = day.isocalendar()
        return IsoWeek(year, week)

    @staticmethod
    def parse(text: str) -> IsoWeek:
        """Read "YYYY-Www" (e.g. "2026-W47")."""
        match = WEEK_PATTERN.fullmatch(text.strip())
        if match is None:
            raise WeekError(f"{text!r} is not a week: write it as YYYY-Www, e.g. 2026-W47")
        return IsoWeek(int(match[1]), int(match[2]))


@dataclass(frozen=True, slots=True)
class WeekSpan:
    """An ISO week and its bounds in the team's timezone: [start, end), both local midnights on Mondays."""

    week: IsoWeek
    start: datetime
    end: datetime

    def contains(self, moment: datetime | None) -> bool:
        """Whether an aware instant falls in [start, end)."""
        if moment is None:
            return False
        # Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock, wrong in a repeated hour.
        at = moment.astimezone(UTC)
        return self.start.astimezone(UTC) <= at < self.end.astimezone(UTC)

    @property
    def hours(self) -> float:
        """The week's length in real hours (167 or 169 across a DST change)."""
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds() / 3600


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of ``day`` in ``tz``; where midnight does not exist (a DST jump at 00:00), the first instant after."""
    # fold=0 reads a skipped local time with the offset from before the jump; the round trip through UTC then
    # lands on the first real instant after it (e.g. 01:00 where clocks jump from 00:00 to 01:00).
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def span(week: IsoWeek, tz: ZoneInfo) -> WeekSpan:
    """The week's bounds in ``tz``."""
    start = local_midnight(week.monday, tz)
    end = local_midnight(week.monday + timedelta(days=7), tz)
    return WeekSpan(week=week, start=start, end=end)


def last_full_week(now: datetime, tz: ZoneInfo) -> IsoWeek:
    """The last ISO week that has fully ended at ``now`` in ``tz`` (at Monday 00:00 sharp, the week just ended)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return IsoWeek.containing(now.astimezone(tz).date()).shifted(-1)


def weeks_before(week: IsoWeek, count: int) -> list[IsoWeek]:
    """The ``count`` weeks before ``week``, most recent first."""
    return [week.shifted(-n) for n in range(1, count + 1)]
