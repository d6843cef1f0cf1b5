"""What the Jira sandbox adds for two-track staffing: user search, comment lists, the JQL it received, and a
seeded sprint with exactly one violation of each rule R1–R6.

User search differs per deployment, as on a real Jira: Cloud takes ``query`` (matched against display name and
e-mail address) or ``accountId`` and answers with accountIds; Data Center takes ``username`` (matched against
username, display name and e-mail address) and answers with usernames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from govbot.sandbox.jira_seed import REVIEWER_FIELD, SEED_MEMBERS, STORY_POINTS_FIELD, SeedMember

if TYPE_CHECKING:
    from govbot.sandbox.jira_api import JiraSandbox, Request

USER_PAGE_SIZE = 50


# --- endpoints


def user_search(sandbox: JiraSandbox, request: Request) -> tuple[int, Any]:
    """GET /rest/api/{2,3}/user/search."""
    query = request.query
    if sandbox.mode == "cloud":
        if query.get("username"):
            return _error("The username parameter is not supported on Jira Cloud: search with query.")
        term, account_id = (query.get("query") or "").strip(), (query.get("accountId") or "").strip()
        if not term and not account_id:
            return _error("One of 'query' or 'accountId' query parameters must be provided.")
    else:
        term, account_id = (query.get("username") or "").strip(), ""
        if not term:
            return _error("The username query parameter was not provided")
    start_at, size = _paging(query, USER_PAGE_SIZE)
    if start_at is None or size is None:
        return _error("startAt and maxResults must be whole numbers that are not negative.")
    folded = term.casefold()
    found = []
    for user in sorted(sandbox.users.values(), key=lambda u: u.display_name):
        if account_id:
            hit = user.account_id == account_id
        else:
            names = [user.display_name, user.email] + ([user.username] if sandbox.mode == "datacenter" else [])
            # Both deployments match the start of a name or address; e-mail addresses also match whole.
            hit = any(n.casefold().startswith(folded) for n in names) or any(
                word.casefold().startswith(folded) for word in user.display_name.split()
            )
        if hit:
            ref = f"accountId={user.account_id}" if sandbox.mode == "cloud" else f"username={user.username}"
            found.append(
                sandbox._user_json(user)
                | {"emailAddress": user.email, "self": f"{sandbox.url}/rest/api/2/user?{ref}"}
            )
    return 200, found[start_at : start_at + min(size, 1000)]


def list_comments(sandbox: JiraSandbox, request: Request) -> tuple[int, Any]:
    """GET /rest/api/{2,3}/issue/{key}/comment."""
    assert request.match is not None
    issue = sandbox._issue(request.match["key"])
    start_at, size = _paging(request.query, 50)
    if start_at is None or size is None:
        return _error("startAt and maxResults must be whole numbers that are not negative.")
    page = issue.comments[start_at : start_at + size]
    return 200, {"startAt": start_at, "maxResults": size, "total": len(issue.comments), "comments": page}


def _error(message: str) -> tuple[int, Any]:
    return 400, {"errorMessages": [message], "errors": {}}


def _paging(query: dict[str, str], default_size: int) -> tuple[int | None, int | None]:
    try:
        start_at, size = int(query.get("startAt", 0)), int(query.get("maxResults", default_size))
    except ValueError:
        return None, None
    if start_at < 0 or size < 0:
        return None, None
    return start_at, size or default_size


def received_jql(sandbox: JiraSandbox) -> list[str]:
    """Every JQL query the sandbox received, in order (from GET query strings and POST bodies alike)."""
    found = []
    with sandbox.lock:
        for method, path, query, body in sandbox.calls:
            if "/search" not in path:
                continue
            params = body if method == "POST" and isinstance(body, dict) else query
            if params.get("jql"):
                found.append(str(params["jql"]))
    return found


# --- a sprint with one case of each rule


@dataclass(frozen=True)
class StaffingScenario:
    """The seeded sprint: where it is, the team that owns it, and the violations it must yield."""

    project_key: str
    board_id: int
    sprint_id: int
    epic_key: str
    keys: dict[str, str]  # role -> issue key, e.g. "zone1" -> "PLAT-2"
    team: dict[str, Any]  # a team entry for `govbot team import`
    expected: list[tuple[str, str | None, str | None]]  # (rule, issue key, Slack user) in rule order
    # Relabelling these resolves R1, R2 and R3 on the next run: key -> the track to give it.
    fixes: dict[str, str] = field(default_factory=dict)


SCENARIO_MANAGER = "U0MANAGER1"
SCENARIO_CHANNEL = "C0PLATFORM1"


def seed_staffing_sprint(
    sandbox: JiraSandbox,
    *,
    project_key: str = "PLAT",
    board_id: int = 21,
    board_name: str = "Platform",
    team_name: str = "platform",
    start: datetime | None = None,
) -> StaffingScenario:
    """An active sprint on a board of its own in which each of R1–R6 is broken exactly once.

    Settings: zone 1 = auth, payments, data-access; zone 2 = reporting; reviewer field set; review cap 3.
    The split is 12 of 27 points human-first (44%, below 60 ± 10). Relabelling the zone-1 issue and the
    unlabelled one human-first resolves R1, R2 and R3 (17 of 29 points, 59%).
    """
    people = {m.slack_id: m for m in SEED_MEMBERS}

    senior, senior2, senior3 = "U0SENIOR01", "U0SENIOR02", "U0SENIOR03"
    mid1, mid2, mid3 = "U0MIDLVL01", "U0MIDLVL02", "U0MIDLVL03"
    junior, junior2 = "U0JUNIOR01", "U0JUNIOR02"
    begin = start or (sandbox.now - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    with sandbox.lock:
        sandbox.add_board(id=board_id, name=board_name, project_key=project_key,
                          estimation_field=STORY_POINTS_FIELD)
        sprint = sandbox.add_sprint(board_id=board_id, name=f"{board_name} Sprint 1", state="active",
                                    start=begin, end=begin + timedelta(days=14))

        def add(summary: str, labels: tuple[str, ...], components: tuple[str, ...], points: float,
                assignee: str | None, reviewer: str | None = None, parent: str | None = None) -> str:
            issue = sandbox.add_issue(
                project=project_key, summary=summary, labels=labels, components=components, points=points,
                assignee=people[assignee].jira_account_id if assignee else None,
                reviewer=people[reviewer].jira_account_id if reviewer else None,
                parent_key=parent, sprint_ids=[sprint.id], created=begin - timedelta(days=1),
            )
            return issue.key

        epic = sandbox.add_issue(project=project_key, issue_type="Epic", summary="Session hardening",
                                 labels=["human-first"], components=["auth"], created=begin - timedelta(days=20))
        keys = {
            "zone1": add("Rotate session keys", ("ai-heavy",), ("auth",), 3, mid1, reviewer=senior2),
            "zone2": add("Monthly revenue report", ("ai-heavy",), ("reporting",), 2, mid2),
            "junior_ai": add("Dashboard filters", ("ai-heavy",), ("ui",), 3, junior, reviewer=senior),
            "ai_ui_1": add("Dashboard export", ("ai-heavy",), ("ui",), 2, mid1, reviewer=senior),
            "ai_ui_2": add("Dashboard dark mode", ("ai-heavy",), ("ui",), 2, mid2, reviewer=senior),
            "ai_reporting": add("Quarterly report", ("ai-heavy",), ("reporting",), 3, mid3, reviewer=senior),
            "junior_human": add("Fix refund rounding", ("human-first",), ("payments",), 1, junior),
            "human_payments": add("Card retry policy", ("human-first",), ("payments",), 5, junior2),
            "inherited": add("Login throttling", (), ("auth",), 3, senior2, parent=epic.key),
            "unlabelled": add("Settings page copy", (), ("ui",), 2, mid3),
            "human_data": add("Ledger index", ("human-first",), ("data-access",), 3, senior3),
        }
    members = [
        {"slack": m.slack_id, "jira": member_reference(m, sandbox.mode), "seniority": m.seniority}
        for m in SEED_MEMBERS
    ]
    team = {
        "name": team_name,
        "jira_board_id": board_id,
        "jira_project": project_key,
        "digest_channel": SCENARIO_CHANNEL,
        "timezone": "UTC",
        "managers": [SCENARIO_MANAGER],
        "members": members,
        "settings": {
            "reviewer_field": REVIEWER_FIELD,
            "senior_review_cap": 3,
            "zones": {1: ["auth", "payments", "data-access"], 2: ["reporting"], 3: []},
        },
    }
    expected = [
        ("R1", None, None),
        ("R2", keys["unlabelled"], mid3),
        ("R3", keys["zone1"], mid1),
        ("R4", keys["zone2"], mid2),
        ("R5", None, junior),
        ("R6", None, senior),
    ]
    fixes = {keys["zone1"]: "human-first", keys["unlabelled"]: "human-first"}
    return StaffingScenario(project_key, board_id, sprint.id, epic.key, keys, team, expected, fixes)


def member_reference(member: SeedMember, mode: str) -> str:
    """How Jira names a seeded member: accountId on Cloud, username on Data Center."""
    return member.jira_account_id if mode == "cloud" else member.dc_username
