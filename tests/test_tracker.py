"""JiraTracker over HTTP, with the real jira package, against the Jira sandbox in Cloud and Data Center mode."""

from __future__ import annotations

import socket
import time
import traceback
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from govbot.adapters.tracker import (
    BoardHasNoSprints,
    JiraTracker,
    TrackerAuthError,
    TrackerError,
    TrackerNotFound,
    TrackerUnavailable,
    jql_quote,
    validate_issue_key,
    validate_label,
    validate_project_key,
)
from govbot.domain.work import Sprint
from govbot.sandbox import jira_seed
from govbot.sandbox.jira_api import CLOUD_API_TOKEN, DC_PAT, JiraSandbox
from govbot.sandbox.jira_seed import ACTIVE_SPRINT_ID, REVIEWER_FIELD, STORY_POINTS_FIELD, StatusChange
from govbot.sandbox.jql import tokenize

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(params=["cloud", "datacenter"])
def sandbox(request):
    with JiraSandbox(mode=request.param, now=NOW) as sb:
        yield sb


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def tracker(sandbox, sleeps):
    with JiraTracker(url=sandbox.url, sleep=sleeps, **sandbox.credentials) as t:
        yield t


def make_tracker(sandbox, sleeps, **overrides):
    return JiraTracker(url=sandbox.url, sleep=sleeps, **(sandbox.credentials | overrides))


# --- deployment and search -----------------------------------------------------------------------------------


def test_construction_makes_no_request_and_deployment_comes_from_server_info(sandbox, tracker):
    assert sandbox.calls == [] and tracker.calls == 0
    assert tracker.deployment == sandbox.mode
    assert tracker.deployment == sandbox.mode  # read once
    assert [c[1] for c in sandbox.calls] == ["/rest/api/2/serverInfo"]
    assert tracker.calls == 1


def test_search_pages_through_more_than_one_page_asking_only_for_given_fields(sandbox, tracker):
    found = list(tracker.search("project = PAY ORDER BY key ASC", fields=["status", "labels"]))
    assert len(found) == len(sandbox.issues) > 2 * sandbox.page_size
    assert [i["key"] for i in found] == sorted(sandbox.issues, key=lambda k: int(k.split("-")[1]))
    assert all(set(i["fields"]) <= {"status", "labels"} for i in found)
    path = "/rest/api/3/search/jql" if sandbox.mode == "cloud" else "/rest/api/2/search"
    searches = sandbox.calls_to(path)
    assert len(searches) == 3 and all(body["fields"] == ["status", "labels"] for _, _, _, body in searches)
    if sandbox.mode == "cloud":
        assert "nextPageToken" not in searches[0][3] and searches[1][3]["nextPageToken"]
    else:
        assert [body["startAt"] for _, _, _, body in searches] == [0, 50, 100]
    assert tracker.calls == len(sandbox.calls)


