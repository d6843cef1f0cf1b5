"""The digest's reads from Jira, without one request per issue.

Per team and week: one paged search for the issues resolved or created in the week (no changelog: only dates
are needed), and one paged search for the issues now in the review statuses with their changelogs, for when each
entered its status. Data Center embeds whole changelogs in search results; Cloud embeds only part of a long one,
and those issues get their changelogs from one bulk call (``/rest/api/3/changelog/bulkfetch``, up to 1000
issues), never one request each. With the board's estimation field, that is at most 3 + ⌈issues/100⌉ calls.

JQL reads dates in the Jira account's timezone at minute precision: the window is widened to whole minutes in
that zone, and the exact [start, end) cut is made on the returned timestamps in the digest's domain code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from govbot.adapters.tracker import JiraTracker
from govbot.adapters.tracker.client import API_V3, _parse_time
from govbot.adapters.tracker.jql import (
    _jql_minute,
    jql_quote,
    validate_field_id,
    validate_issue_key,
    validate_project_key,
)
from govbot.adapters.tracker.search import _number
from govbot.domain.work import Issue

WEEK_FIELDS = ("issuetype", "status", "labels", "created", "resolutiondate")
BULK_CHANGELOG_LIMIT = 1000


def _to_issue(
    raw: dict, estimation_field: str | None, status_since: datetime | None = None, epic_link: str | None = None
) -> Issue:
    fields = raw.get("fields") or {}
    parent_key = (fields.get("parent") or {}).get("key")
    if epic_link and fields.get(epic_link):
        parent_key = str(fields[epic_link])  # Data Center links stories to epics with Epic Link
    return Issue(
        parent_key=parent_key,
        key=str(raw.get("key")),
        issue_type=(fields.get("issuetype") or {}).get("name", ""),
        status=(fields.get("status") or {}).get("name", ""),
        labels=tuple(fields.get("labels") or ()),
        points=_number(fields.get(estimation_field)) if estimation_field else None,
        created=_parse_time(fields.get("created")),
        resolved=_parse_time(fields.get("resolutiondate")),
        status_since=status_since,
    )


def week_issues(
    tracker: JiraTracker, *, project: str, start: datetime, end: datetime, estimation_field: str | None
) -> list[Issue]:
    """Issues of ``project`` resolved or created in [start, end) (a window a minute wider, cut by the caller)."""
    project = validate_project_key(project)
    if estimation_field is not None:
        validate_field_id(estimation_field)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("query dates must be timezone-aware")
    zone = tracker._zone()
    low = jql_quote(_jql_minute(start, zone, round_up=False))
    high = jql_quote(_jql_minute(end, zone, round_up=True))
    jql = (
        f"project = {jql_quote(project)} AND ((resolved >= {low} AND resolved < {high}) "
        f"OR (created >= {low} AND created < {high})) ORDER BY key ASC"
    )
    fields = [*WEEK_FIELDS, *([estimation_field] if estimation_field else [])]
    return [_to_issue(raw, estimation_field) for raw in tracker.search(jql, fields=fields)]


def sprint_issues(tracker: JiraTracker, *, sprint_id: int, estimation_field: str | None) -> list[Issue]:
    """A sprint's issues with labels, points and parent (no changelog: the track split and refactor share need
    none)."""
    if estimation_field is not None:
        validate_field_id(estimation_field)
    epic_link = None if tracker.deployment == "cloud" else tracker._fields()["epic_link"]
    jql = f"sprint = {int(sprint_id)} ORDER BY key ASC"
    extra = [f for f in (estimation_field, epic_link) if f]
    fields = [*WEEK_FIELDS, "parent", *extra]
    return [_to_issue(raw, estimation_field, epic_link=epic_link) for raw in tracker.search(jql, fields=fields)]


def labels_of(tracker: JiraTracker, keys: Sequence[str]) -> dict[str, list[str]]:
    """The labels of a few issues (a sprint's epics), from one search per 100 keys."""
    found: dict[str, list[str]] = {}
    unique = sorted(set(keys))
    for first in range(0, len(unique), 100):
        chunk = ", ".join(jql_quote(validate_issue_key(k)) for k in unique[first : first + 100])
        for raw in tracker.search(f"key in ({chunk})", fields=["labels"]):
            found[str(raw.get("key"))] = list((raw.get("fields") or {}).get("labels") or [])
    return found


def review_queue(tracker: JiraTracker, *, project: str, statuses: Sequence[str]) -> list[Issue]:
    """Issues of ``project`` now in one of ``statuses``, each with when it entered its current status."""
    project = validate_project_key(project)
    if isinstance(statuses, str) or not statuses:
        raise ValueError("give at least one status, as a list of names")
    quoted = ", ".join(jql_quote(s) for s in statuses)
    jql = f"project = {jql_quote(project)} AND status in ({quoted}) ORDER BY key ASC"
    raws = list(tracker.search(jql, fields=WEEK_FIELDS, expand=("changelog",)))
    histories: dict[str, list[dict]] = {}
    truncated: list[str] = []
    for raw in raws:
        changelog = raw.get("changelog")
        found = (changelog or {}).get("histories") or []
        if changelog is None or int(changelog.get("total") or 0) > len(found):
            truncated.append(str(raw.get("key")))
        else:
            histories[str(raw.get("key"))] = found
    if truncated:
        histories.update(_bulk_changelogs(tracker, truncated, raws))
    out = []
    for raw in raws:
        created = _parse_time((raw.get("fields") or {}).get("created"))
        out.append(_to_issue(raw, None, _entered_status(histories.get(str(raw.get("key")), []), created)))
    return out


def _bulk_changelogs(tracker: JiraTracker, keys: list[str], raws: Iterable[dict]) -> dict[str, list[dict]]:
    """Status changelogs of ``keys`` in as few calls as Cloud allows (1000 issues each)."""
    key_of_id = {str(raw.get("id")): str(raw.get("key")) for raw in raws}
    found: dict[str, list[dict]] = {}
    for first in range(0, len(keys), BULK_CHANGELOG_LIMIT):
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "issueIdsOrKeys": keys[first : first + BULK_CHANGELOG_LIMIT],
                "fieldIds": ["status"],
                "maxResults": BULK_CHANGELOG_LIMIT,
            }
            if token:
                body["nextPageToken"] = token
            page = tracker._call(
                "reading the review queue's history",
                partial(tracker._jira._get_json, "changelog/bulkfetch", params=body, base=API_V3, use_post=True),
            )
            for log in page.get("issueChangeLogs") or []:
                key = key_of_id.get(str(log.get("issueId")), str(log.get("issueId")))
                found.setdefault(key, []).extend(log.get("changeHistories") or [])
            next_token = page.get("nextPageToken")
            if not next_token or next_token == token:
                break
            token = next_token
    return found


def _history_time(value: Any) -> datetime | None:
    """A changelog entry's time: ISO text in search results, epoch milliseconds in the bulk fetch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 100_000_000_000 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    return _parse_time(value)


def _entered_status(histories: Iterable[dict], created: datetime | None) -> datetime | None:
    """When the issue entered its current status: its latest status change, else its creation."""
    changes = [
        moment
        for history in histories
        if any((item.get("fieldId") or item.get("field")) == "status" for item in history.get("items") or ())
        and (moment := _history_time(history.get("created"))) is not None
    ]
    return max(changes) if changes else created
