"""JiraTracker: govbot's only door to Jira (Cloud or Data Center), and the JQL quoting every query uses.

This is the one module that imports the ``jira`` package. It uses the package for the session, authentication
and the calls it gets right (fields, myself, create sprint, move issues, comment), and the package's session
with explicit URLs where the package does not fit govbot: Cloud's ``/rest/api/3/search/jql`` with
``nextPageToken``, partial sprint updates with ``POST`` (the package's ``PUT`` nulls the fields it omits),
labels changed with update operations, and retries that are bounded and testable (the package's own retry
loop is switched off).

Every HTTP request goes through ``JiraTracker._call``, which counts it, retries 429/503 (honouring
``Retry-After``), gateway errors and connection failures with capped exponential backoff, and turns failures
into the ``TrackerError`` family, whose messages say what to do and never contain a secret.
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA, JIRAError
from jira.resilientsession import parse_errors
from urllib3.exceptions import NewConnectionError

from govbot.config import Settings
from govbot.domain.work import Board, BoardType, Issue, Sprint, SprintState

T = TypeVar("T")

API_V2 = "{server}/rest/api/2/{path}"
API_V3 = "{server}/rest/api/3/{path}"
AGILE = "{server}/rest/agile/1.0/{path}"

SEARCH_PAGE_SIZE = 100
SPRINT_PAGE_SIZE = 50
CHANGELOG_PAGE_SIZE = 100
MOVE_BATCH_SIZE = 50  # Jira moves at most 50 issues into a sprint per request
FIRST_BACKOFF = 0.5  # seconds; doubles on each retry up to max_backoff

# Worth retrying: rate limits and gateways/outages. 429 and 503 also mean "not processed", so they are safe to
# retry even for a request that is not idempotent (creating a sprint, posting a comment).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED_STATUSES = frozenset({429, 503})

SPRINT_STATES: tuple[SprintState, ...] = ("future", "active", "closed")
BOARD_TYPES: tuple[BoardType, ...] = ("scrum", "kanban", "simple")
SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
# The fields Issue is built from; custom fields (estimation, reviewer, sprint, epic link) are added per call.
ISSUE_FIELDS = (
    "issuetype",
    "status",
    "labels",
    "components",
    "parent",
    "assignee",
    "created",
    "resolutiondate",
)

# What two-track staffing reads of a sprint's issues: type (epics are not work), labels, components, assignee,
# parent (Cloud's epic link) and the summary. Estimation, reviewer and Data Center's Epic Link are added per call.
STAFFING_FIELDS = ("summary", "issuetype", "labels", "components", "assignee", "parent")

ISSUE_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,8}")
PROJECT_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,9}")
FIELD_ID_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,63}")
MAX_LABEL_LENGTH = 255
DC_SPRINT_ID = re.compile(r"\bid=(\d+)")
NO_SPRINTS = re.compile(r"does(?: not|n't) support sprints", re.IGNORECASE)
CREDENTIALS_HINT = "check JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)"


# --- errors


class TrackerError(Exception):
    """Jira could not do what govbot asked; ``str(error)`` is a sentence for the manager saying what to do."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class TrackerAuthError(TrackerError):
    """Jira refused govbot's credentials or permissions (401/403)."""


class TrackerNotFound(TrackerError):
    """The board, sprint or issue does not exist, or govbot's account cannot see it (404)."""


class TrackerUnavailable(TrackerError):
    """Jira is rate-limiting, down or unreachable, even after retries: try again later."""


class BoardHasNoSprints(TrackerError):
    """The board is a Kanban board: it has no sprints."""


# --- JQL safety: every literal govbot puts into JQL goes through these


def jql_quote(value: str) -> str:
    """``value`` as a JQL string literal: double quotes, with backslash and double quote escaped."""
    if not isinstance(value, str):
        raise TypeError(f"JQL values must be text, not {type(value).__name__}")
    control = next((ch for ch in value if unicodedata.category(ch) == "Cc"), None)
    if control is not None:
        raise ValueError(f"JQL text must not contain control characters (found U+{ord(control):04X})")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate_issue_key(key: str) -> str:
    """``key`` if it is a Jira issue key such as PAY-123, else ValueError saying what a key looks like."""
    if not isinstance(key, str) or not ISSUE_KEY_PATTERN.fullmatch(key):
        raise ValueError(
            f"{_shown(key)} is not a Jira issue key: a key looks like PAY-123 (the project key in capital "
            "letters, a dash, then the issue number)."
        )
    return key


