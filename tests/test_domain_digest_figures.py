"""Digest figures (SPEC §7): velocity, features, incidents, incidents per feature, rollbacks, review queue, trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.domain.digest import (
    CountingRules,
    IsoWeek,
    WeekFigures,
    features_shipped,
    incidents,
    incidents_per_feature,
    measure_week,
    review_queue,
    rollbacks,
    span,
    trend,
    velocity,
)
from govbot.domain.digest.figures import previous_values
from govbot.domain.work import Issue

BERLIN = ZoneInfo("Europe/Berlin")
W47 = span(IsoWeek(2026, 47), BERLIN)  # Mon 16 Nov 2026 00:00 CET .. Mon 23 Nov 00:00 CET
W43 = span(IsoWeek(2026, 43), BERLIN)  # the autumn DST week: 169 hours
RULES = CountingRules(by_points=True)


def at(*args: int, zone: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def issue(key: str, **kwargs) -> Issue:
    kwargs.setdefault("issue_type", "Story")
    kwargs.setdefault("status", "Done")
    return Issue(key=key, **kwargs)


def test_velocity_sums_points_resolved_inside_the_week_only() -> None:
    issues = [
        issue("P-1", points=3, resolved=at(2026, 11, 16, 0, 0)),  # first instant: in
        issue("P-2", points=5, resolved=at(2026, 11, 22, 23, 59)),  # Sunday night: in
        issue("P-3", points=8, resolved=at(2026, 11, 23, 0, 0)),  # next Monday 00:00: out
        issue("P-4", points=2, resolved=at(2026, 11, 15, 23, 59)),  # Sunday before: out
        issue("P-5", points=None, resolved=at(2026, 11, 18, 12, 0)),  # unestimated: weighs 0
        issue("P-6", points=1, resolved=None),  # not resolved
        # 23:30 UTC on Sunday 22 Nov is already Monday 00:30 in Berlin: out.
        issue("P-7", points=13, resolved=datetime(2026, 11, 22, 23, 30, tzinfo=UTC)),
        # 23:30 UTC on Sunday 15 Nov is Monday 00:30 in Berlin: in.
        issue("P-8", points=1, resolved=datetime(2026, 11, 15, 23, 30, tzinfo=UTC)),
    ]
    assert velocity(issues, W47, by_points=True) == 9.0
    assert velocity(issues, W47, by_points=False) == 4.0  # P-1, P-2, P-5, P-8


def test_velocity_counts_an_issue_once_when_handed_in_twice() -> None:
    one = issue("P-1", points=3, resolved=at(2026, 11, 17, 10, 0))
    assert velocity([one, one], W47, by_points=True) == 3.0


def test_velocity_in_the_dst_week_includes_both_repeated_hours() -> None:
    issues = [
        issue("P-1", points=1, resolved=at(2026, 10, 25, 2, 30, fold=0)),
        issue("P-2", points=2, resolved=at(2026, 10, 25, 2, 30, fold=1)),
        issue("P-3", points=4, resolved=at(2026, 10, 25, 23, 59)),
        issue("P-4", points=8, resolved=at(2026, 10, 26, 0, 0)),
    ]
    assert velocity(issues, W43, by_points=True) == 7.0


def test_features_shipped_are_resolved_feature_types_case_insensitively() -> None:
    issues = [
        issue("P-1", issue_type="Story", resolved=at(2026, 11, 17, 9)),
        issue("P-2", issue_type="story", resolved=at(2026, 11, 17, 9)),
        issue("P-3", issue_type="Bug", resolved=at(2026, 11, 17, 9)),
        issue("P-4", issue_type="Feature", resolved=at(2026, 11, 17, 9)),
        issue("P-5", issue_type="Story", resolved=at(2026, 11, 24, 9)),
    ]
    assert features_shipped(issues, W47, feature_types=["Story"]) == 2
    assert features_shipped(issues, W47, feature_types=["Story", "Feature"]) == 3


def test_incidents_are_created_in_the_week_by_type_or_label() -> None:
    rules = CountingRules(by_points=True, incident_types=("Incident", "Outage"), incident_label="Incident")
    issues = [
        issue("P-1", issue_type="Incident", created=at(2026, 11, 16, 8)),
        issue("P-2", issue_type="Bug", labels=("incident",), created=at(2026, 11, 17, 8)),  # label, any case
        issue("P-3", issue_type="outage", created=at(2026, 11, 18, 8)),
        issue("P-4", issue_type="Incident", labels=("incident",), created=at(2026, 11, 18, 8)),  # counted once
        issue("P-5", issue_type="Incident", created=at(2026, 11, 23, 0)),  # next week
        issue("P-6", issue_type="Bug", created=at(2026, 11, 18, 8)),  # not an incident
        issue("P-7", issue_type="Incident", created=None),
    ]
    assert incidents(issues, W47, rules=rules) == 4


def test_rollbacks_are_created_in_the_week_with_the_label() -> None:
    issues = [
        issue("P-1", labels=("rollback",), created=at(2026, 11, 20, 8)),
        issue("P-2", labels=("ROLLBACK", "incident"), created=at(2026, 11, 21, 8)),
        issue("P-3", labels=("rollback",), created=at(2026, 11, 9, 8)),
        issue("P-4", labels=("rolled-back",), created=at(2026, 11, 20, 8)),
    ]
    assert rollbacks(issues, W47, rollback_label="rollback") == 2


@pytest.mark.parametrize(
    ("incident_count", "features", "expected"),
    [(0, 0, None), (3, 0, None), (0, 4, 0.0), (2, 4, 0.5), (3, 2, 1.5)],
)
def test_incidents_per_feature_is_none_without_a_feature(
    incident_count: int, features: int, expected: float | None
) -> None:
    assert incidents_per_feature(incident_count, features) == expected


def test_review_queue_ages_from_entering_the_status() -> None:
    now = at(2026, 11, 23, 9, 0)
    issues = [
        issue("P-1", status="In Review", status_since=now - timedelta(hours=10)),
        issue("P-2", status="code review", status_since=now - timedelta(hours=30)),
        issue("P-3", status="In Review", status_since=now - timedelta(hours=100)),
        issue("P-4", status="In Progress", status_since=now - timedelta(hours=500)),  # not in the queue
        issue("P-5", status="In Review", status_since=None, created=now - timedelta(hours=2)),  # falls back
        issue("P-6", status="In Review", status_since=now + timedelta(hours=1)),  # entered after now
    ]
    queue = review_queue(issues, statuses=["In Review", "Code Review"], now=now)
    assert queue.count == 4
    assert queue.median_age_hours == pytest.approx(20.0)
    assert queue.oldest_age_hours == pytest.approx(100.0)


def test_review_queue_across_the_dst_change_counts_real_hours() -> None:
    now = at(2026, 10, 26, 9, 0)  # CET
    entered = at(2026, 10, 24, 9, 0)  # CEST: 49 real hours earlier, 48 by the wall clock
    queue = review_queue([issue("P-1", status="In Review", status_since=entered)], statuses=["In Review"], now=now)
    assert queue.oldest_age_hours == pytest.approx(49.0)


def test_an_empty_review_queue_has_no_ages() -> None:
    queue = review_queue([], statuses=["In Review"], now=at(2026, 11, 23, 9))
    assert (queue.count, queue.median_age_hours, queue.oldest_age_hours) == (0, None, None)


def test_measure_week_without_a_resolved_issue() -> None:
    figures = measure_week(W47, issues=[], rules=CountingRules(by_points=False))
    assert (figures.velocity, figures.unit, figures.features_shipped) == (0.0, "issues", 0)
    assert figures.incidents_per_feature is None


@pytest.mark.parametrize(
    ("current", "previous", "mean", "change"),
    [
        (12.0, [10.0] * 6, 10.0, 20.0),
        (12.0, [10.0, 14.0], 12.0, 0.0),  # shorter history: the mean of what there is
        (9.0, [None, 10.0, None, None, None, None], 10.0, -10.0),  # weeks not kept are skipped
        (30.0, [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 1000.0], 10.0, 200.0),  # only six weeks count
        (5.0, [], None, None),  # no history: no trend
        (5.0, [None] * 6, None, None),
        (0.0, [0.0, 0.0], 0.0, 0.0),
        (4.0, [0.0, 0.0], 0.0, None),  # a rise from zero has no percentage
        (None, [3.0], None, None),
    ],
)
def test_trend_against_the_mean_of_up_to_six_earlier_weeks(
    current: float | None, previous: list, mean: float | None, change: float | None
) -> None:
    found = trend(current, previous)
    assert found.previous_mean == (pytest.approx(mean) if mean is not None else None)
    assert found.change_pct == (pytest.approx(change) if change is not None else None)


def test_a_rise_from_zero_is_marked() -> None:
    assert trend(4.0, [0.0]).rose_from_zero
    assert not trend(0.0, [0.0]).rose_from_zero


def test_previous_values_skip_weeks_in_the_other_unit() -> None:
    week = IsoWeek(2026, 47)
    kept = {
        week.shifted(-1): WeekFigures(week.shifted(-1), "points", 20.0, 2, 1, 0),
        week.shifted(-2): WeekFigures(week.shifted(-2), "issues", 7.0, 2, 1, 0),
        week.shifted(-7): WeekFigures(week.shifted(-7), "points", 99.0, 2, 1, 0),  # beyond six weeks
    }
    assert previous_values(week, kept, figure="velocity", unit="points") == [20.0, None, None, None, None, None]
    assert previous_values(week, kept, figure="incidents_per_feature") == [0.5, 0.5, None, None, None, None]


# --- properties

ZONES = [BERLIN, ZoneInfo("America/New_York"), ZoneInfo("UTC"), ZoneInfo("Australia/Sydney")]
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda m: m.replace(tzinfo=UTC)
)
issues_strategy = st.lists(
    st.builds(
        lambda n, points, resolved, created, kind, labels: Issue(
            key=f"P-{n}",
            issue_type=kind,
            status="Done",
            points=points,
            resolved=resolved,
            created=created,
            labels=labels,
        ),
        st.integers(1, 10_000),
        st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 8.0])),
        st.one_of(st.none(), moments),
        st.one_of(st.none(), moments),
        st.sampled_from(["Story", "Bug", "Incident", "Task"]),
        st.lists(st.sampled_from(["incident", "rollback", "refactor"]), max_size=2, unique=True).map(tuple),
    ),
    max_size=40,
    unique_by=lambda i: i.key,
)


@settings(max_examples=150, deadline=None)
@given(issues=issues_strategy, zone=st.sampled_from(ZONES), first=st.integers(1, 50), weeks=st.integers(1, 6))
def test_weekly_figures_add_up_over_consecutive_weeks(issues, zone, first, weeks) -> None:
    # Every issue falls in exactly one week, so the figures of consecutive weeks add up to the whole span's.
    spans = [span(IsoWeek(2026, first).shifted(n), zone) for n in range(weeks)]
    start, end = spans[0].start.astimezone(UTC), spans[-1].end.astimezone(UTC)

    def inside(moment: datetime | None) -> bool:
        return moment is not None and start <= moment.astimezone(UTC) < end

    per_week = [measure_week(s, issues=issues, rules=RULES) for s in spans]
    assert sum(f.velocity for f in per_week) == pytest.approx(sum(i.points or 0 for i in issues if inside(i.resolved)))
    assert sum(f.features_shipped for f in per_week) == sum(
        1 for i in issues if inside(i.resolved) and i.issue_type == "Story"
    )
    assert sum(f.incidents for f in per_week) == sum(
        1 for i in issues if inside(i.created) and (i.issue_type == "Incident" or "incident" in i.labels)
    )
    assert sum(f.rollbacks for f in per_week) == sum(1 for i in issues if inside(i.created) and "rollback" in i.labels)
    for figures in per_week:
        assert (figures.incidents_per_feature is None) == (figures.features_shipped == 0)


@settings(max_examples=200, deadline=None)
@given(
    current=st.floats(0, 500, allow_nan=False),
    previous=st.lists(st.one_of(st.none(), st.floats(0, 500, allow_nan=False)), max_size=10),
)
def test_trend_sign_follows_the_figure_against_its_mean(current: float, previous: list) -> None:
    found = trend(current, previous)
    known = [v for v in previous[:6] if v is not None]
    assert found.weeks == len(known)
    if not known:
        assert found.previous_mean is None and found.change_pct is None
        return
    assert found.previous_mean == pytest.approx(sum(known) / len(known))
    if found.change_pct is not None:
        assert (found.change_pct > 0) == (current > found.previous_mean) or found.change_pct == pytest.approx(0, abs=1e-6)
