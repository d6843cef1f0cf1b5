"""Searching Jira: the issues a JQL query finds, paged (Cloud's token paging, Data Center's offsets).

Every literal put into a query goes through ``jql.py`` (quoting and validation).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from govbot.adapters.tracker.client import (
    API_V2,
    API_V3,
    JiraClient,
    _issue_not_found,
    _parse_time,
    _positive_id,
)
from govbot.adapters.tracker.jql import (
    _jql_minute,
    jql_quote,
    validate_field_id,
    validate_issue_key,
    validate_project_key,
)
from govbot.domain.work import Issue

SEARCH_PAGE_SIZE = 100
CHANGELOG_PAGE_SIZE = 100
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
DC_SPRINT_ID = re.compile(r"\bid=(\d+)")


# --- search


class JiraSearch(JiraClient):
    """Searches: the issues a JQL query finds, in pages, with the fields each caller needs."""

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


# --- mapping helpers


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