def test_issues_map_every_field(sandbox, tracker):
    issues = {i.key: i for i in tracker.issues("project = PAY", estimation_field=STORY_POINTS_FIELD,
                                               reviewer_field=REVIEWER_FIELD)}
    assert set(issues) == set(sandbox.issues)
    users = jira_seed.seed_users()

    def ref(account_id):
        if account_id is None:
            return None
        return account_id if sandbox.mode == "cloud" else users[account_id].username

    for key, stored in sandbox.issues.items():
        issue = issues[key]
        assert (issue.issue_type, issue.status) == (stored.issue_type, stored.status)
        assert issue.labels == tuple(stored.labels) and issue.components == tuple(stored.components)
        assert issue.points == stored.points
        assert issue.parent_key == stored.parent_key  # Cloud's parent, Data Center's Epic Link
        assert issue.assignee == ref(stored.assignee) and issue.reviewer == ref(stored.reviewer)
        assert (issue.created, issue.resolved) == (stored.created.replace(microsecond=0), stored.resolved and
                                                   stored.resolved.replace(microsecond=stored.resolved.microsecond
                                                                           // 1000 * 1000))
        assert issue.sprint_ids == tuple(stored.sprint_ids)
        expected_since = stored.history[-1].at if stored.history else stored.created
        assert abs(issue.status_since - expected_since) < timedelta(milliseconds=1)
    assert any(i.parent_key for i in issues.values()) and any(i.reviewer for i in issues.values())


def test_status_since_reads_the_full_changelog_when_search_cuts_it(sandbox, tracker):
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    statuses = ["To Do", "In Progress", "In Review"]
    history = [StatusChange(start + timedelta(hours=h), statuses[h % 3], statuses[(h + 1) % 3]) for h in range(44)]
    issue = sandbox.add_issue(status=history[-1].to_status, history=history, created=start - timedelta(days=1))
    [found] = tracker.issues(f"key = {issue.key}", estimation_field=None)
    assert found.status == "In Review" and found.status_since == history[-1].at
    extra = sandbox.calls_to(f"/issue/{issue.key}")
    assert len(extra) == (1 if sandbox.mode == "cloud" else 0)


def test_issue_without_status_change_has_been_in_its_status_since_creation(sandbox, tracker):
    issue = sandbox.add_issue(created=NOW - timedelta(days=3))
    [found] = tracker.issues(f"key = {issue.key}", estimation_field=None)
    assert found.status_since == NOW - timedelta(days=3) and found.points is None


# --- convenience queries -------------------------------------------------------------------------------------


def test_sprint_issues(sandbox, tracker):
    found = tracker.sprint_issues(ACTIVE_SPRINT_ID, estimation_field=STORY_POINTS_FIELD)
    expected = {k for k, i in sandbox.issues.items() if ACTIVE_SPRINT_ID in i.sprint_ids}
    assert {i.key for i in found} == expected and len(expected) > 10
    assert sandbox.calls_to("search")[0][3]["jql"] == f"sprint = {ACTIVE_SPRINT_ID} ORDER BY key ASC"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_resolved_and_created_between_are_exact_in_any_account_time_zone(zone, sleeps):
    with JiraSandbox(mode="cloud", now=NOW, user_timezone=zone) as sandbox:
        tracker = make_tracker(sandbox, sleeps)
        start = datetime(2025, 2, 17, 0, 0, 30, tzinfo=UTC)
        end = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
        resolved = tracker.resolved_between("PAY", start, end, estimation_field=STORY_POINTS_FIELD)
        created = tracker.created_between("PAY", start, end, estimation_field=None)
        assert {i.key for i in resolved} == {
            k for k, i in sandbox.issues.items() if i.resolved and start <= i.resolved < end
        }
        assert {i.key for i in created} == {k for k, i in sandbox.issues.items() if start <= i.created < end}
        assert resolved and created
        jql = sandbox.calls_to("search")[0][3]["jql"]
        assert jql.startswith('project = "PAY" AND resolved >= "') and jql.endswith(" ORDER BY key ASC")


def test_in_statuses_quotes_each_status(sandbox, tracker):
    found = tracker.in_statuses("PAY", ["In Review", "Code Review"], estimation_field=None)
    assert {i.key for i in found} == {
        k for k, i in sandbox.issues.items() if i.status in ("In Review", "Code Review")
    }
    assert 'status in ("In Review", "Code Review")' in sandbox.calls_to("search")[0][3]["jql"]
    with pytest.raises(ValueError):
        tracker.in_statuses("PAY", "In Review", estimation_field=None)


# --- boards and sprints --------------------------------------------------------------------------------------


def test_board_and_estimation_field(tracker):
    board = tracker.board(12)
    assert (board.id, board.name, board.type, board.project_key) == (12, "Payments", "scrum", "PAY")
    assert board.estimation_field == STORY_POINTS_FIELD
    kanban = tracker.board(13)
    assert kanban.type == "kanban" and kanban.estimation_field is None
    assert tracker.estimation_field(13) is None


def test_sprints_page_and_filter(sandbox, tracker):
    sandbox.page_size = 2
    sprints = tracker.sprints(12)
    assert [s.id for s in sprints] == list(range(jira_seed.FIRST_SPRINT_ID, ACTIVE_SPRINT_ID + 1))
    assert len(sandbox.calls_to("/board/12/sprint")) == 4
    [active] = tracker.sprints(12, states=("active",))
    assert active.state == "active" and active.start <= NOW < active.end and active.board_id == 12
    assert active.start.tzinfo is not None
    with pytest.raises(ValueError):
        tracker.sprints(12, states=("open",))


def test_kanban_board_has_no_sprints(tracker):
    with pytest.raises(BoardHasNoSprints) as caught:
        tracker.sprints(13)
    assert isinstance(caught.value, TrackerError) and "Jira board 13" in str(caught.value)
    assert "Scrum" in str(caught.value)


def test_create_then_partial_update_keeps_the_goal(sandbox, tracker):
    start = datetime(2025, 3, 21, 9, 0, tzinfo=UTC)
    created = tracker.create_sprint(
        board_id=12, name="Payments Sprint 2", start=start, end=start + timedelta(days=14), goal="Ship refunds"
    )
    assert created == Sprint(created.id, "Payments Sprint 2", "future", start, start + timedelta(days=14),
                             "Ship refunds", 12)
    renamed = tracker.update_sprint(created.id, name="Payments Sprint 2 — Refactor")
    assert renamed.name == "Payments Sprint 2 — Refactor"
    assert renamed.goal == "Ship refunds" and renamed.start == start  # a partial update keeps the rest
    method, _, _, body = sandbox.calls_to(f"/sprint/{created.id}")[-1]
    assert method == "POST" and body == {"name": "Payments Sprint 2 — Refactor"}
    # What a PUT would have done:
    requests.put(
        f"{sandbox.url}/rest/agile/1.0/sprint/{created.id}",
        json={"name": "Payments Sprint 2"},
        **({"auth": (jira_seed.BOT_EMAIL, CLOUD_API_TOKEN)} if sandbox.mode == "cloud"
           else {"headers": {"Authorization": f"Bearer {DC_PAT}"}}),
    )
    assert sandbox.sprints[created.id].goal is None and sandbox.sprints[created.id].start is None


def test_update_sprint_dates_and_goal(sandbox, tracker):
    sprint = sandbox.add_sprint(board_id=12, name="Later", goal="keep")
    start = datetime(2025, 4, 4, 9, 0, tzinfo=UTC)
    updated = tracker.update_sprint(sprint.id, start=start, end=start + timedelta(days=10))
    assert (updated.start, updated.end, updated.goal) == (start, start + timedelta(days=10), "keep")
    assert tracker.update_sprint(sprint.id, goal="").goal == ""
    assert tracker.sprint(sprint.id).name == "Later"
    with pytest.raises(ValueError):
        tracker.update_sprint(sprint.id, start=datetime(2025, 4, 4))  # naive


def test_move_issues_to_sprint(sandbox, tracker):
    future = sandbox.add_sprint(board_id=12, name="Next")
    keys = [k for k, i in sandbox.issues.items() if ACTIVE_SPRINT_ID in i.sprint_ids][:3]
    tracker.move_issues_to_sprint(future.id, keys)
    assert all(sandbox.issues[k].sprint_ids[-1] == future.id for k in keys)
    tracker.move_issues_to_sprint(future.id, [])
    assert len(sandbox.calls_to(f"/sprint/{future.id}/issue")) == 1


# --- issues --------------------------------------------------------------------------------------------------


def test_labels_are_added_and_removed_keeping_the_others(sandbox, tracker):
    issue = sandbox.add_issue(labels=["refactor", "incident"])
    tracker.add_label(issue.key, "ai-heavy")
    tracker.add_label(issue.key, "ai-heavy")
    tracker.remove_label(issue.key, "incident")
    assert sandbox.issues[issue.key].labels == ["refactor", "ai-heavy"]
    bodies = [body for method, _, _, body in sandbox.calls_to(f"/issue/{issue.key}", "PUT")]
    assert bodies[0] == {"update": {"labels": [{"add": "ai-heavy"}]}}
    assert bodies[-1] == {"update": {"labels": [{"remove": "incident"}]}}


def test_comment_goes_through_rest_v2_as_text(sandbox, tracker):
    comment_id = tracker.add_comment("PAY-1", "This ai-heavy issue in zone 1 needs a human-first plan.")
    stored = sandbox.issues["PAY-1"].comments[-1]
    assert stored["id"] == comment_id and stored["body"].startswith("This ai-heavy issue")
    assert sandbox.calls[-1][:2] == ("POST", "/rest/api/2/issue/PAY-1/comment")


def test_get_issue_returns_only_the_asked_fields(tracker):
    raw = tracker.get_issue("PAY-1", ["labels", "status"])
    assert raw["key"] == "PAY-1" and set(raw["fields"]) == {"labels", "status"}


# --- retries -------------------------------------------------------------------------------------------------


def test_429_honours_retry_after_with_the_injected_sleep(sandbox, tracker, sleeps):
    sandbox.fail_next("/board/12", status=429, retry_after=7)
    started = time.perf_counter()
    assert tracker.board(12).name == "Payments"
    assert sleeps == [7.0]
    assert time.perf_counter() - started < 2  # the jira package's own retry sleep is off
    assert tracker.calls == len(sandbox.calls) == 2  # its configuration (which names the board too) twice


def test_503_is_retried_with_exponential_backoff(sandbox, tracker, sleeps):
    sandbox.fail_next("/board/12/sprint", count=3, status=503, retry_after=None)
    assert len(tracker.sprints(12)) == 7
    assert sleeps == [0.5, 1.0, 2.0]


def test_retries_are_bounded(sandbox, sleeps):
    tracker = make_tracker(sandbox, sleeps, max_retries=2, max_backoff=0.75)
    sandbox.fail_next("/board/12", count=10, status=503, retry_after=None)
    with pytest.raises(TrackerUnavailable, match="try again later"):
        tracker.board(12)
    assert sleeps == [0.5, 0.75]
    assert tracker.calls == 3


def test_a_retry_after_beyond_max_backoff_gives_up_at_once(sandbox, tracker, sleeps):
    sandbox.fail_next("/board/12", status=429, retry_after=3600)
    with pytest.raises(TrackerUnavailable, match="asked to wait 3600 s") as caught:
        tracker.board(12)
    assert sleeps == [] and caught.value.status == 429


def test_creating_a_sprint_is_not_resent_after_a_gateway_error_but_is_after_429(sandbox, tracker, sleeps):
    start = datetime(2025, 3, 21, 9, 0, tzinfo=UTC)
    kwargs = {"board_id": 12, "start": start, "end": start + timedelta(days=14), "goal": ""}
    sandbox.fail_next("/rest/agile/1.0/sprint", status=502, retry_after=None)
    with pytest.raises(TrackerUnavailable):
        tracker.create_sprint(name="Payments Sprint 2", **kwargs)
    assert sleeps == []
    sandbox.fail_next("/rest/agile/1.0/sprint", status=429, retry_after=2)
    created = tracker.create_sprint(name="Payments Sprint 2", **kwargs)
    assert sleeps == [2.0] and created.goal == ""
    assert [s.name for s in sandbox.sprints.values()].count("Payments Sprint 2") == 1


def test_connection_refused_becomes_unavailable_after_bounded_retries(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tracker = JiraTracker(url=f"http://127.0.0.1:{port}", pat="secret-pat", max_retries=3, sleep=sleeps)
    with pytest.raises(TrackerUnavailable, match="could not be reached") as caught:
        tracker.board(12)
    assert sleeps == [0.5, 1.0, 2.0] and tracker.calls == 4
    assert "secret-pat" not in str(caught.value)


def test_timeouts_are_retried_then_reported(sandbox, sleeps):
    tracker = make_tracker(sandbox, sleeps, timeout=0.05, max_retries=1)
    tracker.deployment  # noqa: B018 - read before the sandbox slows down
    sandbox.set_latency(0.3)
    with pytest.raises(TrackerUnavailable, match="did not answer in time"):
        tracker.board(12)
    assert sleeps == [0.5]


# --- errors --------------------------------------------------------------------------------------------------


def test_refused_credentials_give_an_auth_error_without_the_secret(sandbox, sleeps):
    secret = "super-secret-value-123"
    if sandbox.mode == "cloud":
        tracker = JiraTracker(url=sandbox.url, email="govbot@example.com", api_token=secret, sleep=sleeps)
    else:
        tracker = JiraTracker(url=sandbox.url, pat=secret, sleep=sleeps)
    with pytest.raises(TrackerAuthError) as caught:
        tracker.board(12)
    error = caught.value
    assert "JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)" in str(error)
    assert error.status == 401 and sleeps == []
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(tracker)
    assert secret not in shown


def test_missing_board_and_issue_are_not_found(tracker):
    with pytest.raises(TrackerNotFound, match="Jira board 999 does not exist"):
        tracker.board(999)
    with pytest.raises(TrackerNotFound, match="Jira board 999 does not exist"):
        tracker.sprints(999)
    with pytest.raises(TrackerNotFound, match="Jira issue PAY-9999 does not exist"):
        tracker.add_label("PAY-9999", "refactor")
    with pytest.raises(TrackerNotFound, match="Jira sprint 4242"):
        tracker.update_sprint(4242, name="x")


def test_jira_rejections_become_tracker_errors_with_jiras_reason(tracker):
    with pytest.raises(TrackerError, match="does not exist for the field 'project'") as caught:
        tracker.issues('project = "NOPE"', estimation_field=None)
    assert caught.value.status == 400 and type(caught.value) is TrackerError


def test_credentials_are_required():
    with pytest.raises(ValueError, match="JIRA_PAT"):
        JiraTracker(url="https://example.atlassian.net", email="a@example.com")
    with pytest.raises(ValueError, match="JIRA_URL"):
        JiraTracker(url="example.atlassian.net", pat="x")


# --- JQL safety ----------------------------------------------------------------------------------------------

NO_CONTROL = st.text().filter(lambda s: not any(unicodedata.category(c) == "Cc" for c in s))


@given(NO_CONTROL)
@settings(max_examples=300, deadline=None)
def test_jql_quote_round_trips_through_the_sandbox_lexer(value):
    tokens = tokenize(jql_quote(value))
    assert [(t.kind, t.text) for t in tokens[:-1]] == [("string", value)] and tokens[-1].kind == "end"


@given(st.text(min_size=1).filter(lambda s: any(unicodedata.category(c) == "Cc" for c in s)))
def test_jql_quote_rejects_control_characters(value):
    with pytest.raises(ValueError, match="control characters"):
        jql_quote(value)


@pytest.fixture(scope="module")
def cloud_pair():
    with JiraSandbox(mode="cloud", now=NOW) as sandbox:
        yield sandbox, JiraTracker(url=sandbox.url, sleep=Sleeps(), **sandbox.credentials)


@given(st.text(min_size=1, max_size=40).filter(lambda s: not any(c.isspace() or unicodedata.category(c) == "Cc"
                                                                  for c in s)))
@settings(max_examples=40, deadline=None)
def test_quoted_labels_find_exactly_their_issue_over_http(cloud_pair, label):
    sandbox, tracker = cloud_pair
    with sandbox.lock:
        issue = sandbox.add_issue(labels=[label])
    found = [raw["key"] for raw in tracker.search(f"labels = {jql_quote(label)}", fields=["labels"])]
    assert issue.key in found
    assert all(label.casefold() in [lbl.casefold() for lbl in sandbox.issues[k].labels] for k in found)


def test_user_text_never_reaches_jql(sandbox, tracker):
    hostile = "ABC-1 OR project = SECRET"
    with pytest.raises(ValueError, match="looks like PAY-123"):
        validate_issue_key(hostile)
    with pytest.raises(ValueError, match="looks like PAY-123"):
        tracker.add_label(hostile, "refactor")
    with pytest.raises(ValueError, match="looks like PAY-123"):
        tracker.move_issues_to_sprint(ACTIVE_SPRINT_ID, ["PAY-1", hostile])
    with pytest.raises(ValueError):
        tracker.resolved_between('PAY" OR project = "SECRET', NOW - timedelta(days=7), NOW, estimation_field=None)
    with pytest.raises(ValueError):
        tracker.add_label("PAY-1", "refactor OR x")
    assert sandbox.calls == [] and tracker.calls == 0


@pytest.mark.parametrize("key", ["PAY-1", "A-1", "AB_2-123456789", "PAY2-10"])
def test_valid_issue_keys(key):
    assert validate_issue_key(key) == key


@pytest.mark.parametrize(
    "key", ["pay-1", "PAY-0", "PAY-01", "PAY1", "-1", "PAY-1\n", " PAY-1", "ABCDEFGHIJK-1", "PAY-1234567890", 12]
)
def test_invalid_issue_keys(key):
    with pytest.raises(ValueError):
        validate_issue_key(key)


def test_project_keys_and_labels():
    assert validate_project_key("PAY") == "PAY"
    for bad in ("pay", "PAY-1", "", "P AY", "PAY\n", "ABCDEFGHIJK"):
        with pytest.raises(ValueError):
            validate_project_key(bad)
    assert validate_label("ai-heavy") == "ai-heavy"
    assert validate_label("x" * 255)
    for bad in ("", "two words", "tab\there", "x" * 256, "nl\n"):
        with pytest.raises(ValueError, match="without spaces"):
            validate_label(bad)
