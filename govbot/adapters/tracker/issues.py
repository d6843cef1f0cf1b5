"""Single issues in Jira: read one, change its labels, comment on it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from govbot.adapters.tracker.client import (
    JiraClient,
    _issue_not_found,
)
from govbot.adapters.tracker.jql import validate_field_id, validate_issue_key, validate_label


class JiraIssues(JiraClient):
    """Reads and writes of one issue at a time."""

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