def validate_project_key(key: str) -> str:
    """``key`` if it is a Jira project key such as PAY, else ValueError."""
    if not isinstance(key, str) or not PROJECT_KEY_PATTERN.fullmatch(key):
        raise ValueError(
            f"{_shown(key)} is not a Jira project key: a project key looks like PAY (a capital letter, "
            "then up to 9 capital letters, digits or underscores)."
        )
    return key


def validate_label(label: str) -> str:
    """``label`` if Jira accepts it as a label (1 to 255 characters, no spaces), else ValueError."""
    if (
        not isinstance(label, str)
        or not 0 < len(label) <= MAX_LABEL_LENGTH
        or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in label)
    ):
        raise ValueError(
            f"{_shown(label)} is not a Jira label: a label is 1 to 255 characters without spaces."
        )
    return label


def validate_field_id(field_id: str) -> str:
    """``field_id`` if it looks like a Jira field id (e.g. customfield_10016), else ValueError."""
    if not isinstance(field_id, str) or not FIELD_ID_PATTERN.fullmatch(field_id):
        raise ValueError(
            f"{_shown(field_id)} is not a Jira field id: a field id looks like customfield_10016."
        )
    return field_id


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _positive_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{_shown(value)} is not a Jira {what} id: it must be a positive whole number.")
    return value


# --- the tracker


