"""Staffing's Jira reads and writes, with the real jira client against the sandbox in Cloud and Data Center mode."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from govbot.adapters.tracker import JiraTracker, TrackerAuthError, TrackerNotFound, staffing
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import REVIEWER_FIELD, SEED_MEMBERS, STORY_POINTS_FIELD
from govbot.sandbox.jira_staffing import member_reference, received_jql, seed_staffing_sprint

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["cloud", "datacenter"])
def sandbox(request):
    with JiraSandbox(mode=request.param, now=NOW, seed=False) as sb:
        yield sb


@pytest.fixture
def tracker(sandbox):
    with JiraTracker(url=sandbox.url, sleep=lambda _s: None, **sandbox.credentials) as t:
        yield t


def test_a_sprint_is_read_in_one_paged_search_with_only_the_needed_fields(sandbox, tracker):
    sandbox.page_size = 100  # what Jira gives a search that asks for 100 issues with a few fields
    scenario = seed_staffing_sprint(sandbox)
    for _ in range(240):  # 251 issues in all: 3 pages of 100
        sandbox.add_issue(project="PLAT", labels=["human-first"], points=1, sprint_ids=[scenario.sprint_id])
    tracker.deployment  # noqa: B018 - instance facts are read once per process, not per team
    tracker._fields()
    before = tracker.calls
    issues = tracker.sprint_work(scenario.sprint_id, estimation_field=STORY_POINTS_FIELD,
                                 reviewer_field=REVIEWER_FIELD)
    assert len(issues) == 251 and tracker.calls - before == math.ceil(251 / 100)
    searches = sandbox.calls_to("/search")
    fields = set(searches[-1][3]["fields"])
    assert {"labels", "components", "assignee", "issuetype", STORY_POINTS_FIELD, REVIEWER_FIELD} <= fields
    assert "changelog" not in str(searches[-1][3].get("expand"))
    by_key = {i.key: i for i in issues}
    inherited = by_key[scenario.keys["inherited"]]
    assert inherited.parent_key == scenario.epic_key and inherited.components == ("auth",)
    zone1 = by_key[scenario.keys["zone1"]]
    assert zone1.points == 3 and zone1.summary == "Rotate session keys"
    assert zone1.reviewer == member_reference(SEED_MEMBERS[1], sandbox.mode)
    assert zone1.assignee == member_reference(SEED_MEMBERS[3], sandbox.mode)


def test_epic_labels_come_in_one_batched_search_and_a_vanished_epic_is_dropped(sandbox, tracker):
    scenario = seed_staffing_sprint(sandbox)
    other = sandbox.add_issue(project="PLAT", issue_type="Epic", labels=["ai-heavy"])
    sandbox.calls.clear()
    labels = staffing.labels_of(tracker, [scenario.epic_key, other.key, scenario.epic_key])
    assert labels == {scenario.epic_key: ("human-first",), other.key: ("ai-heavy",)}
    assert len(received_jql(sandbox)) == 1
    del sandbox.issues[other.key]  # deleted in Jira since the sprint was read
    assert staffing.labels_of(tracker, [scenario.epic_key, other.key]) == {scenario.epic_key: ("human-first",)}


def test_keys_are_validated_before_they_reach_jql(sandbox, tracker):
    with pytest.raises(ValueError, match="not a Jira issue key"):
        staffing.labels_of(tracker, ["PLAT-1) OR project = X OR key in (PLAT-1"])
    assert received_jql(sandbox) == []


def test_a_track_label_is_one_update_operation(sandbox, tracker):
    scenario = seed_staffing_sprint(sandbox)
    key = scenario.keys["zone1"]
    staffing.set_track_label(tracker, key, add="human-first", remove="ai-heavy")
    assert sandbox.issues[key].labels == ["human-first"]
    (put,) = sandbox.calls_to(f"/issue/{key}", method="PUT")
    assert put[3] == {"update": {"labels": [{"add": "human-first"}, {"remove": "ai-heavy"}]}}
    sandbox.fail_next(f"/issue/{key}", status=403, method="PUT")
    with pytest.raises(TrackerAuthError):
        staffing.set_track_label(tracker, key, add="ai-heavy", remove="human-first")
    with pytest.raises(TrackerNotFound):
        staffing.set_track_label(tracker, "PLAT-999", add="ai-heavy", remove="human-first")


def test_comments_are_found_again_by_their_marker(sandbox, tracker):
    scenario = seed_staffing_sprint(sandbox)
    key = scenario.keys["zone2"]
    assert staffing.find_comment(tracker, key, "[govbot R4/platform/1/PLAT-3]") is None
    comment_id = tracker.add_comment(key, "govbot: R4 zone 2. ... [govbot R4/platform/1/PLAT-3]")
    assert staffing.find_comment(tracker, key, "[govbot R4/platform/1/PLAT-3]") == comment_id


def test_members_are_found_by_email_as_accountid_or_username(sandbox, tracker):
    grace = SEED_MEMBERS[1]
    assert staffing.find_user(tracker, "grace.hopper@example.com") == member_reference(grace, sandbox.mode)
    assert staffing.find_user(tracker, "GRACE.HOPPER@example.com") == member_reference(grace, sandbox.mode)
    assert staffing.find_user(tracker, "nobody@example.com") is None
    assert staffing.find_user(tracker, "not an email") is None
    sandbox.fail_next("/user/search", status=429, retry_after=0)
    assert staffing.find_user(tracker, "grace.hopper@example.com") == member_reference(grace, sandbox.mode)
