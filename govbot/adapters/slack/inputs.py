"""Values that come from Slack, checked before anything is queried with them.

Everything in a Slack request arrives from the outside: a signed request proves it came through Slack, not that
a button's value is the one govbot put there (a client can send any value) nor that a field has the type and
length Slack documents. The listeners read ids, button values, ``private_metadata`` and form state through these
functions, which answer None (or leave a value out) when it is not of the expected type, range or length, so a
query only ever sees a well-formed id and a number the database can hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from govbot.config import SLACK_USER_ID
from govbot.teamconfig import TEAM_NAME

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")  # public (C), private (G) or direct-message (D) channel
ROW_ID_MAX = 2**31 - 1  # the largest value of the database's INTEGER columns (PostgreSQL int4)
ROW_ID = re.compile(r"[1-9][0-9]{0,9}")
TEAM_NAME_ID = re.compile(TEAM_NAME)
ID_MAX = 255  # trigger ids, action ids and timestamps are far shorter
TEXT_MAX = 3000  # Slack's longest text input; also the length of a view's private_metadata


def user_id(value: object) -> str | None:
    """A Slack user id (U…/W…), or None."""
    return value if isinstance(value, str) and len(value) <= 32 and SLACK_USER_ID.fullmatch(value) else None


def channel_id(value: object) -> str | None:
    """A Slack channel id (C…/G…/D…), or None."""
    return value if isinstance(value, str) and CHANNEL_ID.fullmatch(value) else None


def row_id(value: object) -> int | None:
    """A button value that names a stored row: a whole number from 1 to ROW_ID_MAX written in digits, or None."""
    if not isinstance(value, str) or not ROW_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= ROW_ID_MAX else None


def team_name(value: object) -> str | None:
    """A team name as govbot stores them, or None."""
    return value if isinstance(value, str) and TEAM_NAME_ID.fullmatch(value) else None


def short_text(value: object, limit: int = ID_MAX) -> str | None:
    """A string of at most ``limit`` characters, or None."""
    return value if isinstance(value, str) and len(value) <= limit else None


def text(value: object, limit: int = TEXT_MAX) -> str | None:
    """Free text of at most ``limit`` characters (what a Slack text input can hold), or None."""
    return short_text(value, limit)


def state_values(view: object) -> dict[str, dict[str, Any]]:
    """A view's ``state.values`` ({block_id: {action_id: element state}}), keeping only well-typed entries and
    leaving out a text longer than a Slack input holds."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    kept: dict[str, dict[str, Any]] = {}
    for block_id, block in (values or {}).items() if isinstance(values, dict) else ():
        if not isinstance(block_id, str) or not isinstance(block, dict):
            continue
        elements = {action_id: element for action_id, element in block.items()
                    if isinstance(element, dict) and _fits(element.get("value"))}
        if elements:
            kept[block_id] = elements
    return kept


def _fits(value: object) -> bool:
    return value is None or text(value) is not None


@dataclass(frozen=True)
class Click:
    """A button click (block_actions): who clicked, the button and its value, checked."""

    user_id: str
    action_id: str
    value: str  # "" when the value is missing or longer than a button's value may be (2,000 characters)
    trigger_id: str | None
    action_ts: str | None
    response_url: str | None  # where to answer in the message clicked (none for a click in a view)


def click(body: dict[str, Any]) -> Click | None:
    """The click in a block_actions body, or None when who clicked or which button is not readable."""
    user = body.get("user")
    who = user_id(user.get("id") if isinstance(user, dict) else None)
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else None
    if who is None or action is None or short_text(action.get("action_id")) is None:
        return None
    return Click(user_id=who, action_id=action["action_id"], value=short_text(action.get("value"), 2000) or "",
                 trigger_id=short_text(body.get("trigger_id")), action_ts=short_text(action.get("action_ts")),
                 response_url=short_text(body.get("response_url"), 2000))


@dataclass(frozen=True)
class Submission:
    """A modal's submission (view_submission): who submitted, its metadata and its form state, checked."""

    user_id: str
    private_metadata: str | None  # None when missing or longer than Slack stores
    values: dict[str, dict[str, Any]]


def submission(body: dict[str, Any]) -> Submission | None:
    """The submission in a view_submission body, or None when who submitted is not readable."""
    user = body.get("user")
    who = user_id(user.get("id") if isinstance(user, dict) else None)
    if who is None:
        return None
    view = body.get("view")
    metadata = view.get("private_metadata") if isinstance(view, dict) else None
    return Submission(user_id=who, private_metadata=text(metadata), values=state_values(view))
