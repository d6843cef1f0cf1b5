"""The refactoring cadence: numbering, refactor selection with overrides, the sprint plan, the capacity check."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.domain.cadence import (
    AnchorNotFound,
    Override,
    SprintPlan,
    capacity_checkpoints,
    default_anchor,
    expected_goal,
    expected_name,
    is_below_capacity,
    is_refactor_sprint,
    iter_refactor_sprints,
    next_refactor_sprint,
    number_sprints,
    override_effect,
    plan_sprints,
    refactor_goal,
    refactor_share,
    refactor_sprint_numbers,
)
from govbot.domain.work import Issue, Sprint

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
BOARD = "Payments"


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def postpone(k: int) -> Override:
    return Override(k, "postpone", "release week")


def skip(k: int) -> Override:
    return Override(k, "skip", "incident follow-up")


def apply_plan(sprints: list[Sprint], plan: SprintPlan) -> list[Sprint]:
    """What the board looks like after the plan is written: updates first, then creates with new ids."""
    changes = {change.sprint_id: change for change in plan.to_update}
    board = []
    for sprint in sprints:
        change = changes.get(sprint.id)
        if change is not None:
            sprint = dataclasses.replace(
                sprint,
                name=change.name,
                goal=change.goal,
                start=change.start or sprint.start,
                end=change.end or sprint.end,
            )
        board.append(sprint)
    next_id = max((s.id for s in sprints), default=0) + 1
    for offset, planned in enumerate(plan.to_create):
        board.append(
            Sprint(
                id=next_id + offset,
                name=planned.name,
                state="future",
                start=planned.start,
                end=planned.end,
                goal=planned.goal,
            )
        )
    return board


# --- numbering ---


def test_numbering_orders_by_start_with_undated_sprints_last_by_id():
    sprints = [
        Sprint(30, "later undated", "future"),
        Sprint(12, "next", "future", berlin(2024, 3, 4), berlin(2024, 3, 18)),
        Sprint(10, "old", "closed", berlin(2024, 2, 5), berlin(2024, 2, 19)),
        Sprint(20, "undated", "future"),
        Sprint(11, "now", "active", berlin(2024, 2, 19), berlin(2024, 3, 4)),
    ]
    numbered = number_sprints(sprints, anchor_sprint_id=11)
    assert [(ns.number, ns.sprint.id) for ns in numbered] == [(0, 10), (1, 11), (2, 12), (3, 20), (4, 30)]


def test_unknown_anchor_is_a_clear_error():
    sprints = [Sprint(1, "a", "active", berlin(2024, 1, 1), berlin(2024, 1, 15))]
    with pytest.raises(AnchorNotFound, match="anchor sprint 99 is not on the board") as caught:
        number_sprints(sprints, anchor_sprint_id=99)
    assert isinstance(caught.value, ValueError)


def test_default_anchor_prefers_active_then_first_future():
    closed = Sprint(1, "c", "closed", berlin(2024, 1, 1), berlin(2024, 1, 15))
    active = Sprint(2, "a", "active", berlin(2024, 1, 15), berlin(2024, 1, 29))
    undated = Sprint(3, "u", "future")
    dated = Sprint(4, "d", "future", berlin(2024, 1, 29), berlin(2024, 2, 12))
    assert default_anchor([closed, undated, dated, active]) == 2
    assert default_anchor([closed, undated, dated]) == 4  # the dated one comes first on the board
    assert default_anchor([closed]) is None
    assert default_anchor([]) is None


# --- refactor selection, examples ---


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([], {3, 6, 9, 12}),
        ([postpone(3)], {4, 7, 10}),
        ([postpone(3), postpone(4)], {5, 8, 11}),  # postpones compose
        ([skip(3)], {6, 9, 12}),
        ([postpone(3), skip(4)], {7, 10}),  # the cadence counts on from the postponed sprint
        ([skip(4)], {3, 6, 9, 12}),  # not a refactoring sprint: inert
        ([postpone(3), skip(3)], {4, 7, 10}),  # sprint 3 is no longer one when the skip comes: inert
        ([postpone(6)], {3, 7, 10}),
        ([skip(0), postpone(-3)], {3, 6, 9, 12}),  # before the anchor: inert
    ],
)
def test_refactor_numbers_examples(overrides, expected):
    assert refactor_sprint_numbers(every=3, overrides=overrides, upto=12) == frozenset(expected)


def test_lookups_agree_with_the_set():
    overrides = [postpone(3)]
    assert is_refactor_sprint(4, every=3, overrides=overrides)
    assert not is_refactor_sprint(3, every=3, overrides=overrides)
    assert not is_refactor_sprint(0, every=1, overrides=[])
    assert next_refactor_sprint(4, every=3, overrides=overrides) == 7
    assert next_refactor_sprint(-5, every=3, overrides=[]) == 3


def test_override_effect_says_what_moved():
    effect = override_effect(postpone(6), every=3, overrides=[], upto=10)
    assert effect.removed == frozenset({6, 9})
    assert effect.added == frozenset({7, 10})


def test_overrides_and_cadence_are_validated():
    with pytest.raises(ValueError, match="reason"):
        Override(3, "skip", "  ")
    with pytest.raises(ValueError, match="'skip' or 'postpone'"):
        Override(3, "cancel", "why")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        refactor_sprint_numbers(every=0, overrides=[], upto=5)


# --- refactor selection, properties ---

overrides_st = st.lists(
    st.builds(Override, st.integers(-2, 60), st.sampled_from(["skip", "postpone"]), st.just("reason")),
    max_size=8,
)


@given(every=st.integers(1, 12), upto=st.integers(1, 80))
def test_without_overrides_every_window_holds_exactly_one(every, upto):
    numbers = refactor_sprint_numbers(every=every, overrides=[], upto=upto + every)
    for first in range(1, upto + 1):
        assert len([k for k in range(first, first + every) if k in numbers]) == 1


@given(every=st.integers(1, 12), base=overrides_st, pick=st.integers(0, 5))
def test_a_postpone_moves_it_by_one_and_the_cadence_counts_on(every, base, pick):
    refactor = sorted(refactor_sprint_numbers(every=every, overrides=base, upto=80))
    target = refactor[min(pick, len(refactor) - 1)]
    earlier = [o for o in base if o.sprint_number < target]  # so nothing after the target interferes
    before = refactor_sprint_numbers(every=every, overrides=earlier, upto=target + 5 * every)
    after = refactor_sprint_numbers(
        every=every, overrides=[*earlier, postpone(target)], upto=target + 5 * every
    )
    assert {k for k in after if k < target} == {k for k in before if k < target}
    assert target in before and target not in after
    assert {k for k in after if k > target} == set(range(target + 1, target + 5 * every + 1, every))


@given(every=st.integers(1, 12), base=overrides_st, pick=st.integers(0, 5))
def test_a_skip_removes_exactly_one(every, base, pick):
    refactor = refactor_sprint_numbers(every=every, overrides=base, upto=100)
    target = sorted(refactor)[min(pick, len(refactor) - 1)]
    assert refactor_sprint_numbers(every=every, overrides=[*base, skip(target)], upto=100) == refactor - {
        target
    }


@given(
    every=st.integers(1, 12),
    base=overrides_st,
    number=st.integers(-3, 80),
    kind=st.sampled_from(["skip", "postpone"]),
)
def test_an_override_of_a_non_refactor_sprint_is_inert(every, base, number, kind):
    refactor = refactor_sprint_numbers(every=every, overrides=base, upto=100)
    if number in refactor:
        return
    new = Override(number, kind, "reason")
    assert refactor_sprint_numbers(every=every, overrides=[*base, new], upto=100) == refactor


@given(every=st.integers(1, 12), base=overrides_st, k=st.integers(-3, 70))
def test_lookups_are_consistent(every, base, k):
    numbers = refactor_sprint_numbers(every=every, overrides=base, upto=200)
    assert is_refactor_sprint(k, every=every, overrides=base) == (k in numbers)
    assert next_refactor_sprint(k, every=every, overrides=base) == min(n for n in numbers if n > k)
    first = []
    for n in iter_refactor_sprints(every=every, overrides=base):
        if n > 200:
            break
        first.append(n)
    assert first == sorted(numbers)


# --- the plan, examples across DST in Europe/Berlin ---


def board_before_spring_dst() -> list[Sprint]:
    return [
        Sprint(101, "Payments Sprint 41", "closed", berlin(2024, 3, 4, 9), berlin(2024, 3, 18, 9)),
        Sprint(102, "Payments Sprint 42", "active", berlin(2024, 3, 18, 9), berlin(2024, 4, 1, 9)),
    ]


def plan(sprints, **overrides_of_defaults):
    arguments = {
        "board_name": BOARD,
        "sprints": sprints,
        "anchor_sprint_id": 102,
        "every": 3,
        "overrides": [],
        "horizon": 3,
        "length_days": 14,
        "capacity_pct": 50,
        "now": berlin(2024, 3, 20, 10),
        "tz": "Europe/Berlin",
    }
    arguments.update(overrides_of_defaults)
    return plan_sprints(**arguments)


def test_plan_creates_the_horizon_back_to_back_across_spring_dst():
    result = plan(board_before_spring_dst())
    assert result.to_update == []
    assert [(p.number, p.name, p.goal, p.is_refactor) for p in result.to_create] == [
        (2, "Payments Sprint 2", "", False),
        (
            3,
            "Payments Sprint 3 — Refactor",
            "Refactoring sprint: at least 50% of capacity on refactoring",
            True,
        ),
        (4, "Payments Sprint 4", "", False),
    ]
    # The active sprint ends at 09:00 CEST on 1 April (DST began on 31 March); new ones keep 09:00 local.
    assert [(p.start.isoformat(), p.end.isoformat()) for p in result.to_create] == [
        ("2024-04-01T09:00:00+02:00", "2024-04-15T09:00:00+02:00"),
        ("2024-04-15T09:00:00+02:00", "2024-04-29T09:00:00+02:00"),
        ("2024-04-29T09:00:00+02:00", "2024-05-13T09:00:00+02:00"),
    ]


def test_a_sprint_spanning_the_spring_change_is_an_hour_shorter_in_real_time():
    closed = Sprint(1, "x", "closed", berlin(2024, 3, 11), berlin(2024, 3, 25))
    result = plan([closed], anchor_sprint_id=1, horizon=1, length_days=7, now=berlin(2024, 3, 12))
    (created,) = result.to_create
    assert created.start.isoformat() == "2024-03-25T00:00:00+01:00"
    assert created.end.isoformat() == "2024-04-01T00:00:00+02:00"
    assert created.end.astimezone(UTC) - created.start.astimezone(UTC) == timedelta(days=7, hours=-1)


def test_an_empty_board_starts_at_the_next_local_midnight_across_autumn_dst():
    anchor = Sprint(7, "Payments Sprint 1", "future")  # the only sprint, undated
    result = plan([anchor], anchor_sprint_id=7, horizon=2, now=berlin(2024, 10, 26, 15, 30))
    (dated,) = result.to_update
    assert dated.sprint_id == 7 and dated.name == "Payments Sprint 1"
    assert dated.start.isoformat() == "2024-10-27T00:00:00+02:00"  # the night DST ends
    assert dated.end.isoformat() == "2024-11-10T00:00:00+01:00"
    assert dated.end.astimezone(UTC) - dated.start.astimezone(UTC) == timedelta(days=14, hours=1)
    (created,) = result.to_create
    assert (created.number, created.start, created.end.isoformat()) == (
        2,
        dated.end,
        "2024-11-24T00:00:00+01:00",
    )


def test_a_wall_time_skipped_by_dst_moves_to_the_first_existing_one():
    closed = Sprint(1, "x", "closed", berlin(2024, 3, 3, 2, 30), berlin(2024, 3, 17, 2, 30))
    result = plan([closed], anchor_sprint_id=1, horizon=1, now=berlin(2024, 3, 4))
    (created,) = result.to_create
    assert created.start.isoformat() == "2024-03-17T02:30:00+01:00"
    assert created.end.isoformat() == "2024-03-31T03:30:00+02:00"  # 02:30 did not exist that night


def test_a_board_that_ended_in_the_past_is_planned_from_tomorrow():
    closed = Sprint(1, "x", "closed", berlin(2024, 1, 1, 9), berlin(2024, 1, 15, 9))
    result = plan([closed], anchor_sprint_id=1, horizon=1, now=berlin(2024, 6, 3, 12))
    assert result.to_create[0].start.isoformat() == "2024-06-04T00:00:00+02:00"


def test_a_postpone_renames_and_regoals_existing_future_sprints_only():
    board = apply_plan(board_before_spring_dst(), plan(board_before_spring_dst()))
    assert plan(board).is_empty
    replanned = plan(board, overrides=[postpone(3)])
    assert replanned.to_create == []
    changes = {(c.number, c.name, c.goal, c.is_refactor, c.start) for c in replanned.to_update}
    assert changes == {
        (3, "Payments Sprint 3", "", False, None),
        (4, "Payments Sprint 4 — Refactor", refactor_goal(50), True, None),
    }
    after = apply_plan(board, replanned)
    assert plan(after, overrides=[postpone(3)]).is_empty


def test_a_capacity_change_regoals_refactor_sprints():
    board = apply_plan(board_before_spring_dst(), plan(board_before_spring_dst()))
    (change,) = plan(board, capacity_pct=40).to_update
    assert (change.number, change.goal) == (3, "Refactoring sprint: at least 40% of capacity on refactoring")


def test_active_and_closed_sprints_are_never_touched():
    sprints = [
        Sprint(
            1, "Payments Sprint 1", "closed", berlin(2024, 1, 1), berlin(2024, 1, 15), goal=refactor_goal(50)
        ),
        Sprint(2, "Payments Sprint 3", "active", berlin(2024, 1, 15), berlin(2024, 1, 29)),
    ]
    result = plan(sprints, anchor_sprint_id=1, every=2, now=berlin(2024, 1, 16))
    assert {c.sprint_id for c in result.to_update} == set()
    assert [p.number for p in result.to_create] == [3, 4, 5]


def test_team_names_are_kept_and_only_gain_or_lose_the_suffix():
    sprints = [
        *board_before_spring_dst(),
        Sprint(103, "Spring clean-up", "future", goal="tidy"),
        Sprint(104, "Launch — Refactor", "future", goal="launch"),
        Sprint(105, "Payments Sprint 9", "future"),
    ]
    result = plan(sprints, now=berlin(2024, 3, 20))
    assert result.to_create == []
    assert {(c.sprint_id, c.number, c.name, c.goal) for c in result.to_update} == {
        (104, 3, "Launch — Refactor", refactor_goal(50)),  # goal becomes govbot's
        (105, 4, "Payments Sprint 4", ""),  # govbot's own pattern follows the number
    }


def test_a_sprint_created_before_a_crash_is_not_created_again():
    first = plan(board_before_spring_dst())
    crashed = apply_plan(board_before_spring_dst(), SprintPlan(to_create=first.to_create[:1], to_update=[]))
    second = plan(crashed, now=berlin(2024, 3, 21))
    assert second.to_update == []
    assert second.to_create == first.to_create[1:]


def test_expected_names_and_goals():
    assert expected_name("PAY board", 6, True) == "PAY board Sprint 6 — Refactor"
    assert expected_name("PAY board", 7, False) == "PAY board Sprint 7"
    assert expected_goal(is_refactor=True, capacity_pct=30, current_goal="x") == refactor_goal(30)
    assert expected_goal(is_refactor=False, capacity_pct=30, current_goal=refactor_goal(50)) == ""
    assert expected_goal(is_refactor=False, capacity_pct=30, current_goal="Ship checkout") == "Ship checkout"


# --- the plan, properties ---

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "UTC",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]


@st.composite
def boards(draw):
    tz = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(tz)
    cursor = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 2 * 365 * 24 * 60)))
    sprints: list[Sprint] = []
    states = ["closed"] * draw(st.integers(0, 5)) + ["active"] * draw(st.integers(0, 1))
    states += ["future"] * draw(st.integers(0, 3))
    dated = len(states)
    states += ["future"] * draw(st.integers(0, 2))

    def name_and_goal() -> tuple[str, str]:
        name = draw(
            st.one_of(
                st.builds(lambda k, r: expected_name(BOARD, k, r), st.integers(-2, 20), st.booleans()),
                st.sampled_from(
                    ["Launch", "Launch — Refactor", "Payments Sprint", "Payments Sprint 4 — Refactor!"]
                ),
            )
        )
        goal = draw(st.sampled_from(["", "Ship checkout", refactor_goal(50), refactor_goal(35)]))
        return name, goal

    for index, state in enumerate(states):
        name, goal = name_and_goal()
        if index < dated:
            start = cursor + timedelta(days=draw(st.integers(0, 3)))
            end = start + timedelta(days=draw(st.integers(5, 28)))
            cursor = end
            if state == "future" and draw(st.booleans()):
                end = None  # Jira allows a start date without an end
            sprints.append(Sprint(index + 1, name, state, start.astimezone(zone), end, goal))
        else:
            sprints.append(Sprint(index + 1, name, state, None, None, goal))
    if not sprints:
        name, goal = name_and_goal()
        sprints.append(Sprint(1, name, "future", None, None, goal))
    anchor = draw(st.sampled_from(sprints)).id
    now = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 3 * 365 * 24 * 60)))
    return tz, draw(st.permutations(sprints)), anchor, now


plan_arguments = st.fixed_dictionaries(
    {
        "every": st.integers(1, 12),
        "overrides": overrides_st,
        "horizon": st.integers(0, 6),
        "length_days": st.integers(5, 28),
        "capacity_pct": st.integers(10, 100),
    }
)


@settings(max_examples=300, deadline=None)
@given(board=boards(), arguments=plan_arguments)
def test_plans_are_contiguous_complete_and_idempotent(board, arguments):
    tz, sprints, anchor, now = board
    zone = ZoneInfo(tz)
    result = plan_sprints(
        board_name=BOARD, sprints=list(sprints), anchor_sprint_id=anchor, now=now, tz=tz, **arguments
    )
    by_id = {s.id: s for s in sprints}

    # Only future sprints are ever changed.
    assert all(by_id[c.sprint_id].state == "future" for c in result.to_update)
    # Dates are given to undated sprints only, and only when sprints are created after them.
    dated_changes = [c for c in result.to_update if c.start is not None]
    assert all(by_id[c.sprint_id].start is None for c in dated_changes)
    assert not dated_changes or result.to_create

    # New sprints: never in the past, after everything on the board, back to back, each length_days long.
    existing_ends = [max(s.start, s.end or s.start) for s in sprints if s.start is not None]
    windows = [(c.start, c.end) for c in dated_changes] + [(p.start, p.end) for p in result.to_create]
    for index, (start, end) in enumerate(windows):
        assert start >= now
        assert all(start >= existing for existing in existing_ends)
        if index:
            assert start == windows[index - 1][1]
        assert (end.astimezone(zone).date() - start.astimezone(zone).date()).days == arguments["length_days"]
    for planned in result.to_create:
        assert planned.end > planned.start >= now

    # Applying the plan reaches exactly the horizon (or keeps the extra future sprints the team made).
    after = apply_plan(list(sprints), result)
    futures_before = sum(1 for s in sprints if s.state == "future")
    assert sum(1 for s in after if s.state == "future") == max(arguments["horizon"], futures_before)

    # The new sprints sit at the numbers the plan gave them, named for their refactoring status.
    numbered = {ns.sprint.id: ns.number for ns in number_sprints(after, anchor)}
    refactor = refactor_sprint_numbers(every=arguments["every"], overrides=arguments["overrides"], upto=200)
    for offset, planned in enumerate(result.to_create):
        assert numbered[max(by_id) + 1 + offset] == planned.number
        assert planned.is_refactor == (planned.number in refactor)
        assert planned.name == expected_name(BOARD, planned.number, planned.is_refactor)
    for sprint in after:
        number = numbered[sprint.id]
        if sprint.state == "future" and number >= 1:
            assert sprint.name.endswith(" — Refactor") == (number in refactor)
            assert (sprint.goal == refactor_goal(arguments["capacity_pct"])) == (number in refactor)

    # Planning again writes nothing, even at a later time.
    for later in (now, now + timedelta(days=3)):
        again = plan_sprints(
            board_name=BOARD, sprints=after, anchor_sprint_id=anchor, now=later, tz=tz, **arguments
        )
        assert again.is_empty, again


# --- capacity check ---


def issue(key, points=None, labels=()):
    return Issue(key=key, issue_type="Story", status="To Do", labels=tuple(labels), points=points)


def test_refactor_share_by_points_counts_unestimated_issues_as_zero():
    issues = [
        issue("A-1", 5, ["refactor"]),
        issue("A-2", 3),
        issue("A-3", None, ["Refactor"]),
        issue("A-4", 2),
    ]
    share = refactor_share(issues, refactor_label="refactor", by_points=True)
    # refactor: 5 + 0 (unestimated) = 5; total: 5 + 3 + 0 + 2 = 10; 5 / 10 = 50 %
    assert (share.refactor, share.total, share.pct) == (5.0, 10.0, 50.0)
    assert not is_below_capacity(share, capacity_pct=50)
    assert is_below_capacity(share, capacity_pct=51)


def test_refactor_share_by_count_and_empty_sprint():
    issues = [issue("A-1", 5, ["refactor"]), issue("A-2", 3), issue("A-3", None, ["refactor", "ai-heavy"])]
    share = refactor_share(issues, refactor_label="refactor", by_points=False)
    # 2 of 3 issues: 66.67 %
    assert (share.refactor, share.total) == (2.0, 3.0)
    assert share.pct == pytest.approx(200 / 3)
    empty = refactor_share([], refactor_label="refactor", by_points=True)
    assert empty.pct is None and not is_below_capacity(empty, capacity_pct=50)


def test_capacity_checkpoints_at_start_and_midpoint():
    # 25 Mar 00:00 CET to 8 Apr 00:00 CEST is 335 real hours; the midpoint is 167.5 h after the start.
    sprint = Sprint(1, "s", "active", berlin(2024, 3, 25), berlin(2024, 4, 8))
    midpoint = berlin(2024, 3, 25).astimezone(UTC) + timedelta(hours=167.5)
    assert midpoint.astimezone(BERLIN).isoformat() == "2024-04-01T00:30:00+02:00"
    assert capacity_checkpoints(sprint, berlin(2024, 3, 24, 23)) == []
    assert capacity_checkpoints(sprint, berlin(2024, 3, 25)) == ["start"]
    assert capacity_checkpoints(sprint, midpoint - timedelta(seconds=1)) == ["start"]
    assert capacity_checkpoints(sprint, midpoint) == ["start", "mid"]
    assert capacity_checkpoints(dataclasses.replace(sprint, end=None), berlin(2024, 5, 1)) == ["start"]
    assert capacity_checkpoints(Sprint(2, "u", "future"), berlin(2024, 5, 1)) == []


def test_schedules_fire_before_the_series_anchor_on_the_same_cycle():
    from datetime import UTC, datetime

    from govbot.domain.schedule import anchor_in, latest_at_or_before, next_after

    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=14;BYMINUTE=0"
    anchor = anchor_in("Europe/Berlin")
    early = next_after(rule, tz="Europe/Berlin", after=datetime(2025, 2, 18, tzinfo=UTC), anchor=anchor)
    assert early is not None and early.year == 2025 and early.weekday() == 3 and early.hour == 14
    last = latest_at_or_before(rule, tz="Europe/Berlin", now=datetime(2025, 2, 18, tzinfo=UTC), anchor=anchor)
    assert last is not None and (early - last).days == 14
    # The fortnight before the anchor continues into the one after it: 2026-01-01 is a Thursday of the cycle.
    before = next_after(rule, tz="Europe/Berlin", after=datetime(2025, 12, 19, tzinfo=UTC), anchor=anchor)
    after = next_after(rule, tz="Europe/Berlin", after=datetime(2026, 1, 1, tzinfo=UTC), anchor=anchor)
    assert before is not None and after is not None
    assert (after - before).days % 14 == 0 and before.date().isoformat() == "2026-01-01"
