"""A local fake of the Jira REST v2/v3 and Agile 1.0 endpoints govbot uses, on loopback.

It is switchable between Jira Cloud and Data Center (``mode``): the two differ in what govbot must get
right — Cloud answers the old ``/search`` with 410 Gone and pages ``/search/jql`` with ``nextPageToken``; Data
Center pages ``/search`` with ``startAt``/``total``, has no ``/rest/api/3``, names users by username and links
epics with the Epic Link field. Errors come in Jira's shape, ``{"errorMessages": [...], "errors": {...}}``;
every request is recorded in ``calls``; ``fail_next`` and ``set_latency`` inject rate limits, outages and
slowness, and ``stall``/``release`` make every answer wait until released (a Jira that hangs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from govbot.sandbox import jira_seed, jira_staffing
from govbot.sandbox.jira_seed import (
    BOT_ACCOUNT_ID,
    BOT_EMAIL,
    EPIC_LINK_FIELD,
    ISSUE_TYPE_IDS,
    PROJECT_ID,
    PROJECT_NAME,
    REVIEWER_FIELD,
    SPRINT_FIELD,
    STATUSES,
    STORY_POINTS_FIELD,
    SandboxBoard,
    SandboxIssue,
    SandboxSprint,
    SandboxUser,
    SeedData,
    StatusChange,
)
from govbot.sandbox.jql import JqlError, Query

CLOUD_EMAIL = BOT_EMAIL
CLOUD_API_TOKEN = "sandbox-token"
DC_PAT = "sandbox-pat"

DEFAULT_PAGE_SIZE = 50
# Cloud embeds only part of a long changelog in search results; the sandbox's limit is small to be reachable.
CHANGELOG_EMBED_LIMIT = 20
SPRINT_STATES = ("future", "active", "closed")
NAVIGABLE_FIELDS = (
    "summary",
    "issuetype",
    "status",
    "labels",
    "components",
    "parent",
    "assignee",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "statuscategorychangedate",
    "project",
    STORY_POINTS_FIELD,
    SPRINT_FIELD,
    REVIEWER_FIELD,
    EPIC_LINK_FIELD,
)
EDITABLE_FIELDS = {"summary", "labels", STORY_POINTS_FIELD, REVIEWER_FIELD}


class ApiError(Exception):
    """An error answer in Jira's shape."""

    def __init__(
        self, status: int, *messages: str, errors: dict[str, str] | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(messages[0] if messages else str(errors))
        self.status = status
        self.body = {"errorMessages": list(messages), "errors": errors or {}}
        self.headers = headers or {}


@dataclass
class Request:
    """One parsed request as the route handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    api_version: str | None = None
    match: re.Match | None = None


@dataclass
class _Fault:
    path_substring: str
    remaining: int
    status: int
    retry_after: float | None
    method: str | None = None


FAULT_MESSAGES = {
    403: "You do not have permission to perform this operation.",
    404: "Issue does not exist or you do not have permission to see it.",
    429: "Rate limit exceeded.",
}


def jira_time(moment: datetime | None) -> str | None:
    """Jira's platform timestamp format: 2024-01-10T09:15:00.000+0000."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_jira_time(value: str) -> datetime:
    """A timestamp written by ``jira_time``."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def agile_time(moment: datetime | None, mode: str) -> str | None:
    """Agile timestamps: Cloud answers in UTC with Z, Data Center with a numeric offset."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if mode == "cloud" else text


def parse_agile_time(value: Any, field: str) -> datetime | None:
    """An ISO 8601 date from a sprint request body, or a 400 naming the field."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, errors={field: f"Invalid date format: {value}"}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


class JiraSandbox:
    """A threaded local Jira on 127.0.0.1, Cloud or Data Center flavoured, seeded with the Payments team."""

    def __init__(
        self,
        *,
        mode: str = "cloud",
        latency: float = 0.0,
        seed: bool = True,
        now: datetime | None = None,
        user_timezone: str = "UTC",
    ) -> None:
        if mode not in ("cloud", "datacenter"):
            raise ValueError("mode must be 'cloud' or 'datacenter'")
        self.mode = mode
        self.latency = latency
        self.now = now or datetime.now(UTC)
        # JQL dates are read in the signed-in user's time zone, as on a real Jira.
        self.user_timezone = user_timezone
        self.page_size = DEFAULT_PAGE_SIZE
        data = jira_seed.seed_data(self.now) if seed else jira_seed.empty_data()
        self.users: dict[str, SandboxUser] = data.users
        self.boards: dict[int, SandboxBoard] = data.boards
        self.sprints: dict[int, SandboxSprint] = data.sprints
        self.issues: dict[str, SandboxIssue] = data.issues
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._released = threading.Event()  # cleared by stall(): answers wait until release()
        self._released.set()
        self.stalled = 0  # requests waiting on a stall right now
        self._every: tuple[int, int, str, int] | None = None  # (nth, status, path substring, matching calls)
        self._server: ThreadingHTTPServer | None = None
        self._port: int | None = None  # the last port served on
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # --- lifecycle

    def start(self) -> JiraSandbox:
        """Bind to a free loopback port and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.sandbox = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="jira-sandbox", daemon=True
        )
        self._thread.start()
        self._port = int(server.server_address[1])
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.release()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> JiraSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._server is not None:
            self._port = int(self._server.server_address[1])
        if self._port is None:
            raise RuntimeError("the Jira sandbox is not started")
        # After stop, a request still being answered (one that waited on a stall) links to where it was.
        return f"http://127.0.0.1:{self._port}"

    @property
    def credentials(self) -> dict[str, str]:
        """Keyword arguments for JiraTracker that this sandbox accepts."""
        if self.mode == "cloud":
            return {"email": CLOUD_EMAIL, "api_token": CLOUD_API_TOKEN}
        return {"pat": DC_PAT}

    # --- test controls

    def fail_next(
        self,
        path_substring: str,
        count: int = 1,
        status: int = 429,
        retry_after: float | None = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests whose path contains ``path_substring`` (and whose method is
        ``method``, when given) with ``status``: 403, 404, 429, 503, ..."""
        with self.lock:
            self._faults.append(_Fault(path_substring, count, status, retry_after, method))

    def fail_every(self, nth: int, *, status: int = 503, path_substring: str = "") -> None:
        """Answer every ``nth`` request whose path contains ``path_substring`` with ``status`` (0 stops it)."""
        with self.lock:
            self._every = (nth, status, path_substring, 0) if nth > 0 else None

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds``."""
        self.latency = seconds

    def stall(self) -> None:
        """Make every request hang (after it is recorded) until ``release``: a Jira that stopped answering."""
        self._released.clear()

    def release(self) -> None:
        """Answer the stalled requests and every later one."""
        self._released.set()

    def calls_to(
        self, path_substring: str, method: str | None = None
    ) -> list[tuple[str, str, dict[str, str], Any]]:
        """The recorded calls whose path contains ``path_substring`` (and method, when given)."""
        with self.lock:
            return [c for c in self.calls if path_substring in c[1] and (method is None or c[0] == method)]

    def add_board(
        self,
        *,
        id: int,
        name: str,
        type: str = "scrum",
        project_key: str = jira_seed.PROJECT_KEY,
        estimation_field: str | None = None,
    ) -> SandboxBoard:
        """Create a board."""
        with self.lock:
            board = SandboxBoard(id, name, type, project_key, estimation_field)
            self.boards[id] = board
            return board

    def add_sprint(
        self,
        *,
        board_id: int,
        name: str,
        state: str = "future",
        start: datetime | None = None,
        end: datetime | None = None,
        goal: str | None = None,
        complete: datetime | None = None,
        id: int | None = None,
    ) -> SandboxSprint:
        """Create a sprint on a board (ids continue after the highest one)."""
        with self.lock:
            sprint_id = id if id is not None else self._next_sprint_id()
            sprint = SandboxSprint(sprint_id, name, state, board_id, start, end, complete, goal)
            self.sprints[sprint_id] = sprint
            return sprint

    def add_issue(
        self,
        *,
        key: str | None = None,
        project: str = jira_seed.PROJECT_KEY,
        issue_type: str = "Story",
        status: str = "To Do",
        summary: str = "",
        labels: Iterable[str] = (),
        components: Iterable[str] = (),
        points: float | None = None,
        parent_key: str | None = None,
        assignee: str | None = None,
        reviewer: str | None = None,
        created: datetime | None = None,
        resolved: datetime | None = None,
        sprint_ids: Iterable[int] = (),
        history: Iterable[StatusChange] = (),
    ) -> SandboxIssue:
        """Create an issue; ``assignee`` and ``reviewer`` are accountIds of known users."""
        with self.lock:
            number = 1 + max(
                (int(k.rpartition("-")[2]) for k in self.issues if k.startswith(project + "-")), default=0
            )
            key = key or f"{project}-{number}"
            created = created or self.now
            issue = SandboxIssue(
                key=key,
                id=10000 + len(self.issues) + 1 + number * 1000,
                project=project,
                issue_type=issue_type,
                status=status,
                summary=summary,
                labels=list(labels),
                components=list(components),
                points=points,
                parent_key=parent_key,
                assignee=assignee,
                reviewer=reviewer,
                created=created,
                updated=created,
                resolved=resolved,
                sprint_ids=list(sprint_ids),
                history=list(history),
            )
            self.issues[key] = issue
            return issue

    def _next_sprint_id(self) -> int:
        return max(self.sprints, default=jira_seed.FIRST_SPRINT_ID - 1) + 1

    # --- request handling

    def handle(
        self, method: str, raw_path: str, headers: Any, raw_body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON body or None, extra headers)."""
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        # Jira reads a repeated fields/expand parameter (fields=a&fields=b) as one list, as clients send it.
        query = {
            k: ",".join(v) if k in ("fields", "expand") else v[-1]
            for k, v in parse_qs(parts.query, keep_blank_values=True).items()
        }
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        with self.lock:
            self.calls.append((method, path, query, body))
        if not self._released.is_set():
            with self.lock:
                self.stalled += 1
            self._released.wait()
            with self.lock:
                self.stalled -= 1
        if self.latency > 0:
            time.sleep(self.latency)
        try:
            fault = self._take_fault(path, method)
            if fault is not None:
                raise fault
            if isinstance(body, str):
                raise ApiError(400, "Unexpected character in the request body: it is not valid JSON.")
            self._authenticate(path, headers.get("Authorization"))
            request = Request(method, path, query, body)
            handler = self._route(request)
            with self.lock:
                status, payload = handler(request)
            return status, payload, {}
        except ApiError as error:
            return error.status, error.body, error.headers

    def _take_fault(self, path: str, method: str = "GET") -> ApiError | None:
        with self.lock:
            for fault in self._faults:
                if fault.method is not None and fault.method != method:
                    continue
                if fault.remaining > 0 and fault.path_substring in path:
                    fault.remaining -= 1
                    headers = (
                        {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after is not None else {}
                    )
                    message = FAULT_MESSAGES.get(fault.status, "Service unavailable.")
                    return ApiError(fault.status, message, headers=headers)
            if self._every is not None and self._every[2] in path:
                nth, status, substring, seen = self._every
                self._every = (nth, status, substring, seen + 1)
                if (seen + 1) % nth == 0:
                    message = "Rate limit exceeded." if status == 429 else "Service unavailable."
                    return ApiError(status, message, headers={"Retry-After": "0"} if status == 429 else {})
        return None

    def _authenticate(self, path: str, authorization: str | None) -> None:
        if authorization is None:
            if path.endswith("/serverInfo"):
                return  # Jira serves serverInfo anonymously
            raise _unauthorized()
        if self.mode == "cloud":
            expected = "Basic " + base64.b64encode(f"{CLOUD_EMAIL}:{CLOUD_API_TOKEN}".encode()).decode()
        else:
            expected = f"Bearer {DC_PAT}"
        if authorization != expected:
            raise _unauthorized()

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Callable[[Request], tuple[int, Any]]]]:
        api = r"/rest/api/(?P<v>2|3|latest)"
        agile = r"/rest/agile/(?:1\.0|latest)"
        key = r"(?P<key>[^/]+)"
        table: list[tuple[str, str, Callable[[Request], tuple[int, Any]]]] = [
            ("GET", api + r"/serverInfo", self._server_info),
            ("GET", api + r"/myself", self._myself),
            ("GET", api + r"/field", self._fields),
            ("GET|POST", api + r"/search/jql", self._search_jql),
            ("GET|POST", api + r"/search", self._search_legacy),
            ("GET", api + r"/issue/" + key + r"/changelog", self._changelog),
            ("POST", api + r"/changelog/bulkfetch", self._changelog_bulkfetch),
            ("POST", api + r"/issue/" + key + r"/comment", self._add_comment),
            ("GET", api + r"/issue/" + key + r"/comment", partial(jira_staffing.list_comments, self)),
            ("GET", api + r"/user/search", partial(jira_staffing.user_search, self)),
            ("GET", api + r"/issue/" + key, self._get_issue),
            ("PUT", api + r"/issue/" + key, self._update_issue),
            ("GET", agile + r"/board/(?P<board>\d+)", self._get_board),
            ("GET", agile + r"/board/(?P<board>\d+)/configuration", self._board_configuration),
            ("GET", agile + r"/board/(?P<board>\d+)/sprint", self._board_sprints),
            ("POST", agile + r"/sprint", self._create_sprint),
            ("GET", agile + r"/sprint/(?P<sprint>\d+)", self._get_sprint),
            ("POST", agile + r"/sprint/(?P<sprint>\d+)", self._partial_update_sprint),
            ("PUT", agile + r"/sprint/(?P<sprint>\d+)", self._full_update_sprint),
            ("POST", agile + r"/sprint/(?P<sprint>\d+)/issue", self._move_issues),
        ]
        return [(methods, re.compile(pattern + r"/?"), handler) for methods, pattern, handler in table]

    def _route(self, request: Request) -> Callable[[Request], tuple[int, Any]]:
        path_matched = False
        for methods, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            path_matched = True
            if request.method not in methods.split("|"):
                continue
            request.match = match
            request.api_version = match.groupdict().get("v")
            if request.api_version == "3" and self.mode == "datacenter":
                raise ApiError(404, f"No resource at {request.path}.")  # Data Center has no REST v3
            return handler
        if path_matched:
            raise ApiError(405, f"Method {request.method} is not allowed on {request.path}.")
        raise ApiError(404, f"No resource at {request.path}.")

    # --- platform endpoints

    def _server_info(self, request: Request) -> tuple[int, Any]:
        if self.mode == "cloud":
            version, numbers, deployment = "1001.0.0-SNAPSHOT", [1001, 0, 0], "Cloud"
        else:
            version, numbers, deployment = "9.12.2", [9, 12, 2], "Server"
        return 200, {
            "baseUrl": self.url,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": deployment,
            "buildNumber": 100250,
            "serverTitle": "Jira (sandbox)",
            "serverTime": jira_time(self.now),
        }

    def _myself(self, request: Request) -> tuple[int, Any]:
        bot = self.users[BOT_ACCOUNT_ID]
        user = self._user_json(bot) | {
            "emailAddress": bot.email,
            "timeZone": self.user_timezone,
            "active": True,
        }
        return 200, user

    def _fields(self, request: Request) -> tuple[int, Any]:
        def custom(field_id: str, name: str, schema_type: str, custom_type: str, clause: str) -> dict:
            number = int(field_id.rpartition("_")[2])
            return {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": True,
                "navigable": True,
                "clauseNames": [f"cf[{number}]", clause],
                "schema": {"type": schema_type, "custom": custom_type, "customId": number},
            }

        fields = [
            {
                "id": name,
                "key": name,
                "name": name.title(),
                "custom": False,
                "navigable": True,
                "clauseNames": [name],
                "schema": {"type": "string", "system": name},
            }
            for name in (
                "summary",
                "status",
                "labels",
                "issuetype",
                "components",
                "assignee",
                "created",
                "resolutiondate",
                "parent",
                "project",
            )
        ]
        fields += [
            custom(
                STORY_POINTS_FIELD,
                "Story point estimate",
                "number",
                "com.atlassian.jira.plugin.system.customfieldtypes:float",
                "Story point estimate",
            ),
            custom(SPRINT_FIELD, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", "Sprint"),
            custom(
                REVIEWER_FIELD,
                "Reviewer",
                "user",
                "com.atlassian.jira.plugin.system.customfieldtypes:userpicker",
                "Reviewer",
            ),
        ]
        if self.mode == "datacenter":
            fields.append(
                custom(
                    EPIC_LINK_FIELD,
                    "Epic Link",
                    "any",
                    "com.pyxis.greenhopper.jira:gh-epic-link",
                    "Epic Link",
                )
            )
        return 200, fields

    # --- search

    def _search_params(self, request: Request) -> dict[str, Any]:
        params = dict(request.body or {}) if request.method == "POST" else dict(request.query)
        for name in ("fields", "expand"):
            value = params.get(name)
            if isinstance(value, str):
                params[name] = [part.strip() for part in value.split(",") if part.strip()]
        return params

    def _search_jql(self, request: Request) -> tuple[int, Any]:
        if self.mode == "datacenter":
            raise ApiError(404, f"No resource at {request.path}.")
        params = self._search_params(request)
        jql = params.get("jql") or ""
        if not jql.strip():
            # Cloud refuses unbounded queries on the enhanced search.
            raise ApiError(
                400, "Unbounded JQL queries are not allowed here. Please add a search restriction."
            )
        matched = self._run_jql(jql)
        digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
        offset = 0
        token = params.get("nextPageToken")
        if token:
            offset = _read_page_token(token, digest)
        page_size = self._page_size(params.get("maxResults"))
        page = matched[offset : offset + page_size]
        fields = params.get("fields") or ["id"]  # the enhanced search returns only ids unless asked
        expand = set(params.get("expand") or [])
        answer: dict[str, Any] = {
            "issues": [self._issue_json(issue, fields, expand, request.api_version) for issue in page],
            "isLast": offset + page_size >= len(matched),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = _write_page_token(offset + page_size, digest)
        return 200, answer

    def _search_legacy(self, request: Request) -> tuple[int, Any]:
        if self.mode == "cloud":
            raise ApiError(
                410,
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
            )
        params = self._search_params(request)
        matched = self._run_jql(params.get("jql") or "")
        start_at = _non_negative_int(params.get("startAt", 0), "startAt")
        page_size = self._page_size(params.get("maxResults"))
        fields = params.get("fields") or ["*navigable"]
        expand = set(params.get("expand") or [])
        page = matched[start_at : start_at + page_size]
        return 200, {
            "expand": "names,schema",
            "startAt": start_at,
            "maxResults": page_size,
            "total": len(matched),
            "issues": [self._issue_json(issue, fields, expand, request.api_version) for issue in page],
        }

    def _page_size(self, requested: Any) -> int:
        if requested is None:
            return self.page_size
        size = _non_negative_int(requested, "maxResults")
        return min(size, self.page_size) if size > 0 else self.page_size

    def _run_jql(self, jql: str) -> list[SandboxIssue]:
        candidates = self._project_candidates(jql)
        try:
            query = Query(
                jql,
                tz=ZoneInfo(self.user_timezone),
                vocabulary={
                    "project": {b.project_key for b in self.boards.values()} | self._projects(),
                    "status": set(STATUSES) | {i.status for i in candidates},
                    "issuetype": set(ISSUE_TYPE_IDS) | {i.issue_type for i in candidates},
                    "component": set(jira_seed.COMPONENTS)
                    | {c for i in candidates for c in i.components},
                    "sprint": {str(s) for s in self.sprints},
                    # A key that does not exist is an error, as on a real Jira (the set is built only when a query
                    # names keys: a benchmark sandbox holds 100k issues).
                    "key": set(self.issues) if _KEY_CLAUSE.search(jql) else set(),
                },
                sprint_names={s.name: s.id for s in self.sprints.values()},
            )
        except JqlError as error:
            raise ApiError(400, str(error)) from None
        records = {issue.key: self._jql_record(issue) for issue in candidates}
        ordered = query.sort([r for r in records.values() if query.matches(r)])
        return [self.issues[r["key"]] for r in ordered]

    def _by_project(self, *, rebuild: bool = False) -> dict[str, list[SandboxIssue]]:
        # Cached by issue count: a benchmark sandbox holds 100k issues and answers hundreds of queries.
        cached = getattr(self, "_project_cache", None)
        if rebuild or cached is None or cached[0] != len(self.issues):
            index: dict[str, list[SandboxIssue]] = {}
            for issue in self.issues.values():
                index.setdefault(issue.project, []).append(issue)
            cached = (len(self.issues), index)
            self._project_cache = cached
        return cached[1]

    def _projects(self) -> set[str]:
        return set(self._by_project())

    def _project_candidates(self, jql: str) -> list[SandboxIssue]:
        """The issues a query can match: one project's when it starts ``project = X AND`` with no top-level OR."""
        match = re.match(r'\s*project\s*=\s*"?([A-Z][A-Z0-9_]*)"?\s+AND\s', jql, re.IGNORECASE)
        if match is None or _has_top_level_or(jql):
            return list(self.issues.values())
        found = self._by_project().get(match.group(1), [])
        if any(self.issues.get(issue.key) is not issue for issue in found):  # an issue was replaced: re-index
            found = self._by_project(rebuild=True).get(match.group(1), [])
        return list(found)

    def _jql_record(self, issue: SandboxIssue) -> dict[str, Any]:
        parent = self.issues.get(issue.parent_key) if issue.parent_key else None
        parent_is_epic = parent is not None and parent.issue_type == "Epic"
        if self.mode == "cloud":
            parent_key, epic_key = issue.parent_key, issue.parent_key if parent_is_epic else None
        else:
            parent_key = None if parent_is_epic else issue.parent_key
            epic_key = issue.parent_key if parent_is_epic else None
        return {
            "key": issue.key,
            "project": issue.project,
            "sprint": list(issue.sprint_ids),
            "status": issue.status,
            "labels": list(issue.labels),
            "issuetype": issue.issue_type,
            "component": list(issue.components),
            "assignee": self._user_ref(issue.assignee),
            "parent": parent_key,
            "epic link": epic_key,
            "created": issue.created,
            "resolved": issue.resolved,
            "updated": issue.updated,
        }

    def _user_ref(self, account_id: str | None) -> str | None:
        if account_id is None:
            return None
        user = self.users.get(account_id)
        if user is None:
            return account_id
        return user.account_id if self.mode == "cloud" else user.username

    # --- issues

    def _issue(self, key_or_id: str) -> SandboxIssue:
        issue = self.issues.get(key_or_id.upper())
        if issue is None and key_or_id.isdigit():
            issue = next((i for i in self.issues.values() if i.id == int(key_or_id)), None)
        if issue is None:
            raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    def _get_issue(self, request: Request) -> tuple[int, Any]:
        assert request.match is not None
        issue = self._issue(request.match["key"])
        fields = [f.strip() for f in request.query.get("fields", "*all").split(",") if f.strip()]
        expand = {e.strip() for e in request.query.get("expand", "").split(",") if e.strip()}
        return 200, self._issue_json(issue, fields, expand, request.api_version, embed_limit=None)

    def _changelog(self, request: Request) -> tuple[int, Any]:
        if self.mode == "datacenter":
            raise ApiError(404, f"No resource at {request.path}.")
        assert request.match is not None
        issue = self._issue(request.match["key"])
        histories = self._histories(issue)
        start_at = _non_negative_int(request.query.get("startAt", 0), "startAt")
        page_size = self._page_size(request.query.get("maxResults"))
        page = histories[start_at : start_at + page_size]
        return 200, {
            "self": f"{self.url}{request.path}",
            "startAt": start_at,
            "maxResults": page_size,
            "total": len(histories),
            "isLast": start_at + page_size >= len(histories),
            "values": page,
        }

    def _changelog_bulkfetch(self, request: Request) -> tuple[int, Any]:
        # Cloud only: the changelogs of up to 1000 issues in one call, filtered to some fields, paged by token.
        if self.mode == "datacenter" or request.api_version != "3":
            raise ApiError(404, f"No resource at {request.path}.")
        body = request.body if isinstance(request.body, dict) else {}
        keys = body.get("issueIdsOrKeys")
        if not isinstance(keys, list) or not keys or len(keys) > 1000:
            raise ApiError(400, errors={"issueIdsOrKeys": "Give between 1 and 1000 issue ids or keys."})
        wanted = set(body.get("fieldIds") or [])
        offset = _read_page_token(body["nextPageToken"], "bulk") if body.get("nextPageToken") else 0
        page_size = min(_non_negative_int(body.get("maxResults", 1000), "maxResults") or 1000, 1000)
        logs = []
        for key in keys[offset : offset + page_size]:
            issue = self._issue(str(key))
            histories = [
                {**h, "created": int(parse_jira_time(h["created"]).timestamp() * 1000)}
                for h in self._histories(issue)
                if not wanted or any(item.get("fieldId", item.get("field")) in wanted for item in h["items"])
            ]
            logs.append({"issueId": str(issue.id), "changeHistories": histories})
        answer: dict[str, Any] = {"issueChangeLogs": logs}
        if offset + page_size < len(keys):
            answer["nextPageToken"] = _write_page_token(offset + page_size, "bulk")
        return 200, answer

    def _update_issue(self, request: Request) -> tuple[int, Any]:
        assert request.match is not None
        issue = self._issue(request.match["key"])
        body = request.body or {}
        if not isinstance(body, dict) or not (set(body) <= {"fields", "update"}):
            raise ApiError(400, "The request body must hold 'fields' and/or 'update'.")
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        errors = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in set(fields) | set(update)
            if name not in EDITABLE_FIELDS
        }
        if errors:
            raise ApiError(400, errors=errors)
        labels = list(issue.labels)
        if "labels" in fields:
            labels = _checked_labels(fields["labels"])
        for operation in update.get("labels", []):
            if not isinstance(operation, dict) or len(operation) != 1:
                raise ApiError(
                    400, errors={"labels": "Each update operation must be a single add, remove or set."}
                )
            ((verb, value),) = operation.items()
            if verb == "add":
                (label,) = _checked_labels([value])
                labels = labels if label in labels else [*labels, label]
            elif verb == "remove":
                labels = [existing for existing in labels if existing != value]
            elif verb == "set":
                labels = _checked_labels(value)
            else:
                raise ApiError(400, errors={"labels": f"The operation '{verb}' is not supported for labels."})
        for name in set(update) - {"labels"}:
            for operation in update[name]:
                if set(operation) != {"set"}:
                    raise ApiError(400, errors={name: "Only 'set' is supported for this field."})
                fields = {**fields, name: operation["set"]}
        issue.labels = labels
        if "summary" in fields:
            issue.summary = str(fields["summary"])
        if STORY_POINTS_FIELD in fields:
            value = fields[STORY_POINTS_FIELD]
            if value is not None and not isinstance(value, int | float):
                raise ApiError(400, errors={STORY_POINTS_FIELD: "Operation value must be a number."})
            issue.points = None if value is None else float(value)
        if REVIEWER_FIELD in fields:
            issue.reviewer = self._user_from_json(fields[REVIEWER_FIELD], REVIEWER_FIELD)
        issue.updated = self.now
        return 204, None

    def _add_comment(self, request: Request) -> tuple[int, Any]:
        assert request.match is not None
        issue = self._issue(request.match["key"])
        body = (request.body or {}).get("body") if isinstance(request.body, dict) else None
        if request.api_version == "3":
            if not (isinstance(body, dict) and body.get("type") == "doc"):
                raise ApiError(
                    400,
                    errors={
                        "comment": "Operation value must be an Atlassian Document (see the "
                        "Atlassian Document Format)."
                    },
                )
        elif not isinstance(body, str) or not body.strip():
            raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
        comment = {
            "id": str(10000 + sum(len(i.comments) for i in self.issues.values()) + 1),
            "body": body,
            "author": self._user_json(self.users[BOT_ACCOUNT_ID]),
            "created": jira_time(self.now),
            "updated": jira_time(self.now),
        }
        issue.comments.append(comment)
        return 201, comment | {"self": f"{self.url}/rest/api/2/issue/{issue.id}/comment/{comment['id']}"}

    # --- rendering

    def _issue_json(
        self,
        issue: SandboxIssue,
        fields: Sequence[str],
        expand: set[str],
        api_version: str | None,
        embed_limit: int | None = CHANGELOG_EMBED_LIMIT,
    ) -> dict[str, Any]:
        all_fields = self._all_fields(issue)
        wanted = set()
        for name in fields:
            if name in ("*all", "*navigable"):
                wanted |= set(all_fields)
            elif name.startswith("-"):
                wanted.discard(name[1:])
            else:
                wanted.add(name)
        rendered: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": str(issue.id),
            "self": f"{self.url}/rest/api/{api_version or 2}/issue/{issue.id}",
            "key": issue.key,
        }
        selected = {name: value for name, value in all_fields.items() if name in wanted}
        if selected:
            rendered["fields"] = selected
        if "changelog" in expand:
            histories = self._histories(issue)
            # Cloud embeds a bounded part of the changelog in search results; Data Center embeds all of it.
            limit = embed_limit if self.mode == "cloud" and embed_limit is not None else len(histories)
            rendered["changelog"] = {
                "startAt": 0,
                "maxResults": limit,
                "total": len(histories),
                "histories": histories[:limit],
            }
        return rendered

    def _all_fields(self, issue: SandboxIssue) -> dict[str, Any]:
        parent = self.issues.get(issue.parent_key) if issue.parent_key else None
        parent_is_epic = parent is not None and parent.issue_type == "Epic"
        status_id, category_key, category_name = STATUSES.get(
            issue.status, ("1", "indeterminate", "In Progress")
        )
        last_category_change = issue.created
        for change in issue.history:
            if STATUSES.get(change.from_status, ("", "?"))[1] != STATUSES.get(change.to_status, ("", "!"))[1]:
                last_category_change = change.at
        fields: dict[str, Any] = {
            "summary": issue.summary,
            "project": {"id": str(PROJECT_ID), "key": issue.project, "name": PROJECT_NAME},
            "issuetype": {
                "id": ISSUE_TYPE_IDS.get(issue.issue_type, "10099"),
                "name": issue.issue_type,
                "subtask": False,
            },
            "status": {
                "id": status_id,
                "name": issue.status,
                "statusCategory": {"key": category_key, "name": category_name},
            },
            "labels": list(issue.labels),
            "components": [{"id": str(10100 + i), "name": c} for i, c in enumerate(issue.components)],
            "assignee": self._user_json_by_id(issue.assignee),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "resolutiondate": jira_time(issue.resolved),
            "resolution": {"id": "10000", "name": "Done"} if issue.resolved else None,
            "statuscategorychangedate": jira_time(last_category_change),
            STORY_POINTS_FIELD: issue.points,
            SPRINT_FIELD: self._sprint_field(issue.sprint_ids),
            REVIEWER_FIELD: self._user_json_by_id(issue.reviewer),
        }
        parent_json = None
        if parent is not None:
            parent_json = {
                "id": str(parent.id),
                "key": parent.key,
                "fields": {
                    "summary": parent.summary,
                    "status": {"name": parent.status},
                    "issuetype": {"name": parent.issue_type},
                },
            }
        if self.mode == "cloud":
            fields["parent"] = parent_json
        else:
            fields["parent"] = None if parent_is_epic else parent_json
            fields[EPIC_LINK_FIELD] = issue.parent_key if parent_is_epic else None
        # Jira leaves an unset parent out instead of sending null.
        if fields["parent"] is None:
            del fields["parent"]
        return fields

    def _sprint_field(self, sprint_ids: Sequence[int]) -> list | None:
        sprints = [self.sprints[s] for s in sprint_ids if s in self.sprints]
        if not sprints:
            return None
        if self.mode == "cloud":
            return [
                {
                    "id": s.id,
                    "name": s.name,
                    "state": s.state,
                    "boardId": s.board_id,
                    "goal": s.goal or "",
                    "startDate": agile_time(s.start, "cloud"),
                    "endDate": agile_time(s.end, "cloud"),
                }
                for s in sprints
            ]
        # Data Center renders the sprint field as GreenHopper's toString() of each sprint.
        return [
            f"com.atlassian.greenhopper.service.sprint.Sprint@{s.id:x}[id={s.id},rapidViewId={s.board_id},"
            f"state={s.state.upper()},name={s.name},"
            f"startDate={agile_time(s.start, 'datacenter') or '<null>'},"
            f"endDate={agile_time(s.end, 'datacenter') or '<null>'},sequence={s.id},goal={s.goal or ''}]"
            for s in sprints
        ]

    def _histories(self, issue: SandboxIssue) -> list[dict[str, Any]]:
        histories = []
        for index, change in enumerate(issue.history):
            item = {
                "field": "status",
                "fieldtype": "jira",
                "from": STATUSES.get(change.from_status, ("1",))[0],
                "fromString": change.from_status,
                "to": STATUSES.get(change.to_status, ("1",))[0],
                "toString": change.to_status,
            }
            if self.mode == "cloud":
                item["fieldId"] = "status"
            histories.append(
                {
                    "id": str(issue.id * 100 + index),
                    "author": self._user_json_by_id(issue.assignee)
                    or self._user_json(self.users[BOT_ACCOUNT_ID]),
                    "created": jira_time(change.at),
                    "items": [item],
                }
            )
        return histories

    def _user_json_by_id(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        user = self.users.get(account_id) or SandboxUser(account_id, account_id, account_id, "")
        return self._user_json(user)

    def _user_json(self, user: SandboxUser) -> dict[str, Any]:
        if self.mode == "cloud":
            return {
                "accountId": user.account_id,
                "accountType": "atlassian",
                "displayName": user.display_name,
                "active": True,
            }
        user_key = "JIRAUSER" + str(int(hashlib.sha256(user.username.encode()).hexdigest()[:8], 16) % 100000)
        return {
            "name": user.username,
            "key": user_key,
            "displayName": user.display_name,
            "emailAddress": user.email,
            "active": True,
        }

    def _user_from_json(self, value: Any, field: str) -> str | None:
        if value is None:
            return None
        ref_key = "accountId" if self.mode == "cloud" else "name"
        ref = value.get(ref_key) if isinstance(value, dict) else None
        for user in self.users.values():
            if ref == (user.account_id if self.mode == "cloud" else user.username):
                return user.account_id
        raise ApiError(400, errors={field: f"User '{ref}' does not exist."})

    # --- agile: boards and sprints

    def _board(self, request: Request) -> SandboxBoard:
        assert request.match is not None
        board = self.boards.get(int(request.match["board"]))
        if board is None:
            raise ApiError(
                404,
                "The requested board cannot be viewed because it either does not exist or you do not have "
                "permission to view it.",
            )
        return board

    def _get_board(self, request: Request) -> tuple[int, Any]:
        board = self._board(request)
        return 200, {
            "id": board.id,
            "self": f"{self.url}/rest/agile/1.0/board/{board.id}",
            "name": board.name,
            "type": board.type,
            "location": {
                "projectId": PROJECT_ID,
                "projectKey": board.project_key,
                "projectName": PROJECT_NAME,
                "projectTypeKey": "software",
                "displayName": f"{PROJECT_NAME} ({board.project_key})",
                "name": f"{PROJECT_NAME} ({board.project_key})",
            },
        }

    def _board_configuration(self, request: Request) -> tuple[int, Any]:
        board = self._board(request)
        config: dict[str, Any] = {
            "id": board.id,
            "name": board.name,
            "type": board.type,
            "self": f"{self.url}/rest/agile/1.0/board/{board.id}/configuration",
            "location": {"type": "project", "key": board.project_key, "id": str(PROJECT_ID)},
            "filter": {"id": str(10000 + board.id)},
            "columnConfig": {
                "columns": [{"name": name, "statuses": [{"id": STATUSES[name][0]}]} for name in STATUSES],
                "constraintType": "none",
            },
            "ranking": {"rankCustomFieldId": 10019},
        }
        if board.estimation_field:
            config["estimation"] = {
                "type": "field",
                "field": {"fieldId": board.estimation_field, "displayName": "Story point estimate"},
            }
        return 200, config

    def _board_sprints(self, request: Request) -> tuple[int, Any]:
        board = self._board(request)
        if board.type != "scrum":
            raise ApiError(400, "The board does not support sprints")
        states = [
            s.strip() for s in request.query.get("state", ",".join(SPRINT_STATES)).split(",") if s.strip()
        ]
        unknown = [s for s in states if s not in SPRINT_STATES]
        if unknown:
            raise ApiError(
                400, f"The sprint state '{unknown[0]}' is not valid: use future, active or closed."
            )
        start_at = _non_negative_int(request.query.get("startAt", 0), "startAt")
        page_size = self._page_size(request.query.get("maxResults"))
        sprints = [s for _, s in sorted(self.sprints.items()) if s.board_id == board.id and s.state in states]
        page = sprints[start_at : start_at + page_size]
        return 200, {
            "maxResults": page_size,
            "startAt": start_at,
            "isLast": start_at + page_size >= len(sprints),
            "values": [self._sprint_json(s) for s in page],
        }

    def _sprint(self, request: Request) -> SandboxSprint:
        assert request.match is not None
        sprint = self.sprints.get(int(request.match["sprint"]))
        if sprint is None:
            raise ApiError(
                404,
                "The requested sprint cannot be viewed because it either does not exist or you "
                "do not have permission to view it.",
            )
        return sprint

    def _sprint_json(self, sprint: SandboxSprint) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": sprint.id,
            "self": f"{self.url}/rest/agile/1.0/sprint/{sprint.id}",
            "state": sprint.state,
            "name": sprint.name,
            "originBoardId": sprint.board_id,
        }
        for name, moment in (
            ("startDate", sprint.start),
            ("endDate", sprint.end),
            ("completeDate", sprint.complete),
        ):
            if moment is not None:
                answer[name] = agile_time(moment, self.mode)
        if sprint.goal is not None:
            answer["goal"] = sprint.goal
        return answer

    def _get_sprint(self, request: Request) -> tuple[int, Any]:
        return 200, self._sprint_json(self._sprint(request))

    def _create_sprint(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        name = str(body.get("name") or "").strip()  # Jira trims sprint names
        if not name:
            raise ApiError(400, errors={"name": "The sprint name is required."})
        board_id = body.get("originBoardId")
        board = self.boards.get(board_id) if isinstance(board_id, int) else None
        if board is None:
            raise ApiError(400, errors={"originBoardId": "The board does not exist or you cannot see it."})
        if board.type != "scrum":
            raise ApiError(400, "The board does not support sprints")
        start = parse_agile_time(body.get("startDate"), "startDate")
        end = parse_agile_time(body.get("endDate"), "endDate")
        _check_dates(start, end)
        goal = body.get("goal")
        sprint = self.add_sprint(board_id=board.id, name=name, start=start, end=end, goal=goal)
        return 201, self._sprint_json(sprint)

    def _partial_update_sprint(self, request: Request) -> tuple[int, Any]:
        sprint = self._sprint(request)
        body = request.body if isinstance(request.body, dict) else {}
        self._apply_sprint_changes(sprint, body, full=False)
        return 200, self._sprint_json(sprint)

    def _full_update_sprint(self, request: Request) -> tuple[int, Any]:
        sprint = self._sprint(request)
        body = request.body if isinstance(request.body, dict) else {}
        if not str(body.get("name") or "").strip():
            raise ApiError(400, errors={"name": "The sprint name is required."})
        self._apply_sprint_changes(sprint, body, full=True)
        return 200, self._sprint_json(sprint)

    def _apply_sprint_changes(self, sprint: SandboxSprint, body: dict[str, Any], *, full: bool) -> None:
        """A partial update changes what the body names; a full update nulls what it omits, as Jira does."""
        allowed = {
            "id",
            "self",
            "name",
            "goal",
            "startDate",
            "endDate",
            "state",
            "originBoardId",
            "completeDate",
        }
        unknown = set(body) - allowed
        if unknown:
            raise ApiError(400, errors={name: "Unrecognized field." for name in sorted(unknown)})
        start = parse_agile_time(body["startDate"], "startDate") if "startDate" in body else sprint.start
        end = parse_agile_time(body["endDate"], "endDate") if "endDate" in body else sprint.end
        if full:
            start = parse_agile_time(body.get("startDate"), "startDate")
            end = parse_agile_time(body.get("endDate"), "endDate")
        if sprint.state == "closed" and (start != sprint.start or end != sprint.end):
            raise ApiError(400, "The dates of a closed sprint cannot be changed.")
        state = body.get("state", sprint.state)
        if state not in SPRINT_STATES:
            raise ApiError(400, errors={"state": f"The sprint state '{state}' is not valid."})
        if state == "active" and sprint.state == "future" and (start is None or end is None):
            raise ApiError(400, "A sprint needs a start and an end date to be started.")
        _check_dates(start, end)
        if "name" in body or full:
            sprint.name = str(body.get("name") or "").strip()
        if "goal" in body or full:
            sprint.goal = body.get("goal")
        sprint.start, sprint.end = start, end
        if state == "closed" and sprint.state != "closed":
            sprint.complete = self.now
        sprint.state = state

    def _move_issues(self, request: Request) -> tuple[int, Any]:
        sprint = self._sprint(request)
        body = request.body if isinstance(request.body, dict) else {}
        keys = body.get("issues")
        if not isinstance(keys, list) or not keys:
            raise ApiError(400, errors={"issues": "Give the issues to move as a non-empty list."})
        if len(keys) > 50:
            raise ApiError(400, "At most 50 issues can be moved at once.")
        if sprint.state == "closed":
            raise ApiError(400, f"Sprint {sprint.id} is closed: issues cannot be added to it.")
        issues = [self._issue(str(key)) for key in keys]
        for issue in issues:
            # An issue sits in at most one open sprint; its closed sprints stay in its history.
            issue.sprint_ids = [
                s for s in issue.sprint_ids if s in self.sprints and self.sprints[s].state == "closed"
            ] + [sprint.id]
            issue.updated = self.now
        return 204, None


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the sandbox answer it, writes JSON back (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; on a kept-alive connection Nagle's algorithm would hold the body
    # until the client's delayed ACK (40 ms on Linux), a delay real Slack and Jira do not add.
    disable_nagle_algorithm = True
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and delayed ACKs
        # would add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        sandbox: JiraSandbox = self.server.sandbox  # type: ignore[attr-defined]
        status, payload, headers = sandbox.handle(self.command, self.path, self.headers, raw_body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="protected-area"')
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox keeps its own call log."""


# --- helpers


def _unauthorized() -> ApiError:
    return ApiError(401, "You are not authenticated. Authentication required to perform this operation.")


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _non_negative_int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"The value of '{name}' must be a whole number.") from None
    if number < 0:
        raise ApiError(400, f"The value of '{name}' must not be negative.")
    return number


_KEY_CLAUSE = re.compile(r"\b(?:key|issuekey|issue)\s*(?:=|!=|in\b|not\s+in\b|>|<)", re.IGNORECASE)


def _has_top_level_or(jql: str) -> bool:
    depth, quote = 0, ""
    words = []
    current = ""
    for ch in jql.split(" ORDER BY ")[0] if " ORDER BY " in jql else jql:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            current += ch
            continue
        words.append(current)
        current = ""
    words.append(current)
    return any(re.search(r"\bor\b", chunk, re.IGNORECASE) for chunk in words)


def _write_page_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode()


def _read_page_token(token: str, digest: str) -> int:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(state["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "The nextPageToken is invalid.") from None
    if state.get("q") != digest:
        raise ApiError(400, "The nextPageToken belongs to a different query.")
    return offset


def _checked_labels(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ApiError(400, errors={"labels": "Labels must be a list of strings."})
    for label in values:
        if not label or any(ch.isspace() for ch in label):
            raise ApiError(400, errors={"labels": f"The label '{label}' contains spaces which is invalid."})
        if len(label) > 255:
            raise ApiError(400, errors={"labels": "The label must not be longer than 255 characters."})
    return list(dict.fromkeys(values))


def _check_dates(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise ApiError(400, errors={"endDate": "The end date must be after the start date."})


__all__ = [
    "CLOUD_API_TOKEN",
    "CLOUD_EMAIL",
    "DC_PAT",
    "JiraSandbox",
    "SeedData",
    "StatusChange",
]
