"""Recurring schedules (RFC 5545 RRULEs, python-dateutil) evaluated in a team's timezone.

Pure: every function takes ``now``; nothing reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

ALLOWED_FREQUENCIES = {DAILY, WEEKLY, MONTHLY, YEARLY}
# A DST change shortens one day to 23 hours; anything closer than that fires more than daily.
MIN_GAP = timedelta(hours=23)


class ScheduleError(ValueError):
    """An RRULE govbot cannot use; the message says what is valid."""


def zone(name: str) -> ZoneInfo:
    """The IANA timezone, or a ScheduleError that says what a valid name looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"{name!r} is not an IANA timezone name such as Europe/Berlin") from None


def parse_rule(text: str, *, tz: str, dtstart: datetime) -> rrule:
    """Parse an RRULE anchored at ``dtstart`` (aware) and interpreted in ``tz``."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "DTSTART" in body.upper():
        raise ScheduleError("must be one RRULE line such as FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0")
    local_start = dtstart.astimezone(zone(tz)).replace(second=0, microsecond=0)
    try:
        rule = rrulestr(body, dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise ScheduleError("is not a valid RRULE: write it like FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0") from exc
    if not isinstance(rule, rrule):
        raise ScheduleError("must be a single RRULE, not a rule set")
    # dateutil exposes no public accessor for the frequency, and its stubs omit the private one.
    upper = body.upper()
    if "COUNT=" in upper or "UNTIL=" in upper:
        # A schedule that ends would one day stop surveys or digests without anyone noticing.
        raise ScheduleError("must not end: remove COUNT and UNTIL (pause a team by removing it instead)")
    if rule._freq not in ALLOWED_FREQUENCIES:  # type: ignore[attr-defined]  # noqa: SLF001
        raise ScheduleError("fires more than once a day: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    return rule


def validate_rule(text: str, *, tz: str, now: datetime) -> str:
    """Check that the rule parses, fires again, and never fires twice within a day; return it normalised."""
    rule = parse_rule(text, tz=tz, dtstart=now)
    upcoming = []
    for occurrence in rule:
        upcoming.append(occurrence)
        if len(upcoming) >= 30:
            break
    if not upcoming:
        raise ScheduleError("never fires after today: remove COUNT/UNTIL or move them later")
    for earlier, later in zip(upcoming, upcoming[1:], strict=False):
        if later - earlier < MIN_GAP:
            raise ScheduleError("fires more than once a day: keep one BYHOUR and one BYMINUTE value")
    return text.strip().removeprefix("RRULE:")


# dateutil compares occurrences with the same tzinfo by wall-clock time, which is wrong in the hour a clock goes
# back (02:30 CEST and 02:30 CET compare equal). Every comparison below is therefore made on UTC instants, starting
# the search a day early and walking a few occurrences: rules fire at most daily, so a handful always suffices.
_SEARCH_SLACK = timedelta(days=1)
_SEARCH_STEPS = 8


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def next_after(text: str, *, tz: str, after: datetime, anchor: datetime | None = None) -> datetime | None:
    """The first occurrence strictly after the instant ``after`` (returned in the team timezone), or None.

    ``anchor`` fixes the series start so that INTERVAL=2 keeps the same fortnight across restarts; without it the
    series starts at ``after``.
    """
    rule = parse_rule(text, tz=tz, dtstart=series_start(anchor, after) if anchor else after)
    local = after.astimezone(zone(tz))
    for occurrence in rule.xafter(local - _SEARCH_SLACK, count=_SEARCH_STEPS, inc=False):
        if _utc(occurrence) > _utc(after):
            return occurrence
    return None


def latest_at_or_before(text: str, *, tz: str, now: datetime, anchor: datetime) -> datetime | None:
    """The most recent occurrence at or before the instant ``now`` (for catching up after downtime), or None."""
    rule = parse_rule(text, tz=tz, dtstart=series_start(anchor, now))
    candidate = rule.before(now.astimezone(zone(tz)) + _SEARCH_SLACK, inc=True)
    for _ in range(_SEARCH_STEPS):
        if candidate is None or _utc(candidate) <= _utc(now):
            return candidate
        candidate = rule.before(candidate, inc=False)
    return None


# Every team's series is counted from this instant (a Thursday), so INTERVAL=2 picks the same fortnight in every
# process and after every restart, whatever day the team was created.
RULE_ANCHOR = datetime(2026, 1, 1)


# Before the anchor a series is counted from 112 years earlier: 40,908 days, exactly 5,844 weeks and 1,344 months,
# so every INTERVAL of 1, 2, 3, 4, 6 or 12 weeks (or days, or months, and 8 months) keeps the same cycle on both
# sides of the anchor. Without it a schedule would never fire at a date before 2026 (a clock set back, a replay).
ANCHOR_STEP_YEARS = 112


def series_start(anchor: datetime, moment: datetime) -> datetime:
    """The anchor a series is counted from to look around ``moment``: ``anchor``, or 112 years before it (as often
    as needed) when ``moment`` is earlier."""
    start = anchor
    while moment < start:
        start = start.replace(year=start.year - ANCHOR_STEP_YEARS)
    return start


def anchor_in(tz: str) -> datetime:
    """The series anchor, as local midnight in the team timezone."""
    return RULE_ANCHOR.replace(tzinfo=zone(tz))
