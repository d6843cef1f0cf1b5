"""The Jira tracker (Cloud and Data Center): everything the features use of Jira, behind one class.

Split by concern: ``client`` (connection, Cloud/Data Center, retries, errors), ``jql`` (quoting and
validation), ``search`` (paging, the issues a query finds), ``issues`` (one issue: read, labels, comments) and
``agile`` (boards and sprints); ``JiraTracker`` joins them. ``weekly`` and ``staffing`` are the digest's and the
staffing rules' batched reads, built on a JiraTracker.
"""

from __future__ import annotations

from govbot.adapters.tracker.agile import JiraAgile
from govbot.adapters.tracker.client import (
    BoardHasNoSprints,
    TrackerAuthError,
    TrackerError,
    TrackerNotFound,
    TrackerUnavailable,
)
from govbot.adapters.tracker.issues import JiraIssues
from govbot.adapters.tracker.jql import (
    jql_quote,
    validate_field_id,
    validate_issue_key,
    validate_label,
    validate_project_key,
)
from govbot.adapters.tracker.search import JiraSearch
from govbot.config import Settings

__all__ = [
    "BoardHasNoSprints", "JiraTracker", "TrackerAuthError", "TrackerError", "TrackerNotFound", "TrackerUnavailable",
    "jql_quote", "tracker_from_settings", "validate_field_id", "validate_issue_key", "validate_label",
    "validate_project_key",
]


class JiraTracker(JiraSearch, JiraIssues, JiraAgile):
    """Jira Cloud (email + API token) or Data Center (personal access token): searches, issues, boards, sprints."""


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
