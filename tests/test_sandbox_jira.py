"""The Jira sandbox: its JQL evaluator, its endpoints in Cloud and Data Center mode, and its seed."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from govbot.sandbox import jira_seed
from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL, DC_PAT, JiraSandbox
from govbot.sandbox.jira_seed import SEED_MEMBERS, StatusChange
from govbot.sandbox.jql import JqlError, Query, tokenize

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


# --- JQL evaluator -------------------------------------------------------------------------------------------


def record(key: str, **fields) -> dict:
    base = {
        "key": key,
        "project": "PAY",
        "sprint": [],
        "status": "To Do",
        "labels": [],
        "issuetype": "Story",
        "component": [],
        "assignee": None,
        "parent": None,
        "epic link": None,
        "created": T0,
        "resolved": None,
        "updated": T0,
    }
    return base | fields


RECORDS = [
    record("PAY-1", labels=["ai-heavy", "refactor"], status="In Review", sprint=[1], component=["auth"]),
    record("PAY-2", labels=["human-first"], status="Done", resolved=T0 + timedelta(days=2), sprint=[1, 2]),
    record("PAY-10", labels=[], status="Code Review", issuetype="Bug", assignee="ada", created=T0 + timedelta(days=5)),
    record("PAY-3", labels=["ai-heavy"], issuetype="Epic", component=["payments", "ui"], parent=None),
    record("OPS-1", project="OPS", labels=["incident"], issuetype="Incident", parent="PAY-3", **{"epic link": "PAY-3"}),
]


def keys(jql: str, tz=UTC, **kwargs) -> list[str]:
    query = Query(jql, tz=tz, **kwargs)
    return [r["key"] for r in query.sort([r for r in RECORDS if query.matches(r)])]


def test_equality_and_inequality():
    assert keys("project = PAY") == ["PAY-1", "PAY-2", "PAY-3", "PAY-10"]
    assert keys('status = "in review"') == ["PAY-1"]  # values compare case-insensitively
    # != never matches an empty field, as in Jira.
    assert keys("labels != ai-heavy") == ["OPS-1", "PAY-2"]
    assert keys("assignee != ada") == []


def test_in_and_not_in_lists():
    assert keys('status in ("In Review", "Code Review")') == ["PAY-1", "PAY-10"]
    assert keys("labels in (refactor, incident)") == ["OPS-1", "PAY-1"]
    assert keys("labels not in (ai-heavy)") == ["OPS-1", "PAY-2"]
    assert keys("labels in (EMPTY, incident)") == ["OPS-1", "PAY-10"]
    assert keys("sprint in (2)") == ["PAY-2"]
    assert keys("sprint = 1") == ["PAY-1", "PAY-2"]


def test_empty_checks():
    assert keys("resolved is EMPTY AND project = PAY") == ["PAY-1", "PAY-3", "PAY-10"]
    assert keys("resolved is not empty") == ["PAY-2"]
    assert keys("labels is EMPTY") == ["PAY-10"]
    assert keys("assignee = EMPTY AND labels = incident") == ["OPS-1"]
    assert keys('"Epic Link" is not EMPTY') == ["OPS-1"]
    assert keys("parent = PAY-3") == ["OPS-1"]


def test_date_comparisons_in_the_users_time_zone():
    assert keys('created > "2025/01/01 12:00"') == ["PAY-10"]
    assert keys('created >= "2025/01/01 12:00"') == ["OPS-1", "PAY-1", "PAY-2", "PAY-3", "PAY-10"]
    assert keys('created < "2025-01-06"') == ["OPS-1", "PAY-1", "PAY-2", "PAY-3"]
    assert keys('resolutiondate <= "2025/01/03 12:00"') == ["PAY-2"]
    # 13:00 in Berlin is 12:00 UTC: the literal is read in the user's zone.
    berlin = ZoneInfo("Europe/Berlin")
    assert keys('created >= "2025/01/01 13:01" AND created <= "2025/01/02"', tz=berlin) == []
    assert keys('created >= "2025/01/01 13:00" AND created < "2025/01/02"', tz=berlin) == [
        "OPS-1", "PAY-1", "PAY-2", "PAY-3",
    ]


def test_and_binds_tighter_than_or_and_parentheses_override():
    assert keys("project = OPS OR labels = ai-heavy AND issuetype = Epic") == ["OPS-1", "PAY-3"]
    assert keys("(project = OPS OR labels = ai-heavy) AND issuetype = Epic") == ["PAY-3"]
    assert keys("NOT project = PAY") == ["OPS-1"]
    assert keys("not (labels = ai-heavy or labels is empty) and project = PAY") == ["PAY-2"]


def test_keywords_are_case_insensitive_and_field_aliases_work():
    assert keys("Project = pay AnD Type = bug") == ["PAY-10"]
    assert keys("issuekey IN (PAY-2, pay-10)") == ["PAY-2", "PAY-10"]


def test_order_by():
    assert keys("ORDER BY key DESC") == ["PAY-10", "PAY-3", "PAY-2", "PAY-1", "OPS-1"]
    assert keys("project = PAY ORDER BY created DESC, key ASC") == ["PAY-10", "PAY-1", "PAY-2", "PAY-3"]
    # Empty values sort last when ascending.
    assert keys("project = PAY order by resolved asc") == ["PAY-2", "PAY-1", "PAY-3", "PAY-10"]


def test_quoted_strings_unescape():
    tokens = tokenize(r'"a \"b\" \\ c" ' + r"'it\'s' " + r'"\u00e9\t"')
    assert [t.text for t in tokens if t.kind == "string"] == ['a "b" \\ c', "it's", "é\t"]


def test_vocabulary_rejects_unknown_values():
    with pytest.raises(JqlError, match="does not exist for the field 'project'"):
        Query("project = NOPE", tz=UTC, vocabulary={"project": {"PAY"}})
    with pytest.raises(JqlError, match="Sprint with id 99"):
        Query("sprint = 99", tz=UTC, vocabulary={"sprint": {"1"}})
    query = Query('sprint = "Sprint One"', tz=UTC, sprint_names={"Sprint One": 2})
    assert [r["key"] for r in RECORDS if query.matches(r)] == ["PAY-2"]


@pytest.mark.parametrize(
    "jql, message",
    [
        ("summary ~ foo", "Field 'summary' does not exist"),
        ("labels ~ foo", "operator '~'"),
        ("assignee = currentUser()", "function"),
        ("sprint in openSprints()", "function"),
        ('status = "open', "Missing closing quote"),
        ("project = PAY AND", "Expecting a field name"),
        ("project = PAY project = OPS", "Expecting either 'OR' or 'AND'"),
        ("project PAY", "Expecting operator"),
        ("(project = PAY", "Expecting ')'"),
        ("labels in ai-heavy", "Expecting '('"),
        ("created > -7d", "Date value '-7d'"),
        ("status > Done", "operator '>' is not supported"),
        ("labels is ai-heavy", "only supports EMPTY"),
        ("labels = a*b", "reserved JQL character"),
        (r'labels = "a\qb"', "illegal JQL escape"),
        ("project = PAY ORDER key", "Expecting 'BY'"),
        ("ORDER BY summary", "Field 'summary' does not exist"),
    ],
)
def test_what_it_does_not_understand_is_an_error(jql, message):
    with pytest.raises(JqlError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        Query(jql, tz=UTC)


# --- endpoints -----------------------------------------------------------------------------------------------


@pytest.fixture(params=["cloud", "datacenter"])
def sandbox(request):
    with JiraSandbox(mode=request.param, now=NOW) as sb:
        yield sb


def client(sb: JiraSandbox) -> requests.Session:
    session = requests.Session()
    if sb.mode == "cloud":
        session.auth = (CLOUD_EMAIL, CLOUD_API_TOKEN)
    else:
        session.headers["Authorization"] = f"Bearer {DC_PAT}"
    return session


def search_all(sb: JiraSandbox, jql: str, fields=("status",)) -> list[dict]:
    """Page through search the way each deployment wants."""
    http = client(sb)
    issues: list[dict] = []
    if sb.mode == "cloud":
        token = None
        while True:
            body = {"jql": jql, "fields": list(fields), "maxResults": 100} | ({"nextPageToken": token} if token else {})
            page = http.post(f"{sb.url}/rest/api/3/search/jql", json=body).json()
            issues += page["issues"]
            token = page.get("nextPageToken")
            if page["isLast"]:
                assert token is None
                return issues
    start = 0
    while True:
        page = http.post(
            f"{sb.url}/rest/api/2/search", json={"jql": jql, "startAt": start, "fields": list(fields)}
        ).json()
        issues += page["issues"]
        start += len(page["issues"])
        assert page["total"] == len(sb.issues) or "project" not in jql
        if start >= page["total"]:
            return issues


def test_server_info_names_the_deployment_and_is_anonymous(sandbox):
    info = requests.get(f"{sandbox.url}/rest/api/2/serverInfo").json()
    assert info["deploymentType"] == ("Cloud" if sandbox.mode == "cloud" else "Server")


def test_wrong_or_missing_credentials_get_401_in_jiras_shape(sandbox):
    for auth in (None, ("govbot@example.com", "wrong"), ("nobody", CLOUD_API_TOKEN)):
        response = requests.get(f"{sandbox.url}/rest/api/2/myself", auth=auth)
        assert response.status_code == 401
        assert response.json()["errorMessages"] and response.json()["errors"] == {}
    bearer = requests.get(f"{sandbox.url}/rest/agile/1.0/board/12", headers={"Authorization": "Bearer nope"})
    assert bearer.status_code == 401
    # Credentials of the other deployment are refused too.
    other = {"Authorization": f"Bearer {DC_PAT}"} if sandbox.mode == "cloud" else {}
    auth = None if sandbox.mode == "cloud" else (CLOUD_EMAIL, CLOUD_API_TOKEN)
    assert requests.get(f"{sandbox.url}/rest/api/2/myself", headers=other, auth=auth).status_code == 401


def test_myself_and_fields_differ_per_deployment(sandbox):
    http = client(sandbox)
    me = http.get(f"{sandbox.url}/rest/api/2/myself").json()
    fields = {f["id"]: f for f in http.get(f"{sandbox.url}/rest/api/2/field").json()}
    assert fields[jira_seed.SPRINT_FIELD]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert me["timeZone"] == "UTC"
    if sandbox.mode == "cloud":
        assert me["accountId"] == jira_seed.BOT_ACCOUNT_ID and "name" not in me
        assert jira_seed.EPIC_LINK_FIELD not in fields
    else:
        assert me["name"] == "govbot" and "accountId" not in me
        assert fields[jira_seed.EPIC_LINK_FIELD]["name"] == "Epic Link"


def test_search_pages_through_every_issue(sandbox):
    issues = search_all(sandbox, "project = PAY ORDER BY key ASC")
    assert len(sandbox.issues) > 2 * sandbox.page_size
    assert [i["key"] for i in issues] == sorted(sandbox.issues, key=lambda k: int(k.split("-")[1]))
    assert set(issues[0]["fields"]) == {"status"}
    path = "/rest/api/3/search/jql" if sandbox.mode == "cloud" else "/rest/api/2/search"
    assert len(sandbox.calls_to(path)) == 3


def test_cloud_search_forms(sandbox):
    http = client(sandbox)
    legacy = http.get(f"{sandbox.url}/rest/api/2/search", params={"jql": "project = PAY"})
    enhanced = http.get(f"{sandbox.url}/rest/api/2/search/jql", params={"jql": "project = PAY", "maxResults": 2})
    v3 = http.get(f"{sandbox.url}/rest/api/3/myself")
    if sandbox.mode == "cloud":
        assert legacy.status_code == 410 and "search/jql" in legacy.json()["errorMessages"][0]
        page = enhanced.json()
        assert [set(i) for i in page["issues"]] == [{"expand", "id", "self", "key"}] * 2  # ids only by default
        other = http.get(
            f"{sandbox.url}/rest/api/3/search/jql",
            params={"jql": "project = PAY AND labels is not EMPTY", "nextPageToken": page["nextPageToken"]},
        )
        assert other.status_code == 400 and "different query" in other.json()["errorMessages"][0]
        assert http.get(f"{sandbox.url}/rest/api/3/search/jql", params={"jql": ""}).status_code == 400
        assert v3.status_code == 200
    else:
        assert legacy.status_code == 200 and legacy.json()["total"] == len(sandbox.issues)
        assert enhanced.status_code == 404
        assert v3.status_code == 404  # Data Center has no REST v3


def test_bad_jql_is_a_400_in_jiras_shape(sandbox):
    http = client(sandbox)
    path = "/rest/api/3/search/jql" if sandbox.mode == "cloud" else "/rest/api/2/search"
    for jql in ("project = PAY AND summary ~ x", "project = NOPE", "assignee = currentUser()"):
        response = http.post(f"{sandbox.url}{path}", json={"jql": jql})
        assert response.status_code == 400
        body = response.json()
        assert body["errors"] == {} and len(body["errorMessages"]) == 1


def test_issue_rendering_per_deployment(sandbox):
    story = next(i for i in sandbox.issues.values() if i.parent_key and i.reviewer and len(i.sprint_ids) == 1)
    raw = client(sandbox).get(f"{sandbox.url}/rest/api/2/issue/{story.key}").json()
    fields = raw["fields"]
    assert fields["customfield_10016"] == story.points
    assert fields["labels"] == story.labels
    user = jira_seed.seed_users()[story.assignee]
    sprint = fields[jira_seed.SPRINT_FIELD][0]
    if sandbox.mode == "cloud":
        assert fields["parent"]["key"] == story.parent_key
        assert fields["assignee"]["accountId"] == user.account_id
        assert sprint["id"] == story.sprint_ids[0]
    else:
        assert "parent" not in fields and fields[jira_seed.EPIC_LINK_FIELD] == story.parent_key
        assert fields["assignee"]["name"] == user.username
        assert f"[id={story.sprint_ids[0]},rapidViewId=12," in sprint
    assert client(sandbox).get(f"{sandbox.url}/rest/api/2/issue/PAY-99999").status_code == 404


def test_issue_update_operations_keep_other_labels(sandbox):
    http = client(sandbox)
    issue = sandbox.add_issue(labels=["human-first", "refactor"])
    url = f"{sandbox.url}/rest/api/2/issue/{issue.key}"
    assert http.put(url, json={"update": {"labels": [{"add": "ai-heavy"}, {"remove": "human-first"}]}}).status_code == 204
    assert sandbox.issues[issue.key].labels == ["refactor", "ai-heavy"]
    assert http.put(url, json={"fields": {"labels": ["x"], "customfield_10016": 5}}).status_code == 204
    assert sandbox.issues[issue.key].labels == ["x"] and sandbox.issues[issue.key].points == 5
    spaced = http.put(url, json={"update": {"labels": [{"add": "two words"}]}})
    assert spaced.status_code == 400 and "spaces" in spaced.json()["errors"]["labels"]
    unknown = http.put(url, json={"fields": {"priority": {"name": "High"}}})
    assert unknown.status_code == 400 and "priority" in unknown.json()["errors"]


def test_comments_v2_take_text_v3_takes_adf(sandbox):
    http = client(sandbox)
    v2 = http.post(f"{sandbox.url}/rest/api/2/issue/PAY-1/comment", json={"body": "Please label this issue."})
    assert v2.status_code == 201 and sandbox.issues["PAY-1"].comments[-1]["body"] == "Please label this issue."
    if sandbox.mode == "cloud":
        text = http.post(f"{sandbox.url}/rest/api/3/issue/PAY-1/comment", json={"body": "plain"})
        assert text.status_code == 400
        adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": []}]}
        assert http.post(f"{sandbox.url}/rest/api/3/issue/PAY-1/comment", json={"body": adf}).status_code == 201


def test_boards_and_configuration(sandbox):
    http = client(sandbox)
    board = http.get(f"{sandbox.url}/rest/agile/1.0/board/12").json()
    assert (board["type"], board["name"], board["location"]["projectKey"]) == ("scrum", "Payments", "PAY")
    config = http.get(f"{sandbox.url}/rest/agile/1.0/board/12/configuration").json()
    assert config["estimation"]["field"]["fieldId"] == jira_seed.STORY_POINTS_FIELD
    assert "estimation" not in http.get(f"{sandbox.url}/rest/agile/1.0/board/13/configuration").json()
    missing = http.get(f"{sandbox.url}/rest/agile/1.0/board/999")
    assert missing.status_code == 404 and missing.json()["errorMessages"]


def test_board_sprints_page_filter_and_refuse_kanban(sandbox):
    http = client(sandbox)
    sandbox.page_size = 3
    url = f"{sandbox.url}/rest/agile/1.0/board/12/sprint"
    first = http.get(url).json()
    assert (len(first["values"]), first["isLast"]) == (3, False)
    last = http.get(url, params={"startAt": 6}).json()
    assert [s["id"] for s in last["values"]] == [jira_seed.ACTIVE_SPRINT_ID] and last["isLast"]
    active = http.get(url, params={"state": "active,future"}).json()["values"]
    assert [s["state"] for s in active] == ["active"]
    assert http.get(url, params={"state": "open"}).status_code == 400
    kanban = http.get(f"{sandbox.url}/rest/agile/1.0/board/13/sprint")
    assert kanban.status_code == 400 and kanban.json()["errorMessages"] == ["The board does not support sprints"]


def test_sprint_create_partial_update_and_full_update(sandbox):
    http = client(sandbox)
    base = f"{sandbox.url}/rest/agile/1.0/sprint"
    created = http.post(base, json={
        "name": "  Payments Sprint 2 ", "originBoardId": 12, "goal": "Ship it",
        "startDate": "2025-03-21T09:00:00.000+00:00", "endDate": "2025-04-04T09:00:00.000+00:00",
    })
    assert created.status_code == 201
    sprint = created.json()
    assert (sprint["state"], sprint["name"], sprint["goal"]) == ("future", "Payments Sprint 2", "Ship it")
    url = f"{base}/{sprint['id']}"
    partial = http.post(url, json={"name": "Payments Sprint 2 — Refactor"}).json()
    assert partial["goal"] == "Ship it" and partial["startDate"].startswith("2025-03-21")
    full = http.put(url, json={"name": "Renamed"}).json()
    assert "goal" not in full and "startDate" not in full  # PUT nulls what it omits
    assert http.get(url).json()["name"] == "Renamed"
    assert http.post(base, json={"name": "x", "originBoardId": 13}).status_code == 400
    assert http.post(base, json={"originBoardId": 12}).status_code == 400
    closed = f"{base}/{jira_seed.FIRST_SPRINT_ID}"
    assert http.post(closed, json={"startDate": "2025-03-21T09:00:00.000Z"}).status_code == 400
    assert http.get(f"{base}/1").status_code == 404


def test_move_issues_into_a_sprint(sandbox):
    http = client(sandbox)
    future = sandbox.add_sprint(board_id=12, name="Next")
    issue = next(i for i in sandbox.issues.values() if i.sprint_ids == [jira_seed.ACTIVE_SPRINT_ID])
    moved = http.post(f"{sandbox.url}/rest/agile/1.0/sprint/{future.id}/issue", json={"issues": [issue.key]})
    assert moved.status_code == 204 and sandbox.issues[issue.key].sprint_ids == [future.id]
    closed = http.post(
        f"{sandbox.url}/rest/agile/1.0/sprint/{jira_seed.FIRST_SPRINT_ID}/issue", json={"issues": [issue.key]}
    )
    assert closed.status_code == 400


def test_fault_injection_and_call_log(sandbox):
    http = client(sandbox)
    sandbox.fail_next("/board/12", count=2, status=429, retry_after=3)
    first = http.get(f"{sandbox.url}/rest/agile/1.0/board/12", params={"x": "1"})
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert http.get(f"{sandbox.url}/rest/agile/1.0/board/12").status_code == 429
    assert http.get(f"{sandbox.url}/rest/agile/1.0/board/12").status_code == 200
    sandbox.fail_next("/myself", status=503, retry_after=None)
    down = http.get(f"{sandbox.url}/rest/api/2/myself")
    assert down.status_code == 503 and "Retry-After" not in down.headers
    assert sandbox.calls[0] == ("GET", "/rest/agile/1.0/board/12", {"x": "1"}, None)
    http.post(f"{sandbox.url}/rest/agile/1.0/sprint/{jira_seed.ACTIVE_SPRINT_ID}", json={"goal": "g"})
    assert sandbox.calls[-1][3] == {"goal": "g"}


def test_latency_slows_every_answer(sandbox):
    sandbox.set_latency(0.05)
    started = time.perf_counter()
    assert client(sandbox).get(f"{sandbox.url}/rest/agile/1.0/board/12").status_code == 200
    assert time.perf_counter() - started >= 0.05


def test_long_changelog_is_cut_in_cloud_search_and_served_in_full_by_its_endpoint(sandbox):
    history = [StatusChange(T0 + timedelta(hours=h), "In Progress" if h % 2 else "To Do",
                            "To Do" if h % 2 else "In Progress") for h in range(30)]
    issue = sandbox.add_issue(status="In Progress", history=history)
    http = client(sandbox)
    path = "/rest/api/3/search/jql" if sandbox.mode == "cloud" else "/rest/api/2/search"
    found = http.post(
        f"{sandbox.url}{path}", json={"jql": f"key = {issue.key}", "fields": ["status"], "expand": "changelog"}
    ).json()["issues"][0]["changelog"]
    assert found["total"] == 30
    if sandbox.mode == "cloud":
        assert len(found["histories"]) < 30
        page = http.get(f"{sandbox.url}/rest/api/2/issue/{issue.key}/changelog", params={"startAt": 25}).json()
        assert len(page["values"]) == 5 and page["isLast"]
    else:
        assert len(found["histories"]) == 30


# --- seed ----------------------------------------------------------------------------------------------------


def test_seed_is_deterministic_for_a_given_now():
    one, two = jira_seed.seed_data(NOW), jira_seed.seed_data(NOW)
    assert one == two
    assert jira_seed.seed_data(NOW + timedelta(days=1)).issues["PAY-7"].created == (
        one.issues["PAY-7"].created + timedelta(days=1)
    )


def test_seed_has_twelve_weeks_of_sprints_and_a_realistic_team():
    data = jira_seed.seed_data(NOW)
    sprints = sorted(data.sprints.values(), key=lambda s: s.id)
    assert [s.state for s in sprints] == ["closed"] * 6 + ["active"]
    assert sprints[-1].start <= NOW < sprints[-1].end
    assert sprints[-1].start - sprints[0].start == timedelta(weeks=12)
    assert all(b.end == a.end + timedelta(days=14) for a, b in zip(sprints, sprints[1:], strict=False))
    assert {b.id: b.type for b in data.boards.values()} == {12: "scrum", 13: "kanban"}
    assert Counter(m.seniority for m in SEED_MEMBERS) == {"senior": 3, "mid": 3, "junior": 2}
    assert len({m.slack_id for m in SEED_MEMBERS}) == len({m.jira_account_id for m in SEED_MEMBERS}) == 8

    issues = list(data.issues.values())
    assert 100 <= len(issues) <= 160
    assert {i.issue_type for i in issues} == set(jira_seed.ISSUE_TYPES)
    assert {lbl for i in issues for lbl in i.labels} == set(jira_seed.LABELS)
    assert {c for i in issues for c in i.components} == set(jira_seed.COMPONENTS)
    assert all(i.created <= NOW for i in issues)
    assert all((i.status == "Done") == (i.resolved is not None) for i in issues)
    assert all(i.history[-1].to_status == i.status for i in issues if i.history)
    active = [i for i in issues if jira_seed.ACTIVE_SPRINT_ID in i.sprint_ids]
    assert {"In Review", "Code Review"} & {i.status for i in active}
    epics = {i.key for i in issues if i.issue_type == "Epic"}
    children = [i for i in issues if i.parent_key in epics]
    assert len(children) > 20
    # Some children carry no track of their own and inherit their epic's.
    assert any(not {"human-first", "ai-heavy"} & set(i.labels) for i in children)
    assert any(i.reviewer for i in issues) and all(i.assignee for i in issues if i.sprint_ids)


def test_seed_can_be_left_out():
    with JiraSandbox(seed=False) as sandbox:
        assert sandbox.issues == {} and sandbox.boards == {}
        board = sandbox.add_board(id=7, name="Empty", estimation_field=None)
        assert client(sandbox).get(f"{sandbox.url}/rest/agile/1.0/board/7").json()["name"] == board.name
