"""Digest weeks: ISO labels, last full week, and bounds as local midnights across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.domain.digest import IsoWeek, WeekError, last_full_week, span, weeks_before
from govbot.domain.digest.weeks import local_midnight

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
ZONES = [BERLIN, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata"), SANTIAGO]


@pytest.mark.parametrize(
    ("text", "year", "week"),
    [("2026-W47", 2026, 47), ("2020-W53", 2020, 53), (" 2026-W01 ", 2026, 1)],
)
def test_parse_reads_iso_labels(text: str, year: int, week: int) -> None:
    parsed = IsoWeek.parse(text)
    assert (parsed.year, parsed.week) == (year, week)
    assert parsed.label == text.strip()


@pytest.mark.parametrize("text", ["2026-47", "2026-W5", "W47", "2026-W00", "2025-W53", "2026-w47", ""])
def test_parse_refuses_what_is_not_a_week_with_a_sentence(text: str) -> None:
    with pytest.raises(WeekError, match=r"(YYYY-Www|not an ISO week)"):
        IsoWeek.parse(text)


def test_shifted_crosses_year_ends() -> None:
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)
    assert IsoWeek(2020, 53).shifted(1) == IsoWeek(2021, 1)
    assert weeks_before(IsoWeek(2026, 2), 3) == [IsoWeek(2026, 1), IsoWeek(2025, 52), IsoWeek(2025, 51)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 2026-11-23 09:00 Berlin: the week just ended is W47 (Nov 16–23).
        (datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN), IsoWeek(2026, 47)),
        # Monday 00:00 sharp: W47 has fully ended.
        (datetime(2026, 11, 23, 0, 0, tzinfo=BERLIN), IsoWeek(2026, 47)),
        # One minute before: W47 is still running, W46 is the last full week.
        (datetime(2026, 11, 22, 23, 59, tzinfo=BERLIN), IsoWeek(2026, 46)),
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin.
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), IsoWeek(2026, 47)),
        # Year boundary: Monday 2027-01-04 is in 2027-W01, so the last full week is 2026-W53.
        (datetime(2027, 1, 4, 9, 0, tzinfo=BERLIN), IsoWeek(2026, 53)),
    ],
)
def test_last_full_week(now: datetime, expected: IsoWeek) -> None:
    assert last_full_week(now, BERLIN) == expected


def test_last_full_week_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        last_full_week(datetime(2026, 11, 23, 9, 0), BERLIN)


@pytest.mark.parametrize(
    ("zone", "week", "hours"),
    [
        (BERLIN, IsoWeek(2026, 13), 167),  # clocks go forward on Sunday 29 March 2026
        (BERLIN, IsoWeek(2026, 43), 169),  # and back on Sunday 25 October 2026
        (BERLIN, IsoWeek(2026, 47), 168),
        (NEW_YORK, IsoWeek(2026, 10), 167),  # Sunday 8 March 2026
        (NEW_YORK, IsoWeek(2026, 44), 169),  # Sunday 1 November 2026
    ],
)
def test_weeks_holding_a_dst_change_are_167_or_169_hours(zone: ZoneInfo, week: IsoWeek, hours: int) -> None:
    bounds = span(week, zone)
    assert (bounds.start.hour, bounds.start.minute, bounds.end.hour) == (0, 0, 0)
    assert bounds.start.weekday() == 0 and bounds.end.weekday() == 0
    assert bounds.hours == hours


def test_dst_week_cut_is_on_local_midnights() -> None:
    week = span(IsoWeek(2026, 43), BERLIN)  # Oct 19–26, 2026, clocks back on the 25th
    assert week.contains(datetime(2026, 10, 25, 23, 59, 59, tzinfo=BERLIN))
    assert not week.contains(datetime(2026, 10, 26, 0, 0, tzinfo=BERLIN))
    assert week.contains(datetime(2026, 10, 19, 0, 0, tzinfo=BERLIN))
    assert not week.contains(datetime(2026, 10, 18, 23, 59, 59, tzinfo=BERLIN))
    # Both 02:30s of the repeated hour are in the week.
    assert week.contains(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0))
    assert week.contains(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1))
    assert week.start.isoformat() == "2026-10-19T00:00:00+02:00"
    assert week.end.isoformat() == "2026-10-26T00:00:00+01:00"


def test_a_skipped_midnight_starts_the_day_at_the_first_real_instant() -> None:
    # Chile jumps from 00:00 to 01:00 (on Sunday 6 September 2026): local midnight does not exist that day.
    start = local_midnight(date(2026, 9, 6), SANTIAGO)
    assert (start.hour, start.minute) == (1, 0)
    assert start.astimezone(UTC) == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_last_full_week_has_ended_and_the_next_has_not(moment: datetime, zone: ZoneInfo) -> None:
    now = moment.replace(tzinfo=UTC)
    week = last_full_week(now, zone)
    assert span(week, zone).end.astimezone(UTC) <= now
    assert span(week.shifted(1), zone).end.astimezone(UTC) > now


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_consecutive_weeks_tile_time_without_gap_or_overlap(day: date, zone: ZoneInfo) -> None:
    week = IsoWeek.containing(day)
    this, following = span(week, zone), span(week.shifted(1), zone)
    assert this.end == following.start
    assert 166 <= this.hours <= 170
    assert IsoWeek.parse(week.label) == week
    assert this.contains(this.start) and not this.contains(this.end)
    assert this.contains(this.end - timedelta(microseconds=1))
