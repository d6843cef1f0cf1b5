"""The Jira tracker (Cloud and Data Center): what the features use of Jira, behind one class."""

from govbot.adapters.tracker.client import (
    BoardHasNoSprints,
    JiraTracker,
    TrackerAuthError,
    TrackerError,
    TrackerNotFound,
    TrackerUnavailable,
    jql_quote,
    tracker_from_settings,
    validate_issue_key,
    validate_label,
    validate_project_key,
)

__all__ = [
    "BoardHasNoSprints", "JiraTracker", "TrackerAuthError", "TrackerError", "TrackerNotFound", "TrackerUnavailable",
    "jql_quote", "tracker_from_settings", "validate_issue_key", "validate_label", "validate_project_key",
]
