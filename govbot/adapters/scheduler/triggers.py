"""APScheduler triggers for team schedules.

APScheduler 3 has no RRULE trigger, and SPEC §2 schedules surveys and digests with RRULEs, so ``RRuleTrigger``
wraps python-dateutil. It keeps only strings (picklable for the SQLAlchemy job store) and evaluates the rule in
the team's timezone, so "Monday 09:00" stays 09:00 across DST changes.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from govbot.domain.schedule import next_after


class RRuleTrigger(BaseTrigger):
    """Fires at each occurrence of an RFC 5545 RRULE in a timezone, counted from a fixed anchor."""

    def __init__(self, rule: str, *, timezone: str, anchor: datetime):
        self.rule = rule
        self.timezone = timezone
        self.anchor = anchor

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = previous_fire_time if previous_fire_time and previous_fire_time > now else now
        return next_after(self.rule, tz=self.timezone, after=after, anchor=self.anchor)

    def __getstate__(self) -> dict[str, object]:
        return {"version": 1, "rule": self.rule, "timezone": self.timezone, "anchor": self.anchor}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.rule = str(state["rule"])
        self.timezone = str(state["timezone"])
        self.anchor = state["anchor"]  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"rrule[{self.rule} {self.timezone}]"

    def __repr__(self) -> str:
        return f"<RRuleTrigger (rule={self.rule!r}, timezone={self.timezone!r})>"


def daily_at(hour: int, minute: int = 0):  # type: ignore[no-untyped-def]
    """A schedule factory: every day at hour:minute in the team's timezone."""

    def _factory(team):  # type: ignore[no-untyped-def]
        return CronTrigger(hour=hour, minute=minute, timezone=team.spec.timezone)

    return _factory


def every_minutes(minutes: int):  # type: ignore[no-untyped-def]
    """A schedule factory: every N minutes (for jobs that act only when something is due)."""

    def _factory(team):  # type: ignore[no-untyped-def]
        return IntervalTrigger(minutes=minutes, timezone=team.spec.timezone)

    return _factory
