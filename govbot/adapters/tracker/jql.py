"""JQL safety: every literal govbot puts into JQL is quoted or validated here; dates written as JQL reads them."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, tzinfo

from govbot.adapters.tracker.client import _shown

ISSUE_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,8}")
PROJECT_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,9}")
FIELD_ID_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,63}")
MAX_LABEL_LENGTH = 255


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


def _jql_minute(moment: datetime, zone: tzinfo, *, round_up: bool) -> str:
    if moment.tzinfo is None:
        raise ValueError("query dates must be timezone-aware")
    local = moment.astimezone(zone)
    whole = local.replace(second=0, microsecond=0)
    if round_up and whole != local:
        whole += timedelta(minutes=1)
    return whole.strftime("%Y/%m/%d %H:%M")