class JiraTracker:
    """Jira Cloud (email + API token) or Data Center (personal access token) over REST, bounded retries."""

    def __init__(
        self,
        *,
        url: str,
        email: str | None = None,
        api_token: str | None = None,
        pat: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise ValueError("JIRA_URL must be an http(s) URL such as https://example.atlassian.net")
        if timeout <= 0 or max_retries < 0 or max_backoff < 0:
            raise ValueError("timeout must be positive; max_retries and max_backoff must not be negative")
        # A personal access token means Data Center; it is documented as the alternative to email + token.
        if pat:
            auth: dict[str, Any] = {"token_auth": pat}
            self._secrets: tuple[str, ...] = (pat,)
        elif email and api_token:
            auth = {"basic_auth": (email, api_token)}
            self._secrets = (api_token,)
        else:
            raise ValueError(f"Jira credentials are missing: {CREDENTIALS_HINT}.")
        self.url = url.rstrip("/")
        self.calls = 0
        self._max_retries = max_retries
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._lock = threading.RLock()
        self._deployment: str | None = None
        self._custom_fields: dict[str, str | None] | None = None
        self._user_zone: tzinfo | None = None
        # get_server_info=False: the package would call serverInfo in its constructor, outside our retries.
        # max_retries=0: its ResilientSession then makes one attempt and raises; _call owns retrying.
        self._jira = JIRA(
            server=self.url,
            options={"check_update": False, "rest_api_version": "2"},
            get_server_info=False,
            max_retries=0,
            timeout=timeout,
            **auth,
        )
        self._session = self._jira._session

    def __repr__(self) -> str:
        return f"JiraTracker(url={self.url!r}, deployment={self._deployment!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._jira.close()

    def __enter__(self) -> JiraTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- instance facts, each read once

    @property
    def deployment(self) -> str:
        """Either "cloud" or "datacenter", from serverInfo's deploymentType (read on first use)."""
        with self._lock:
            if self._deployment is None:
                info = self._call("reading Jira's server info", lambda: self._jira._get_json("serverInfo"))
                kind = info.get("deploymentType") if isinstance(info, dict) else None
                self._jira.deploymentType = kind
                self._deployment = "cloud" if kind == "Cloud" else "datacenter"
            return self._deployment

    def _fields(self) -> dict[str, str | None]:
        """Ids of the instance's Sprint and Epic Link fields (they differ per instance)."""
        with self._lock:
            if self._custom_fields is None:
                found: dict[str, str | None] = {"sprint": None, "epic_link": None}
                for field in self._call("reading Jira's field list", self._jira.fields):
                    custom_type = (field.get("schema") or {}).get("custom")
                    if custom_type == SPRINT_FIELD_TYPE:
                        found["sprint"] = field.get("id")
                    elif custom_type == EPIC_LINK_FIELD_TYPE:
                        found["epic_link"] = field.get("id")
                self._custom_fields = found
            return self._custom_fields

    def _zone(self) -> tzinfo:
        """The time zone Jira reads JQL dates in: the profile zone of govbot's own Jira account."""
        with self._lock:
            if self._user_zone is None:
                me = self._call("reading govbot's Jira account", self._jira.myself)
                try:
                    self._user_zone = ZoneInfo(str(me.get("timeZone") or "UTC"))
                except (ZoneInfoNotFoundError, ValueError):
                    self._user_zone = UTC
            return self._user_zone

    # --- search

    def search(self, jql: str, *, fields: Sequence[str], expand: Sequence[str] = ()) -> Iterator[dict]:
        """Every issue matching ``jql`` as Jira's raw dict with only ``fields``; pages through all results."""
        wanted = list(dict.fromkeys(fields))
        if self.deployment == "cloud":
            yield from self._search_cloud(jql, wanted, list(expand))
        else:
            yield from self._search_datacenter(jql, wanted, list(expand))

    def _search_cloud(self, jql: str, fields: list[str], expand: list[str]) -> Iterator[dict]:
        # Cloud removed /search; /search/jql pages with an opaque nextPageToken and reports no total.
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": SEARCH_PAGE_SIZE}
            if expand:
                body["expand"] = ",".join(expand)
            if token:
                body["nextPageToken"] = token
            page = self._call(
                "searching Jira issues",
                partial(self._jira._get_json, "search/jql", params=body, base=API_V3, use_post=True),
            )
            yield from page.get("issues") or []
            next_token = page.get("nextPageToken")
            if not next_token or page.get("isLast") or next_token == token:
                return
            token = next_token

    def _search_datacenter(self, jql: str, fields: list[str], expand: list[str]) -> Iterator[dict]:
        start_at = 0
        while True:
            body: dict[str, Any] = {
                "jql": jql,
                "startAt": start_at,
                "maxResults": SEARCH_PAGE_SIZE,
                "fields": fields,
            }
            if expand:
                body["expand"] = expand
            page = self._call(
                "searching Jira issues",
                partial(self._jira._get_json, "search", params=body, base=API_V2, use_post=True),
            )
            issues = page.get("issues") or []
            yield from issues
            # The server may cap maxResults below what was asked, so advance by what actually came back.
            start_at += len(issues)
            if not issues or start_at >= int(page.get("total") or 0):
                return

    def issues(
        self, jql: str, *, estimation_field: str | None, reviewer_field: str | None = None
    ) -> list[Issue]:
        """Issues matching ``jql``, mapped to ``Issue`` (points from ``estimation_field``)."""
        if estimation_field is not None:
            validate_field_id(estimation_field)
        if reviewer_field is not None:
            validate_field_id(reviewer_field)
        custom = self._fields()
        cloud = self.deployment == "cloud"
        epic_link = None if cloud else custom["epic_link"]
        extra = [estimation_field, reviewer_field, custom["sprint"], epic_link]
        fields = [*ISSUE_FIELDS, *(f for f in extra if f)]
        raw_issues = list(self.search(jql, fields=fields, expand=("changelog",)))
        return [
            self._to_issue(
                raw,
                estimation_field=estimation_field,
                reviewer_field=reviewer_field,
                sprint_field=custom["sprint"],
                epic_link_field=epic_link,
                cloud=cloud,
            )
            for raw in raw_issues
        ]

    def _to_issue(
        self,
        raw: dict,
        *,
        estimation_field: str | None,
        reviewer_field: str | None,
        sprint_field: str | None,
        epic_link_field: str | None,
        cloud: bool,
    ) -> Issue:
        fields = raw.get("fields") or {}
        parent_key = (fields.get("parent") or {}).get("key")
        if epic_link_field and fields.get(epic_link_field):
            parent_key = str(fields[epic_link_field])  # Data Center links stories to epics with Epic Link
        created = _parse_time(fields.get("created"))
        return Issue(
            key=str(raw.get("key")),
            issue_type=(fields.get("issuetype") or {}).get("name", ""),
            status=(fields.get("status") or {}).get("name", ""),
            labels=tuple(fields.get("labels") or ()),
            components=tuple(c["name"] for c in fields.get("components") or () if c.get("name")),
            points=_number(fields.get(estimation_field)) if estimation_field else None,
            parent_key=parent_key,
            assignee=_user_ref(fields.get("assignee"), cloud),
            reviewer=_user_ref(fields.get(reviewer_field), cloud) if reviewer_field else None,
            created=created,
            resolved=_parse_time(fields.get("resolutiondate")),
            status_since=self._status_since(raw, created),
            sprint_ids=_sprint_ids(fields.get(sprint_field)) if sprint_field else (),
        )

    def _status_since(self, raw: dict, created: datetime | None) -> datetime | None:
        """When the issue entered its current status: its latest status change, else its creation.

        The changelog is exact where ``statuscategorychangedate`` is not (In Progress -> In Review keeps the
        category). Search results may carry only part of a long changelog; then the full one is fetched.
        """
        changelog = raw.get("changelog")
        histories = (changelog or {}).get("histories") or []
        if changelog is None or int(changelog.get("total") or 0) > len(histories):
            histories = self._full_changelog(str(raw.get("key")))
        changes = [
            moment
            for history in histories
            if any(item.get("field") == "status" for item in history.get("items") or ())
            and (moment := _parse_time(history.get("created"))) is not None
        ]
        return max(changes) if changes else created

    def _full_changelog(self, key: str) -> list[dict]:
        validate_issue_key(key)
        if self.deployment == "datacenter":
            # Data Center returns the whole changelog with the issue.
            issue = self._call(
                f"reading the history of issue {key}",
                lambda: self._jira._get_json(
                    f"issue/{key}", params={"fields": "status", "expand": "changelog"}
                ),
                not_found=_issue_not_found(key),
            )
            return (issue.get("changelog") or {}).get("histories") or []
        histories: list[dict] = []
        start_at = 0
        while True:
            params = {"startAt": start_at, "maxResults": CHANGELOG_PAGE_SIZE}
            page = self._call(
                f"reading the history of issue {key}",
                partial(self._jira._get_json, f"issue/{key}/changelog", params=params),
                not_found=_issue_not_found(key),
            )
            values = page.get("values") or []
            histories.extend(values)
            start_at += len(values)
            if not values or page.get("isLast", True) or start_at >= int(page.get("total") or 0):
                return histories

    # --- convenience queries (JQL built here, every literal quoted)

    def sprint_issues(
        self, sprint_id: int, *, estimation_field: str | None, reviewer_field: str | None = None
    ) -> list[Issue]:
        """Issues in a sprint."""
        jql = f"sprint = {_positive_id(sprint_id, 'sprint')} ORDER BY key ASC"
        return self.issues(jql, estimation_field=estimation_field, reviewer_field=reviewer_field)

    def sprint_work(
        self, sprint_id: int, *, estimation_field: str | None, reviewer_field: str | None = None
    ) -> list[Issue]:
        """The sprint's issues with labels, components, points, assignee, reviewer, epic and summary: one paged
        search with only those fields (no changelog), so a sprint of n issues costs ⌈n/100⌉ requests."""
        sprint_id = _positive_id(sprint_id, "sprint")
        for field in (estimation_field, reviewer_field):
            if field is not None:
                validate_field_id(field)
        cloud = self.deployment == "cloud"
        epic_link = None if cloud else self._fields()["epic_link"]
        fields = [*STAFFING_FIELDS, *(f for f in (estimation_field, reviewer_field, epic_link) if f)]
        return [
            _to_work_issue(raw, estimation_field=estimation_field, reviewer_field=reviewer_field,
                           epic_link_field=epic_link, cloud=cloud)
            for raw in self.search(f"sprint = {sprint_id} ORDER BY key ASC", fields=fields)
        ]

    def resolved_between(
        self,
        project: str,
        start: datetime,
        end: datetime,
        *,
        estimation_field: str | None,
        reviewer_field: str | None = None,
    ) -> list[Issue]:
        """Issues of ``project`` resolved in [start, end)."""
        return self._between("resolved", project, start, end, estimation_field, reviewer_field)

    def created_between(
        self,
        project: str,
        start: datetime,
        end: datetime,
        *,
        estimation_field: str | None,
        reviewer_field: str | None = None,
    ) -> list[Issue]:
        """Issues of ``project`` created in [start, end)."""
        return self._between("created", project, start, end, estimation_field, reviewer_field)

    def in_statuses(
        self,
        project: str,
        statuses: Sequence[str],
        *,
        estimation_field: str | None,
        reviewer_field: str | None = None,
    ) -> list[Issue]:
        """Issues of ``project`` now in one of ``statuses`` (e.g. the review queue)."""
        if isinstance(statuses, str) or not statuses:
            raise ValueError("give at least one status, as a list of names")
        quoted = ", ".join(jql_quote(s) for s in statuses)
        jql = (
            f"project = {jql_quote(validate_project_key(project))} AND status in ({quoted}) ORDER BY key ASC"
        )
        return self.issues(jql, estimation_field=estimation_field, reviewer_field=reviewer_field)

    def _between(
        self,
        field: str,
        project: str,
        start: datetime,
        end: datetime,
        estimation_field: str | None,
        reviewer_field: str | None,
    ) -> list[Issue]:
        # JQL dates have minute precision and are read in the Jira account's time zone: widen the window to
        # whole minutes in that zone, then cut the exact [start, end) from the results (``field`` is also the
        # Issue attribute holding that date).
        project = validate_project_key(project)
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("query dates must be timezone-aware")
        zone = self._zone()
        low = _jql_minute(start, zone, round_up=False)
        high = _jql_minute(end, zone, round_up=True)
        jql = (
            f"project = {jql_quote(project)} AND {field} >= {jql_quote(low)} "
            f"AND {field} < {jql_quote(high)} ORDER BY key ASC"
        )
        found = self.issues(jql, estimation_field=estimation_field, reviewer_field=reviewer_field)
        return [i for i in found if (at := getattr(i, field)) is not None and start <= at < end]

    # --- boards and sprints

    def board(self, board_id: int) -> Board:
        """The board's name, type, project and estimation field, from its configuration (one request: the
        configuration names the board too; the board itself is read only when it does not)."""
        board_id = _positive_id(board_id, "board")
        config = self._board_configuration(board_id)
        location = config.get("location") or {}
        project_key = location.get("key") if location.get("type") == "project" else None
        if not config.get("type") or not config.get("name"):
            raw = self._call(
                f"reading board {board_id}",
                lambda: self._jira._get_json(f"board/{board_id}", base=AGILE),
                not_found=_board_not_found(board_id),
            )
            config = {**config, "type": raw.get("type"), "name": raw.get("name")}
            project_key = (raw.get("location") or {}).get("projectKey") or project_key
        kind = str(config.get("type") or "").lower()
        return Board(
            id=board_id,
            name=str(config.get("name") or ""),
            type=kind if kind in BOARD_TYPES else "simple",  # type: ignore[arg-type]
            project_key=project_key,
            estimation_field=_estimation_of(config),
        )

    def estimation_field(self, board_id: int) -> str | None:
        """The field the board estimates with (e.g. customfield_10016), or None when it counts issues."""
        return _estimation_of(self._board_configuration(_positive_id(board_id, "board")))

    def _board_configuration(self, board_id: int) -> dict:
        return self._call(
            f"reading board {board_id}",
            lambda: self._jira._get_json(f"board/{board_id}/configuration", base=AGILE),
            not_found=_board_not_found(board_id),
        )

    def sprints(self, board_id: int, *, states: Sequence[str] = SPRINT_STATES) -> list[Sprint]:
        """The board's sprints in ``states``, oldest first; BoardHasNoSprints for a Kanban board."""
        board_id = _positive_id(board_id, "board")
        unknown = [s for s in states if s not in SPRINT_STATES]
        if unknown or isinstance(states, str) or not states:
            raise ValueError("sprint states must be a non-empty list of future, active and closed")

        def no_sprints(status: int | None, detail: str) -> TrackerError | None:
            if status == 400 and NO_SPRINTS.search(detail):
                return BoardHasNoSprints(
                    f"Jira board {board_id} has no sprints (it is a Kanban board): govbot needs a Scrum "
                    "board, so check the team's jira_board_id.",
                    status=status,
                )
            return None

        found: list[Sprint] = []
        start_at = 0
        while True:
            params = {"state": ",".join(states), "startAt": start_at, "maxResults": SPRINT_PAGE_SIZE}
            page = self._call(
                f"reading the sprints of board {board_id}",
                partial(self._jira._get_json, f"board/{board_id}/sprint", params=params, base=AGILE),
                not_found=_board_not_found(board_id),
                special=no_sprints,
            )
            values = page.get("values") or []
            found.extend(_to_sprint(v) for v in values)
            start_at += len(values)
            if not values or page.get("isLast", True):
                return found

    def sprint(self, sprint_id: int) -> Sprint:
        """One sprint by id."""
        sprint_id = _positive_id(sprint_id, "sprint")
        raw = self._call(
            f"reading sprint {sprint_id}",
            lambda: self._jira._get_json(f"sprint/{sprint_id}", base=AGILE),
            not_found=_sprint_not_found(sprint_id),
        )
        return _to_sprint(raw)

    def create_sprint(self, *, board_id: int, name: str, start: datetime, end: datetime, goal: str) -> Sprint:
        """Create a future sprint on the board."""
        board_id = _positive_id(board_id, "board")
        name = _sprint_name(name)
        if end <= start:
            raise ValueError("a sprint must end after it starts")
        start_text, end_text = _agile_time(start), _agile_time(end)
        created = self._call(
            f"creating sprint {name!r} on board {board_id}",
            lambda: self._jira.create_sprint(
                name, board_id, startDate=start_text, endDate=end_text, goal=goal or None
            ),
            not_found=_board_not_found(board_id),
            idempotent=False,
        )
        return _to_sprint(created.raw)

    def update_sprint(
        self,
        sprint_id: int,
        *,
        name: str | None = None,
        goal: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sprint:
        """Change only the given fields of a sprint (POST: a partial update; PUT would null the others)."""
        sprint_id = _positive_id(sprint_id, "sprint")
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = _sprint_name(name)
        if goal is not None:
            body["goal"] = goal
        if start is not None:
            body["startDate"] = _agile_time(start)
        if end is not None:
            body["endDate"] = _agile_time(end)
        if not body:
            return self.sprint(sprint_id)
        url = self._jira._get_url(f"sprint/{sprint_id}", base=AGILE)
        updated = self._call(
            f"updating sprint {sprint_id}",
            lambda: self._session.post(url, data=json.dumps(body)).json(),
            not_found=_sprint_not_found(sprint_id),
        )
        return _to_sprint(updated)

    def move_issues_to_sprint(self, sprint_id: int, keys: Sequence[str]) -> None:
        """Move issues into a sprint (in batches of 50, as Jira requires)."""
        sprint_id = _positive_id(sprint_id, "sprint")
        keys = [validate_issue_key(k) for k in keys]
        for first in range(0, len(keys), MOVE_BATCH_SIZE):
            batch = keys[first : first + MOVE_BATCH_SIZE]
            self._call(
                f"moving {len(batch)} issue(s) into sprint {sprint_id}",
                partial(self._jira.add_issues_to_sprint, sprint_id, batch),
                not_found=_sprint_not_found(sprint_id),
            )

    # --- issues

    def get_issue(self, key: str, fields: Sequence[str]) -> dict:
        """One issue as Jira's raw dict, with only ``fields``."""
        key = validate_issue_key(key)
        params = {"fields": ",".join(validate_field_id(f) for f in fields)}
        return self._call(
            f"reading issue {key}",
            lambda: self._jira._get_json(f"issue/{key}", params=params),
            not_found=_issue_not_found(key),
        )

    def add_label(self, key: str, label: str) -> None:
        """Add one label, keeping the others (an update operation, not a replacement of the list)."""
        self._edit_labels(validate_issue_key(key), "add", validate_label(label))

    def remove_label(self, key: str, label: str) -> None:
        """Remove one label, keeping the others."""
        self._edit_labels(validate_issue_key(key), "remove", validate_label(label))

    def _edit_labels(self, key: str, operation: str, label: str) -> None:
        url = self._jira._get_url(f"issue/{key}")
        body = json.dumps({"update": {"labels": [{operation: label}]}})
        self._call(
            f"changing the labels of issue {key}",
            lambda: self._session.put(url, data=body),
            not_found=_issue_not_found(key),
        )

    def add_comment(self, key: str, body: str) -> str:
        """Comment on an issue (plain text through REST v2, which both Cloud and Data Center take); its id."""
        key = validate_issue_key(key)
        if not isinstance(body, str) or not body.strip():
            raise ValueError("a Jira comment needs some text")
        comment = self._call(
            f"commenting on issue {key}",
            lambda: self._jira.add_comment(key, body),
            not_found=_issue_not_found(key),
            idempotent=False,
        )
        return str(comment.id)

    # --- every request goes through here

    def _call(
        self,
        action: str,
        send: Callable[[], T],
        *,
        not_found: str | None = None,
        special: Callable[[int | None, str], TrackerError | None] | None = None,
        idempotent: bool = True,
    ) -> T:
        """Run one HTTP request (``send``), counting and retrying it; failures become TrackerError."""
        attempt = 0
        while True:
            with self._lock:
                self.calls += 1
            try:
                return send()
            except JIRAError as error:
                status = error.status_code
                retryable = status in (RETRYABLE_STATUSES if idempotent else NOT_PROCESSED_STATUSES)
                delay = self._delay(attempt, error.response) if retryable else None
                if delay is None or attempt >= self._max_retries:
                    raise self._translate(error, action, not_found, special) from None
            except requests.exceptions.JSONDecodeError:
                raise TrackerError(
                    f"Jira answered with something that is not JSON while {action}: check that JIRA_URL "
                    "points at Jira's base URL."
                ) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt >= self._max_retries or not (idempotent or _never_reached_jira(error)):
                    raise self._unreachable(error, action, idempotent, attempt + 1) from None
                delay = self._backoff(attempt)
            except requests.RequestException as error:
                raise TrackerUnavailable(
                    f"The request to Jira failed while {action} ({type(error).__name__}): try again later."
                ) from None
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self._max_backoff, FIRST_BACKOFF * 2**attempt)

    def _delay(self, attempt: int, response: requests.Response | None) -> float | None:
        """Seconds to wait before retrying: Jira's Retry-After when given, else backoff; None to give up."""
        retry_after = _retry_after(response)
        if retry_after is None:
            return self._backoff(attempt)
        # Waiting longer than max_backoff would stall the caller; give up and let the job retry later instead.
        return retry_after if retry_after <= self._max_backoff else None

    def _translate(
        self,
        error: JIRAError,
        action: str,
        not_found: str | None,
        special: Callable[[int | None, str], TrackerError | None] | None,
    ) -> TrackerError:
        status = error.status_code
        detail = self._redact(_jira_says(error))
        if special is not None and (custom := special(status, detail)) is not None:
            return custom
        if status in (401, 403):
            return TrackerAuthError(
                f"Jira refused govbot's credentials (HTTP {status}) while {action}: {CREDENTIALS_HINT}, "
                "and that this account may see and edit the team's board.",
                status=status,
            )
        if status == 404:
            return TrackerNotFound(
                not_found or f"Jira found nothing while {action} ({detail}): check the team's Jira settings.",
                status=status,
            )
        if status == 429:
            wait = _retry_after(error.response)
            asked = f" (Jira asked to wait {wait:g} s)" if wait is not None else ""
            return TrackerUnavailable(
                f"Jira is rate-limiting govbot while {action}{asked}: try again later.", status=status
            )
        if status is not None and status >= 500:
            return TrackerUnavailable(
                f"Jira is unavailable (HTTP {status}) while {action}: try again later.", status=status
            )
        return TrackerError(
            f"Jira rejected govbot's request while {action} (HTTP {status}: {detail or 'no details'}): "
            "check the team's Jira settings (board, project and fields).",
            status=status,
        )

    def _unreachable(self, error: Exception, action: str, idempotent: bool, attempts: int) -> TrackerUnavailable:
        if isinstance(error, requests.Timeout):
            reason = "did not answer in time"
            if not idempotent and not _never_reached_jira(error):
                reason += " (the change may or may not have been made; govbot checks on its next run)"
        else:
            reason = "could not be reached"
        return TrackerUnavailable(
            f"Jira at {self.url} {reason} while {action}, after {attempts} attempt(s): "
            "try again later, and check JIRA_URL if it persists."
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


# --- mapping helpers


def _board_not_found(board_id: int) -> str:
    return (
        f"Jira board {board_id} does not exist or govbot's Jira account cannot see it: check the team's "
        "jira_board_id and the account's permissions."
    )


def _sprint_not_found(sprint_id: int) -> str:
    return f"Jira sprint {sprint_id} does not exist or govbot's Jira account cannot see it: was it deleted?"


def _issue_not_found(key: str) -> str:
    return f"Jira issue {key} does not exist or govbot's Jira account cannot see it: check the issue key."


def _estimation_of(config: dict) -> str | None:
    """The estimation field of a board configuration; None when the board counts issues."""
    estimation = config.get("estimation") or {}
    if estimation.get("type") != "field":
        return None
    return (estimation.get("field") or {}).get("fieldId")


def _jira_says(error: JIRAError) -> str:
    """Jira's own error messages, short (never the request, whose headers carry credentials)."""
    messages = parse_errors(error.response) if error.response is not None else []
    text = "; ".join(m for m in messages if m) or (error.text or "")
    return text if len(text) <= 300 else text[:297] + "..."


def _retry_after(response: requests.Response | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: backoff applies)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return max(0.0, seconds) if seconds is not None else None


def _never_reached_jira(error: Exception) -> bool:
    """True when the request cannot have reached Jira (no connection), so even a create is safe to resend."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and error.args:
        return isinstance(getattr(error.args[0], "reason", None), NewConnectionError)
    return False


def _parse_time(value: Any) -> datetime | None:
    """Jira's timestamps (2024-01-10T09:15:00.000+0000, or ...Z in Agile) as aware datetimes."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _agile_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("sprint dates must be timezone-aware")
    return moment.isoformat(timespec="milliseconds")


def _jql_minute(moment: datetime, zone: tzinfo, *, round_up: bool) -> str:
    if moment.tzinfo is None:
        raise ValueError("query dates must be timezone-aware")
    local = moment.astimezone(zone)
    whole = local.replace(second=0, microsecond=0)
    if round_up and whole != local:
        whole += timedelta(minutes=1)
    return whole.strftime("%Y/%m/%d %H:%M")


def _sprint_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a sprint needs a name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValueError("a sprint name must not contain control characters")
    return name.strip()


def _to_sprint(raw: dict) -> Sprint:
    state = str(raw.get("state") or "").lower()
    if state not in SPRINT_STATES:
        raise TrackerError(f"Jira returned sprint {raw.get('id')} in an unknown state {state!r}.")
    board_id = raw.get("originBoardId")
    return Sprint(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        state=state,  # type: ignore[arg-type]
        start=_parse_time(raw.get("startDate")),
        end=_parse_time(raw.get("endDate")),
        goal=str(raw.get("goal") or ""),
        board_id=int(board_id) if board_id is not None else None,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _user_ref(value: Any, cloud: bool) -> str | None:
    """accountId on Cloud, username on Data Center; a multi-user field gives its first user."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        ref = value.get("accountId") if cloud else (value.get("name") or value.get("key"))
        return str(ref) if ref else None
    return str(value) if value else None


def _to_work_issue(
    raw: dict, *, estimation_field: str | None, reviewer_field: str | None, epic_link_field: str | None, cloud: bool
) -> Issue:
    """A search result as an Issue for the staffing rules (the parent is the epic: Cloud's parent, Data Center's
    Epic Link); status and dates are not read."""
    fields = raw.get("fields") or {}
    parent_key = (fields.get("parent") or {}).get("key")
    if epic_link_field and fields.get(epic_link_field):
        parent_key = str(fields[epic_link_field])
    return Issue(
        key=str(raw.get("key")),
        issue_type=(fields.get("issuetype") or {}).get("name", ""),
        status="",
        labels=tuple(fields.get("labels") or ()),
        components=tuple(c["name"] for c in fields.get("components") or () if c.get("name")),
        points=_number(fields.get(estimation_field)) if estimation_field else None,
        parent_key=parent_key,
        assignee=_user_ref(fields.get("assignee"), cloud),
        reviewer=_user_ref(fields.get(reviewer_field), cloud) if reviewer_field else None,
        summary=str(fields.get("summary") or ""),
    )


def _sprint_ids(value: Any) -> tuple[int, ...]:
    """Sprint ids from the sprint field: objects on Cloud, GreenHopper strings ("...[id=12,...]") on DC."""
    ids: list[int] = []
    for item in value or ():
        if isinstance(item, dict) and item.get("id") is not None:
            ids.append(int(item["id"]))
        elif isinstance(item, str) and (match := DC_SPRINT_ID.search(item)):
            ids.append(int(match.group(1)))
    return tuple(ids)


def tracker_from_settings(settings: Settings) -> JiraTracker:
    """A JiraTracker from JIRA_URL and Cloud (email + token) or Data Center (PAT) credentials."""
    settings.require_jira()
    assert settings.jira_url is not None
    return JiraTracker(
        url=settings.jira_url,
        email=settings.jira_email,
        api_token=settings.jira_api_token.get_secret_value() if settings.jira_api_token else None,
        pat=settings.jira_pat.get_secret_value() if settings.jira_pat else None,
    )
