"""Rules R1–R6, tracks, zones, the split and re-notification: table tests and properties."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.domain.staffing import Violation, evaluate, should_renotify
from govbot.domain.tracks import Member, StaffingPolicy, compute_split, track_of, zone_of
from govbot.domain.work import Issue

ADA = Member("U0SENIOR01", "ada", "senior", "Ada")
GRACE = Member("U0SENIOR02", "grace", "senior", "Grace")
BARBARA = Member("U0MIDLVL01", "barbara", "mid", "Barbara")
LINUS = Member("U0JUNIOR01", "linus", "junior", "Linus")
MEMBERS = (ADA, GRACE, BARBARA, LINUS)
POLICY = StaffingPolicy(
    zones={1: ("auth", "Payments"), 2: ("reporting",), 3: ()}, reviewer_field="customfield_10050", senior_review_cap=2
)


def issue(key: str, *labels: str, points: float | None = 3, comps: tuple[str, ...] = ("ui",), **kw) -> Issue:
    return Issue(key=key, issue_type=kw.pop("issue_type", "Story"), status="To Do", labels=labels,
                 components=comps, points=points, **kw)


def run(issues, *, epics=None, policy=POLICY, by_points=True, members=MEMBERS):
    return evaluate(team="pay", sprint_id=7, issues=issues, epic_labels=epics or {}, members=members,
                    policy=policy, by_points=by_points)


def rules(evaluation) -> list[tuple[str, str | None, str | None]]:
    return [(v.rule, v.issue, v.person) for v in evaluation.violations]


# --- tracks and zones


@pytest.mark.parametrize(
    ("labels", "epic", "expected"),
    [
        (("human-first",), None, "human-first"),
        (("AI-Heavy",), None, "ai-heavy"),  # labels match case-insensitively
        ((), ("ai-heavy",), "ai-heavy"),  # inherited from the epic
        (("human-first",), ("ai-heavy",), "human-first"),  # its own label wins
        ((), (), None),
        ((), None, None),
        (("human-first", "ai-heavy"), ("human-first",), None),  # both: nobody can tell
        ((), ("human-first", "ai-heavy"), None),
        (("refactor",), ("human-first",), "human-first"),
    ],
)
def test_track_is_own_label_else_the_epics(labels, epic, expected):
    epics = {"PAY-100": epic} if epic is not None else {}
    assert track_of(issue("PAY-1", *labels, parent_key="PAY-100"), epics, POLICY) == expected


def test_custom_track_labels_are_read():
    policy = dataclasses.replace(POLICY, human_first_label="hand", ai_heavy_label="bot")
    assert track_of(issue("PAY-1", "bot"), {}, policy) == "ai-heavy"
    assert track_of(issue("PAY-1", "ai-heavy"), {}, policy) is None


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        (("ui",), (3, "ui")),
        (("ui", "AUTH"), (1, "AUTH")),
        (("Reporting", "payments"), (1, "payments")),
        (("reporting", "ui"), (2, "reporting")),
        ((), (3, None)),
    ],
)
def test_zone_is_the_lowest_of_its_components(components, expected):
    assert zone_of(issue("PAY-1", comps=components), POLICY) == expected


# --- the split


def test_split_weighs_points_and_leaves_unlabelled_work_out():
    work = [issue("PAY-1", "human-first", points=5), issue("PAY-2", "ai-heavy", points=3),
            issue("PAY-3", points=8), issue("PAY-4", "ai-heavy", points=None)]
    split = compute_split(work, {}, POLICY, by_points=True)
    assert (split.human_first, split.ai_heavy, split.unlabelled, split.unit) == (5, 3, 8, "points")
    assert (split.human_first_pct, split.ai_heavy_pct) == (63, 37)  # 62.5 rounds half up


def test_split_counts_issues_without_an_estimation_field():
    work = [issue("PAY-1", "human-first", points=5), issue("PAY-2", "ai-heavy", points=None)]
    split = compute_split(work, {}, POLICY, by_points=False)
    assert (split.human_first_pct, split.ai_heavy_pct, split.unit) == (50, 50, "issues")


def test_epics_in_the_sprint_are_not_work():
    work = [issue("PAY-1", "ai-heavy", issue_type="Epic"), issue("PAY-2", "human-first")]
    assert compute_split(work, {}, POLICY, by_points=True).human_first_pct == 100


def test_nothing_tracked_has_no_split_and_no_r1():
    evaluation = run([issue("PAY-1", assignee="barbara")])
    assert evaluation.split.human_first_pct is None
    assert rules(evaluation) == [("R2", "PAY-1", "U0MIDLVL01")]


# --- one table row per rule


@pytest.mark.parametrize(
    ("work", "expected"),
    [
        # R1: 3 of 9 points human-first (33%) is below 60 ± 10
        ([issue("PAY-1", "human-first"), issue("PAY-2", "ai-heavy", points=6)], [("R1", None, None)]),
        # R1 above: 100% human-first
        ([issue("PAY-1", "human-first")], [("R1", None, None)]),
        # inside the band: nothing
        ([issue("PAY-1", "human-first", points=6), issue("PAY-2", "ai-heavy", points=4)], []),
        # the band's edges hold: 50% and 70% are inside
        ([issue("PAY-1", "human-first", points=5), issue("PAY-2", "ai-heavy", points=5)], []),
        ([issue("PAY-1", "human-first", points=7), issue("PAY-2", "ai-heavy", points=3)], []),
        # R2: no track; the assignee is named by Slack id
        ([issue("PAY-1", "human-first", points=6), issue("PAY-2", "ai-heavy", points=4),
          issue("PAY-3", assignee="barbara")], [("R2", "PAY-3", "U0MIDLVL01")]),
        # R3: ai-heavy in zone 1, even through a component's case
        ([issue("PAY-1", "human-first", points=6), issue("PAY-2", "ai-heavy", points=4, comps=("PAYMENTS",))],
         [("R3", "PAY-2", None)]),
        # R4: ai-heavy in zone 2 without a reviewer, and with a reviewer who is not senior
        ([issue("PAY-1", "human-first", points=12), issue("PAY-2", "ai-heavy", comps=("reporting",)),
          issue("PAY-3", "ai-heavy", comps=("reporting",), reviewer="barbara"),
          issue("PAY-4", "ai-heavy", comps=("reporting",), reviewer="ADA")],
         [("R4", "PAY-2", None), ("R4", "PAY-3", None)]),
        # R5: the junior has 1 of 4 points human-first
        ([issue("PAY-1", "human-first", points=5), issue("PAY-2", "human-first", points=1, assignee="linus"),
          issue("PAY-3", "ai-heavy", points=3, assignee="linus")], [("R5", None, "U0JUNIOR01")]),
        # R6: Ada reviews three ai-heavy issues, cap 2 (human-first reviews do not count)
        ([issue("PAY-1", "human-first", points=14, reviewer="ada"),
          *(issue(f"PAY-{n}", "ai-heavy", points=2, reviewer="ada") for n in (2, 3, 4))],
         [("R6", None, "U0SENIOR01")]),
    ],
)
def test_each_rule(work, expected):
    assert rules(run(work)) == expected


def test_r4_and_r6_are_not_configured_without_a_reviewer_field():
    policy = dataclasses.replace(POLICY, reviewer_field=None)
    work = [issue("PAY-1", "human-first", points=14),
            *(issue(f"PAY-{n}", "ai-heavy", points=2, comps=("reporting",), reviewer="ada") for n in (2, 3, 4))]
    evaluation = run(work, policy=policy)
    assert rules(evaluation) == []
    assert set(evaluation.not_configured) == {"R4", "R6"}
    assert "reviewer_field" in evaluation.not_configured["R4"]
    assert run(work).not_configured == {}


def test_violation_identity_severity_and_detail():
    evaluation = run([issue("PAY-2", "ai-heavy", comps=("auth",), assignee="barbara"),
                      issue("PAY-1", "human-first", points=1)])
    r3 = next(v for v in evaluation.violations if v.rule == "R3")
    assert r3.key == "R3/pay/7/PAY-2"
    assert r3.severity == "critical"
    assert "PAY-2" in r3.detail and "auth" in r3.detail and "human-first" in r3.detail
    r1 = next(v for v in evaluation.violations if v.rule == "R1")
    assert r1.key == "R1/pay/7" and r1.severity == "warning"
    assert "25% (1 point of 4 points with a track), below the target of 60% ± 10%" in r1.detail


def test_violations_come_in_rule_order():
    work = [issue("PAY-9", comps=("ui",)), issue("PAY-1", "ai-heavy", comps=("auth",)),
            issue("PAY-2", "ai-heavy", points=1, assignee="linus")]
    assert [v.rule for v in run(work).violations] == ["R1", "R2", "R3", "R5"]


def test_assignees_match_case_insensitively_and_strangers_are_named_by_their_jira_id():
    evaluation = run([issue("PAY-1", assignee="BARBARA"), issue("PAY-2", assignee="someone.else")])
    assert [(v.issue, v.person) for v in evaluation.violations] == [("PAY-1", "U0MIDLVL01"), ("PAY-2", None)]
    assert "someone.else" in evaluation.violations[1].detail


# --- re-notification


def test_r1_fingerprint_changes_when_the_split_moves_further_away():
    def r1(ai_points: float) -> Violation:
        evaluation = run([issue("PAY-1", "human-first", points=10), issue("PAY-2", "ai-heavy", points=ai_points)])
        return next(v for v in evaluation.violations if v.rule == "R1")

    near, far = r1(11), r1(30)  # 48% then 25%: 2 and 25 points below the band
    assert near.key == far.key
    assert near.fingerprint != far.fingerprint
    assert should_renotify(previous_state=near.state, previous_magnitude=near.magnitude, current=far)
    # moving back closer is a change of fingerprint, but nobody is told again
    assert not should_renotify(previous_state=far.state, previous_magnitude=far.magnitude, current=near)
    # the same breach on the next run is the same fingerprint
    assert r1(11).fingerprint == near.fingerprint


def test_a_new_assignee_renotifies_an_issue_violation():
    before = run([issue("PAY-1", assignee="barbara")]).violations[0]
    after = run([issue("PAY-1", assignee="linus")]).violations[0]
    assert before.key == after.key and before.fingerprint != after.fingerprint
    assert should_renotify(previous_state=before.state, previous_magnitude=before.magnitude, current=after)


# --- properties

TRACK_LABELS = st.sampled_from([(), ("human-first",), ("ai-heavy",), ("human-first", "ai-heavy"), ("refactor",)])
COMPONENTS = st.lists(st.sampled_from(["auth", "Payments", "reporting", "ui", "misc"]), max_size=3, unique=True)


@st.composite
def sprints(draw):
    count = draw(st.integers(min_value=0, max_value=12))
    epics = {f"PAY-{100 + n}": draw(TRACK_LABELS) for n in range(3)}
    work = []
    for n in range(1, count + 1):
        work.append(issue(
            f"PAY-{n}",
            *draw(TRACK_LABELS),
            points=draw(st.one_of(st.none(), st.sampled_from([0, 0.5, 1, 2, 3, 5, 8, 13]))),
            comps=tuple(draw(COMPONENTS)),
            parent_key=draw(st.one_of(st.none(), st.sampled_from(sorted(epics)))),
            assignee=draw(st.one_of(st.none(), st.sampled_from(["ada", "grace", "barbara", "linus", "x"]))),
            reviewer=draw(st.one_of(st.none(), st.sampled_from(["ada", "grace", "barbara"]))),
        ))
    policy = dataclasses.replace(
        POLICY,
        target_human_first_pct=draw(st.integers(0, 100)),
        tolerance_pct=draw(st.integers(0, 50)),
        junior_min_human_first_pct=draw(st.integers(0, 100)),
        senior_review_cap=draw(st.integers(1, 4)),
        reviewer_field=draw(st.sampled_from([None, "customfield_10050"])),
    )
    return work, epics, policy, draw(st.booleans())


def _swap(labels: tuple[str, ...]) -> tuple[str, ...]:
    other = {"human-first": "ai-heavy", "ai-heavy": "human-first"}
    return tuple(other.get(label, label) for label in labels)


@settings(max_examples=200, deadline=None)
@given(sprints(), st.data())
def test_relabelling_an_issue_to_the_other_track_never_changes_r2(sprint, data):
    work, epics, policy, by_points = sprint
    if not work:
        return
    index = data.draw(st.integers(0, len(work) - 1))
    relabelled = list(work)
    relabelled[index] = dataclasses.replace(work[index], labels=_swap(work[index].labels))
    before = run(work, epics=epics, policy=policy, by_points=by_points)
    after = run(relabelled, epics=epics, policy=policy, by_points=by_points)
    r2 = lambda e: [(v.key, v.state) for v in e.violations if v.rule == "R2"]  # noqa: E731
    assert r2(before) == r2(after)


@settings(max_examples=200, deadline=None)
@given(sprints())
def test_the_split_always_sums_to_100(sprint):
    work, epics, policy, by_points = sprint
    split = run(work, epics=epics, policy=policy, by_points=by_points).split
    if split.tracked > 0:
        assert split.human_first_pct + split.ai_heavy_pct == 100
        assert 0 <= split.human_first_pct <= 100
    else:
        assert split.human_first_pct is None and split.ai_heavy_pct is None


@settings(max_examples=200, deadline=None)
@given(sprints(), st.data())
def test_a_zone_1_issue_labelled_ai_heavy_always_yields_r3(sprint, data):
    work, epics, policy, by_points = sprint
    extra = issue(
        "PAY-99", "ai-heavy", *data.draw(st.sampled_from([(), ("refactor",)])),
        points=data.draw(st.one_of(st.none(), st.integers(0, 8))),
        comps=(data.draw(st.sampled_from(["auth", "AUTH", "payments"])), *data.draw(COMPONENTS)),
        parent_key=data.draw(st.one_of(st.none(), st.sampled_from(sorted(epics)))),
        assignee=data.draw(st.one_of(st.none(), st.sampled_from(["ada", "linus"]))),
        reviewer=data.draw(st.one_of(st.none(), st.sampled_from(["ada", "grace"]))),
    )
    evaluation = run([*work, extra], epics=epics, policy=policy, by_points=by_points)
    assert any(v.rule == "R3" and v.issue == "PAY-99" and v.severity == "critical" for v in evaluation.violations)


@settings(max_examples=100, deadline=None)
@given(sprints())
def test_identities_are_unique_and_evaluation_is_deterministic(sprint):
    work, epics, policy, by_points = sprint
    first = run(work, epics=epics, policy=policy, by_points=by_points)
    keys = [v.key for v in first.violations]
    assert len(keys) == len(set(keys))
    again = run(list(reversed(work)), epics=epics, policy=policy, by_points=by_points)
    assert [v.fingerprint for v in again.violations] == [v.fingerprint for v in first.violations]


# --- reconciliation

from govbot.domain.staffing import Known, reconcile  # noqa: E402


def known(v: Violation, status: str = "open", **kw) -> Known:
    return Known(key=v.key, sprint_id=kw.get("sprint_id", v.sprint_id), status=status,
                 fingerprint=kw.get("fingerprint", v.fingerprint), notified_state=kw.get("state", v.state),
                 notified_magnitude=kw.get("magnitude", v.magnitude))


def test_reconcile_opens_keeps_changes_and_resolves():
    evaluation = run([issue("PAY-1", assignee="barbara"), issue("PAY-2", "ai-heavy", comps=("auth",)),
                      issue("PAY-3", "human-first", points=1)])
    r1, r2, r3 = evaluation.violations
    gone = dataclasses.replace(r3, issue="PAY-9")
    old_sprint = dataclasses.replace(r3, issue="PAY-8", sprint_id=6)
    steps = reconcile(
        known=[known(r1, magnitude=r1.magnitude + 1, fingerprint="old"), known(r2, "resolved"),
               known(r3, "acknowledged"), known(gone), known(old_sprint)],
        found=evaluation.violations, sprint_id=7)
    assert [(s.action, s.key, s.notify) for s in steps] == [
        ("change", r1.key, False),  # closer than when last told: recorded, nobody told
        ("reopen", r2.key, True),
        ("resolve", gone.key, True),
        ("resolve", old_sprint.key, False),  # a past sprint closes quietly
    ]


def test_reconcile_renotifies_an_acknowledged_violation_that_got_worse():
    (r1,) = [v for v in run([issue("PAY-1", "human-first", points=1), issue("PAY-2", "ai-heavy", points=9)])
             .violations if v.rule == "R1"]
    stored = known(r1, "acknowledged", magnitude=1, fingerprint="older")
    (step,) = reconcile(known=[stored], found=[r1], sprint_id=7)
    assert (step.action, step.notify) == ("renotify", True)
    assert reconcile(known=[known(r1)], found=[r1], sprint_id=7) == []
    assert [s.action for s in reconcile(known=[], found=[r1], sprint_id=7)] == ["open"]
