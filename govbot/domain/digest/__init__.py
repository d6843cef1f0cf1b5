"""The weekly velocity-versus-quality digest (SPEC §7), pure: weeks, figures, sections, verdict, JSON.

Split by concern; this package re-exports the names the digest feature uses.
"""

from govbot.domain.digest.compose import CHART_WEEKS, TRACKER_FIGURES, ChartWeek, Digest, chart_weeks, compose
from govbot.domain.digest.export import to_json
from govbot.domain.digest.figures import (
    TREND_WEEKS,
    CountingRules,
    ReviewQueue,
    Trend,
    WeekFigures,
    features_shipped,
    incidents,
    incidents_per_feature,
    is_incident,
    measure_week,
    review_queue,
    rollbacks,
    trend,
    velocity,
)
from govbot.domain.digest.sections import People, PeopleState, Refactoring, Tracks, refactoring
from govbot.domain.digest.verdict import REVIEW_STALE_HOURS, SIGNIFICANT_PCT, Flag, direction, flags, verdict
from govbot.domain.digest.weeks import IsoWeek, WeekError, WeekSpan, last_full_week, span, weeks_before

__all__ = [
    "CHART_WEEKS",
    "REVIEW_STALE_HOURS",
    "SIGNIFICANT_PCT",
    "TRACKER_FIGURES",
    "TREND_WEEKS",
    "ChartWeek",
    "CountingRules",
    "Digest",
    "Flag",
    "IsoWeek",
    "People",
    "PeopleState",
    "Refactoring",
    "ReviewQueue",
    "Tracks",
    "Trend",
    "WeekError",
    "WeekFigures",
    "WeekSpan",
    "chart_weeks",
    "compose",
    "direction",
    "features_shipped",
    "flags",
    "incidents",
    "incidents_per_feature",
    "is_incident",
    "last_full_week",
    "measure_week",
    "refactoring",
    "review_queue",
    "rollbacks",
    "span",
    "to_json",
    "trend",
    "velocity",
    "verdict",
    "weeks_before",
]
