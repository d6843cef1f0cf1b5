"""The Jira sandbox's staffing support, driven by the real `jira` client in Cloud and Data Center mode:
user search, epics (parent / Epic Link), the reviewer field, label update operations, comments, faults, the
JQL it received, and the seeded sprint with one violation of each rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from jira import JIRA, JIRAError

from govbot.domain.staffing import evaluate
from govbot.domain.tracks import Member, StaffingPolicy
from govbot.domain.work import Issue
from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL, DC_PAT, JiraSandbox
from govbot.sandbox.jira_seed import EPIC_LINK_FIELD, REVIEWER_FIELD, SEED_MEMBERS, STORY_POINTS_FIELD
from govbot.sandbox.jira_staffing import received_jql, seed_staffing_sprint

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
FIELDS = ["issuetype", "labels", "components", "assignee", "parent", STORY_POINTS_FIELD, REVIEWER_FIELD]


@pytest.fixture(params=["cloud", "datacenter"])
def sandbox(request):
    with JiraSandbox(mode=request.param, now=NOW) as sb:
        yield sb


@pytest.fixture
def jira(sandbox):
    auth = (
        {"basic_auth": (CLOUD_EMAIL, CLOUD_API_TOKEN)} if sandbox.mode == "cloud" else {"token_auth": DC_PAT}
    )
    client = JIRA(server=sandbox.url, options={"check_update": False}, max_retries=0, **auth)
    yield client
    client.close()


@pytest.fixture
def scenario(sandbox):
    return seed_staffing_sprint(sandbox)


def search(jira: JIRA, sandbox: JiraSandbox, jql: str, fields: list[str]) -> list[dict]:
    if sandbox.mode == "cloud":
        result = jira.enhanced_search_issues(jql, fields=fields, maxResults=100, json_result=True)
    else:
        result = jira.search_issues(jql, fields=fields, maxResults=100, json_result=True, use_post=True)
    return result["issues"]


def epic_link_field(jira: JIRA) -> str | None:
    return next(
        (f["id"] for f in jira.fields() if (f.get("schema") or {}).get("custom", "").endswith("gh-epic-link")),
        None,
    )


# --- user search


def test_user_search_by_email_gives_the_accountid_on_cloud_and_the_username_on_dc(sandbox, jira):
    ada = SEED_MEMBERS[0]
    if sandbox.mode == "cloud":
        users = jira.search_users(query="ada.lovelace@example.com")
        assert [u.accountId for u in users] == [ada.jira_account_id]
    else:
        users = jira.search_users(user="ada.lovelace@example.com")
        assert [u.name for u in users] == [ada.dc_username]
    assert users[0].displayName == "Ada Lovelace"


def test_user_search_finds_nobody_for_an_unknown_address(jira, sandbox):
    term = "nobody@example.com"
    users = jira.search_users(query=term) if sandbox.mode == "cloud" else jira.search_users(user=term)
    assert list(users) == []


def test_user_search_refuses_the_other_deployments_parameter(sandbox):
    session = requests.Session()
    if sandbox.mode == "cloud":
        session.auth = (CLOUD_EMAIL, CLOUD_API_TOKEN)
        wrong, right = {"username": "ada.lovelace"}, {"query": "Ada L"}
    else:
        session.headers["Authorization"] = f"Bearer {DC_PAT}"
        wrong, right = {"query": "ada"}, {"username": "ada.love"}
    answer = session.get(f"{sandbox.url}/rest/api/2/user/search", params=wrong)
    assert answer.status_code == 400 and answer.json()["errorMessages"]
    found = session.get(f"{sandbox.url}/rest/api/2/user/search", params=right).json()
    assert [u["displayName"] for u in found] == ["Ada Lovelace"]


# --- the seeded sprint as Jira serves it


def test_epics_come_as_parent_on_cloud_and_epic_link_on_dc(sandbox, jira, scenario):
    link = epic_link_field(jira)
    assert (link is None) == (sandbox.mode == "cloud")
    fields = FIELDS + ([link] if link else [])
    (raw,) = search(jira, sandbox, f'key = {scenario.keys["inherited"]}', fields)
    if sandbox.mode == "cloud":
        assert raw["fields"]["parent"]["key"] == scenario.epic_key
    else:
        assert link == EPIC_LINK_FIELD
        assert raw["fields"][EPIC_LINK_FIELD] == scenario.epic_key and "parent" not in raw["fields"]
    assert [c["name"] for c in raw["fields"]["components"]] == ["auth"]


def test_the_seeded_sprint_yields_one_violation_of_each_rule(sandbox, jira, scenario):
    link = epic_link_field(jira)
    raws = search(jira, sandbox, f"sprint = {scenario.sprint_id} ORDER BY key ASC", FIELDS + ([link] if link else []))
    issues = [to_issue(raw, sandbox.mode, link) for raw in raws]
    epics = sorted({i.parent_key for i in issues if i.parent_key})
    epic_raws = search(jira, sandbox, f"key in ({', '.join(epics)})", ["labels"])
    members = [Member(m["slack"], m["jira"], m["seniority"]) for m in scenario.team["members"]]
    settings = scenario.team["settings"]
    policy = StaffingPolicy(
        zones={int(k): tuple(v) for k, v in settings["zones"].items()},
        reviewer_field=settings["reviewer_field"],
        senior_review_cap=settings["senior_review_cap"],
    )
    evaluation = evaluate(
        team="platform", sprint_id=scenario.sprint_id, issues=issues,
        epic_labels={r["key"]: r["fields"]["labels"] for r in epic_raws}, members=members, policy=policy,
        by_points=True,
    )
    assert [(v.rule, v.issue, v.person) for v in evaluation.violations] == scenario.expected
    assert (evaluation.split.human_first, evaluation.split.ai_heavy) == (12, 15)


def to_issue(raw: dict, mode: str, link: str | None) -> Issue:
    fields = raw["fields"]
    ref = "accountId" if mode == "cloud" else "name"
    parent = (fields.get("parent") or {}).get("key") or (fields.get(link) if link else None)
    return Issue(
        key=raw["key"], issue_type=fields["issuetype"]["name"], status="", labels=tuple(fields["labels"]),
        components=tuple(c["name"] for c in fields["components"]), points=fields[STORY_POINTS_FIELD],
        parent_key=parent, assignee=(fields.get("assignee") or {}).get(ref),
        reviewer=(fields.get(REVIEWER_FIELD) or {}).get(ref),
    )


# --- writes


def test_a_label_update_operation_adds_one_track_and_removes_the_other(sandbox, jira, scenario):
    key = scenario.keys["zone1"]
    issue = jira.issue(key, fields="labels")
    issue.update(update={"labels": [{"add": "human-first"}, {"remove": "ai-heavy"}]})
    assert sandbox.issues[key].labels == ["human-first"]
    (put,) = sandbox.calls_to("/issue/", method="PUT")  # the client writes to the issue's self URL
    assert put[3]["update"] == {"labels": [{"add": "human-first"}, {"remove": "ai-heavy"}]}


def test_comments_are_added_and_listed(sandbox, jira, scenario):
    key = scenario.keys["zone2"]
    jira.add_comment(key, "govbot: R4 zone 2 needs a senior reviewer")
    assert [c.body for c in jira.comments(key)] == ["govbot: R4 zone 2 needs a senior reviewer"]
    assert len(sandbox.issues[key].comments) == 1


# --- faults and JQL


@pytest.mark.parametrize("status", [403, 404, 429, 503])
def test_faults_hit_only_the_method_and_path_asked(sandbox, jira, scenario, status):
    key = scenario.keys["unlabelled"]
    sandbox.fail_next("/issue/", status=status, method="PUT")
    assert jira.issue(key, fields="labels").key == key  # a GET on the same path is untouched
    with pytest.raises(JIRAError) as caught:
        jira.issue(key, fields="labels").update(update={"labels": [{"add": "ai-heavy"}]})
    assert caught.value.status_code == status
    assert sandbox.issues[key].labels == []
    jira.issue(key, fields="labels").update(update={"labels": [{"add": "ai-heavy"}]})  # the fault is used up
    assert sandbox.issues[key].labels == ["ai-heavy"]


def test_faults_on_user_search_and_comments(sandbox, jira, scenario):
    sandbox.fail_next("/user/search", status=403)
    with pytest.raises(JIRAError) as caught:
        jira.search_users(query="ada") if sandbox.mode == "cloud" else jira.search_users(user="ada")
    assert caught.value.status_code == 403 and "permission" in caught.value.text
    sandbox.fail_next("/comment", status=503, method="POST")
    with pytest.raises(JIRAError):
        jira.add_comment(scenario.keys["zone1"], "text")
    assert sandbox.issues[scenario.keys["zone1"]].comments == []


def test_the_jql_received_is_recorded_from_get_and_post(sandbox, jira, scenario):
    search(jira, sandbox, f"sprint = {scenario.sprint_id}", ["labels"])
    session = requests.Session()
    if sandbox.mode == "cloud":
        session.auth = (CLOUD_EMAIL, CLOUD_API_TOKEN)
        session.get(f"{sandbox.url}/rest/api/3/search/jql", params={"jql": 'project = "PLAT"'})
    else:
        session.headers["Authorization"] = f"Bearer {DC_PAT}"
        session.get(f"{sandbox.url}/rest/api/2/search", params={"jql": 'project = "PLAT"'})
    assert received_jql(sandbox) == [f"sprint = {scenario.sprint_id}", 'project = "PLAT"']


def test_a_key_that_does_not_exist_is_a_jql_error(sandbox, jira, scenario):
    with pytest.raises(JIRAError) as caught:
        search(jira, sandbox, f"key in ({scenario.epic_key}, PLAT-999)", ["labels"])
    assert caught.value.status_code == 400 and "PLAT-999" in caught.value.text
