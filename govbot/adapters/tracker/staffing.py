"""What two-track staffing reads from and writes to Jira, through JiraTracker's counted, retried calls.

The sprint itself is read by ``JiraTracker.sprint_work`` (one paged search with only the fields the rules need);
this module adds one batched search for the epics' labels (epics in chunks of 100), so n issues cost
⌈n/100⌉ + 1 searches. Writes are single requests: a label change is one update operation that adds one track
label and removes the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from govbot.adapters.tracker import JiraTracker
from govbot.adapters.tracker.client import TrackerError, _issue_not_found
from govbot.adapters.tracker.jql import ISSUE_KEY_PATTERN, validate_issue_key, validate_label
from govbot.adapters.tracker.search import STAFFING_FIELDS, _to_work_issue
from govbot.domain.work import Issue

KEYS_PER_SEARCH = 100
COMMENT_PAGE_SIZE = 100
MAX_DROPPED_KEY_RETRIES = 3


def labels_of(tracker: JiraTracker, keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The labels of these issues (the sprint's epics), 100 keys per search.

    Jira refuses a whole query naming a key that does not exist (an epic deleted since the sprint was read):
    such keys are dropped and the search asked again, so a vanished epic simply gives no track.
    """
    wanted = sorted({validate_issue_key(k) for k in keys})
    found: dict[str, tuple[str, ...]] = {}
    for first in range(0, len(wanted), KEYS_PER_SEARCH):
        batch = wanted[first : first + KEYS_PER_SEARCH]
        for _ in range(MAX_DROPPED_KEY_RETRIES + 1):
            if not batch:
                break
            try:
                jql = f"key in ({', '.join(batch)})"
                for raw in tracker.search(jql, fields=["labels"]):
                    found[str(raw.get("key"))] = tuple((raw.get("fields") or {}).get("labels") or ())
                break
            except TrackerError as error:
                missing = _missing_keys(error, batch)
                if error.status != 400 or not missing:
                    raise
                batch = [k for k in batch if k not in missing]
    return found


def _missing_keys(error: TrackerError, batch: Sequence[str]) -> set[str]:
    """The keys of ``batch`` a 400 answer names (Jira names each key that does not exist)."""
    named = set(ISSUE_KEY_PATTERN.findall(str(error)))
    return named & set(batch)


def set_track_label(tracker: JiraTracker, key: str, *, add: str, remove: str) -> None:
    """Add one track label and remove the other, in one update operation (other labels are kept)."""
    key = validate_issue_key(key)
    body = json.dumps({"update": {"labels": [{"add": validate_label(add)}, {"remove": validate_label(remove)}]}})
    url = tracker._jira._get_url(f"issue/{key}")
    tracker._call(f"changing the labels of issue {key}", lambda: tracker._session.put(url, data=body),
                  not_found=_issue_not_found(key))


def issue_brief(tracker: JiraTracker, key: str) -> Issue:
    """One issue's type, labels, assignee, parent epic and summary."""
    cloud = tracker.deployment == "cloud"
    epic_link = None if cloud else tracker._fields()["epic_link"]
    fields = [*STAFFING_FIELDS, *([epic_link] if epic_link else [])]
    raw = tracker.get_issue(key, fields)
    return _to_work_issue(raw, estimation_field=None, reviewer_field=None, epic_link_field=epic_link, cloud=cloud)


def find_comment(tracker: JiraTracker, key: str, marker: str) -> str | None:
    """The id of the issue's comment containing ``marker``, if any (finds a comment made just before a crash)."""
    key = validate_issue_key(key)
    start_at = 0
    while True:
        params = {"startAt": start_at, "maxResults": COMMENT_PAGE_SIZE}
        page = tracker._call(f"reading the comments of issue {key}",
                             partial(tracker._jira._get_json, f"issue/{key}/comment", params=params),
                             not_found=_issue_not_found(key))
        comments = page.get("comments") or []
        for comment in comments:
            if marker in _comment_text(comment.get("body")):
                return str(comment.get("id"))
        start_at += len(comments)
        if not comments or start_at >= int(page.get("total") or 0):
            return None


def _comment_text(body: Any) -> str:
    """A comment body as text: REST v2 gives a string, v3 an Atlassian Document."""
    if isinstance(body, str):
        return body
    return json.dumps(body) if body is not None else ""


EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def find_user(tracker: JiraTracker, email: str) -> str | None:
    """The Jira account of the user with this e-mail: accountId on Cloud, username on Data Center; None if none
    or several match."""
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        return None
    email = email.strip()
    cloud = tracker.deployment == "cloud"
    params = {"query": email} if cloud else {"username": email}
    users = tracker._call(f"looking up the Jira user {email}",
                          lambda: tracker._jira._get_json("user/search", params=params))
    candidates = [u for u in users or [] if isinstance(u, dict) and u.get("active", True)]
    exact = [u for u in candidates if str(u.get("emailAddress") or "").casefold() == email.casefold()]
    # Cloud may hide e-mail addresses; then a single match for the address is the person.
    chosen = exact if exact else ([] if any(u.get("emailAddress") for u in candidates) else candidates)
    if len(chosen) != 1:
        return None
    ref = chosen[0].get("accountId") if cloud else chosen[0].get("name")
    return str(ref) if ref else None
