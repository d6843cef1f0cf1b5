"""Digest verdict, flags, sections, composition and the JSON object (SPEC §7)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.domain.cadence import Override
from govbot.domain.digest import (
    IsoWeek,
    People,
    ReviewQueue,
    Tracks,
    Trend,
    WeekFigures,
    compose,
    direction,
    flags,
    refactoring,
    span,
    to_json,
    trend,
    verdict,
)

BERLIN = ZoneInfo("Europe/Berlin")
W47 = IsoWeek(2026, 47)


def week(velocity: float, features: int, incident_count: int, *, of: IsoWeek = W47, **kwargs) -> WeekFigures:
    return WeekFigures(of, kwargs.pop("unit", "points"), velocity, features, incident_count, 0, **kwargs)


def history(velocity: float, features: int, incident_count: int, weeks: int = 6) -> list[WeekFigures]:
    return [week(velocity, features, incident_count, of=W47.shifted(-n)) for n in range(1, weeks + 1)]


def sentence(current: WeekFigures, earlier: list[WeekFigures]) -> str:
    digest = compose(
        team="payments",
        span=span(W47, BERLIN),
        figures=current,
        history=earlier,
        people=None,
        people_state="no_survey",
        tracks=None,
        refactoring=None,
    )
    return digest.verdict


# The earlier weeks: velocity 50 points, 10 features and 5 incidents each (0.5 incidents per feature).
@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (week(59, 10, 7), "Velocity +18% but incidents per feature +40%: quality is paying for speed"),
        (week(60, 10, 3), "Velocity +20% and incidents per feature -40%: faster and safer"),
        (week(60, 10, 5), "Velocity +20% with incidents per feature steady (+0%): speed without a quality cost so far"),
        (week(52, 10, 7), "Velocity steady (+4%) but incidents per feature +40%: quality is slipping"),
        (week(50, 10, 2), "Velocity steady (+0%) and incidents per feature -60%: quality is improving"),
        (week(54, 10, 5), "Velocity steady (+8%) and incidents per feature steady (+0%): a steady week"),
        (week(40, 10, 8), "Velocity -20% and incidents per feature +60%: slower and less stable, look at what is breaking"),
        (week(40, 10, 4), "Velocity -20% and incidents per feature -20%: both down, speed may be traded for stability"),
        (week(45, 10, 5), "Velocity -10% with incidents per feature steady (+0%): a slower week at the same quality"),
        (
            week(60, 0, 2),
            "Velocity +20%; no feature shipped, so incidents per feature is n/a: no quality trend to weigh it against",
        ),
    ],
)
def test_verdict_rules(current: WeekFigures, expected: str) -> None:
    assert sentence(current, history(50, 10, 5)) == expected


def test_spec_example_sentence() -> None:
    # SPEC: velocity rises while incidents per feature rise 10%+ -> quality is paying for speed.
    assert sentence(week(59, 10, 7), history(50, 10, 5)) == (
        "Velocity +18% but incidents per feature +40%: quality is paying for speed"
    )


def test_ten_percent_exactly_is_a_move_and_just_under_is_steady() -> None:
    assert direction(110.0, trend(110.0, [100.0])) == "up"
    assert direction(90.0, trend(90.0, [100.0])) == "down"
    assert direction(109.9, trend(109.9, [100.0])) == "steady"


def test_first_week_on_record_has_no_trend() -> None:
    assert sentence(week(34, 4, 2), []) == "First week on record: velocity 34 points, incidents per feature 0.5; no trend yet"
    assert sentence(week(7, 0, 0, unit="issues"), []) == (
        "First week on record: velocity 7 issues, no feature shipped; no trend yet"
    )


def test_incidents_rising_from_zero_are_a_rise() -> None:
    assert sentence(week(50, 10, 2), history(50, 10, 0)) == (
        "Velocity steady (+0%) but incidents per feature up from 0 to 0.2: quality is slipping"
    )


def test_without_jira_the_verdict_says_so() -> None:
    assert verdict(None, Trend(None, None, 0), Trend(None, None, 0)).startswith("Jira could not be read")


@settings(max_examples=300, deadline=None)
@given(
    velocity=st.floats(0, 200, allow_nan=False),
    features=st.integers(0, 20),
    incident_count=st.integers(0, 20),
    earlier=st.lists(st.tuples(st.floats(0, 200, allow_nan=False), st.integers(0, 20), st.integers(0, 20)), max_size=8),
)
def test_the_verdict_is_always_one_sentence(velocity, features, incident_count, earlier) -> None:
    rows = [week(v, f, i, of=W47.shifted(-n)) for n, (v, f, i) in enumerate(earlier, start=1)]
    text = sentence(week(velocity, features, incident_count), rows)
    assert text and "\n" not in text and "None" not in text and "nan" not in text.lower()
    assert text[0].isupper()


# --- flags


def test_flags_burnout_rise_high_stale_review_and_zone1() -> None:
    figures = week(50, 10, 5, review_queue=ReviewQueue(3, 20.0, 72.5))
    people = People(burnout_index=62.5, learning_index=50.0, response_rate=80.0, previous_burnout_index=52.5)
    tracks = Tracks(human_first_pct=55.0, target_pct=60, open_violations={"R3": 2, "R2": 1})
    kinds = [f.kind for f in flags(figures=figures, people=people, tracks=tracks)]
    assert kinds == ["burnout_rise", "burnout_high", "review_stale", "zone1_violations"]


@pytest.mark.parametrize(
    ("burnout", "previous", "oldest", "r3", "expected"),
    [
        (60.0, 50.1, 72.0, 0, []),  # 9.9 points, exactly 60, exactly 72 h, no R3: nothing
        (60.2, 50.2, None, 0, ["burnout_rise", "burnout_high"]),  # +10.0 despite float noise
        (40.0, None, 80.0, 0, ["review_stale"]),
        (None, None, None, 1, ["zone1_violations"]),
    ],
)
def test_flag_thresholds(burnout, previous, oldest, r3, expected) -> None:
    figures = week(50, 10, 5, review_queue=ReviewQueue(1, oldest, oldest) if oldest else None)
    people = People(burnout, 50.0, 80.0, previous) if burnout is not None else None
    tracks = Tracks(60.0, 60, open_violations={"R3": r3})
    assert [f.kind for f in flags(figures=figures, people=people, tracks=tracks)] == expected


def test_hidden_people_raise_no_flag_and_show_nothing() -> None:
    people = People(burnout_index=90.0, learning_index=10.0, response_rate=20.0, previous_burnout_index=10.0)
    digest = compose(
        team="payments", span=span(W47, BERLIN), figures=week(50, 10, 5), history=[], people=people,
        people_state="below_threshold", tracks=None, refactoring=None,
    )
    assert digest.people is None and digest.flags == ()
    assert to_json(digest)["people"] is None


# --- sections


@pytest.mark.parametrize(
    ("number", "every", "overrides", "is_refactor", "until"),
    [
        (3, 3, [], True, 0),
        (4, 3, [], False, 2),
        (5, 3, [], False, 1),
        (5, 3, [Override(6, "postpone", "release")], False, 2),
        (5, 3, [Override(6, "skip", "release")], False, 4),
        (7, 3, [Override(6, "postpone", "release")], True, 0),
    ],
)
def test_refactoring_section(number, every, overrides, is_refactor, until) -> None:
    section = refactoring(sprint_number=number, every=every, overrides=overrides, capacity_pct=50, refactor_share_pct=40.0)
    assert (section.is_refactor_sprint, section.sprints_until_next) == (is_refactor, until)
    assert section.refactor_share_pct == (40.0 if is_refactor else None)
    assert section.below_capacity == is_refactor


def test_tracks_list_every_rule() -> None:
    tracks = Tracks(human_first_pct=45.0, target_pct=60, tolerance_pct=10, open_violations={"R2": 3})
    assert tracks.violations_by_rule() == {"R1": 0, "R2": 3, "R3": 0, "R4": 0, "R5": 0, "R6": 0}
    assert tracks.off_target


# --- composition and JSON

JSON_FIELDS = {
    "team", "week", "start", "end", "velocity", "features_shipped", "incidents", "incidents_per_feature",
    "rollbacks", "review_queue", "people", "tracks", "refactoring", "verdict", "flags", "missing",
}


def full_digest(**overrides):
    arguments = dict(
        team="payments",
        span=span(W47, BERLIN),
        figures=week(59, 10, 7, review_queue=ReviewQueue(4, 30.25, 80.0)),
        history=history(50, 10, 5),
        people=People(burnout_index=45.0, learning_index=62.5, response_rate=75.0, previous_burnout_index=40.0),
        people_state="shown",
        tracks=Tracks(human_first_pct=55.5, target_pct=60, open_violations={"R3": 1}),
        refactoring=refactoring(sprint_number=4, every=3, overrides=[], capacity_pct=50),
    )
    arguments.update(overrides)
    return compose(**arguments)


def test_json_object_has_the_documented_fields_and_shapes() -> None:
    data = to_json(full_digest())
    assert set(data) == JSON_FIELDS
    assert data["week"] == "2026-W47"
    assert data["start"] == "2026-11-16T00:00:00+01:00" and data["end"] == "2026-11-23T00:00:00+01:00"
    assert datetime.fromisoformat(data["start"]).utcoffset() is not None
    assert data["velocity"] == {"value": 59, "unit": "points", "previous_mean": 50.0, "change_pct": 18.0}
    assert (data["features_shipped"], data["incidents"], data["incidents_per_feature"], data["rollbacks"]) == (
        10, 7, 0.7, 0,
    )
    assert data["review_queue"] == {"count": 4, "median_age_hours": 30.2, "oldest_age_hours": 80.0}
    assert data["people"] == {"burnout_index": 45.0, "learning_index": 62.5, "response_rate": 75.0}
    assert data["tracks"]["human_first_pct"] == 55.5 and data["tracks"]["target_pct"] == 60
    assert data["tracks"]["open_violations"]["R3"] == 1
    assert data["refactoring"]["sprints_until_next"] == 2
    assert data["verdict"] == "Velocity +18% but incidents per feature +40%: quality is paying for speed"
    assert [f["kind"] for f in data["flags"]] == ["review_stale", "zone1_violations"]
    assert data["missing"] == []
    json.dumps(data)  # serialisable as is


def test_json_incidents_per_feature_is_null_without_a_feature() -> None:
    data = to_json(full_digest(figures=week(59, 0, 3)))
    assert data["incidents_per_feature"] is None and data["features_shipped"] == 0


def test_json_when_jira_and_the_survey_store_cannot_be_read() -> None:
    data = to_json(
        full_digest(figures=None, people=None, people_state="unreadable", missing=["velocity", "features_shipped"])
    )
    assert data["velocity"] is None and data["incidents"] is None and data["review_queue"] is None
    assert data["missing"] == ["velocity", "features_shipped", "people"]
    assert data["verdict"].startswith("Jira could not be read")
    assert data["tracks"] is not None  # what could be read is still there


def test_chart_covers_twelve_weeks_oldest_first() -> None:
    digest = full_digest(history=history(50, 10, 5, weeks=3))
    assert len(digest.chart) == 12
    assert digest.chart[-1].week == W47 and digest.chart[0].week == W47.shifted(-11)
    assert [c.velocity for c in digest.chart[-4:]] == [50, 50, 50, 59]
    assert digest.chart[0].velocity is None
