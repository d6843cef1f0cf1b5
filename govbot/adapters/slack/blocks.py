"""Small pieces every view builder shares: signed private_metadata, state reading, sentences, notices.

``private_metadata`` travels through the user's Slack client and comes back in the submission, so anything the
server relies on (which team, which settings version) is signed with HMAC-SHA256 keyed by GOVBOT_SECRET_KEY and a
purpose (the modal's callback id): a tampered value, or one copied from another kind of modal, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.views import View

M = TypeVar("M", bound=BaseModel)

# Slack refuses a message with more than 50 blocks and a view with more than 100.
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000
# Sentences from validators start with a verb when they were written to follow a field name.
_VERB_STARTS = ("is ", "must ", "fires ", "never ", "lists ", "has ")


def escape(text: str) -> str:
    """Text safe inside mrkdwn: Slack's three control characters escaped, so user text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mac(payload: str, *, key: bytes, purpose: str) -> str:
    return hmac.new(key, purpose.encode() + b"\x00" + payload.encode(), hashlib.sha256).hexdigest()


def seal(model: BaseModel, *, key: bytes, purpose: str) -> str:
    """The model as JSON followed by its HMAC, for a view's private_metadata."""
    payload = model.model_dump_json()
    return f"{payload}|{_mac(payload, key=key, purpose=purpose)}"


def unseal(text: str | None, model: type[M], *, key: bytes, purpose: str) -> M | None:
    """The model sealed in ``text``, or None when the text was altered, forged or is not of this purpose."""
    payload, sep, mac = (text or "").rpartition("|")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, which a forged value may hold.
    expected = _mac(payload, key=key, purpose=purpose).encode()
    if not sep or not hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
        return None
    try:
        return model.model_validate_json(payload)
    except ValidationError:
        return None


def state_value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of the one element in an input block (whatever its action_id), or {} when absent."""
    block = values.get(block_id)
    if not isinstance(block, dict) or not block:
        return {}
    element = next(iter(block.values()))
    return element if isinstance(element, dict) else {}


def text_value(values: dict[str, Any], block_id: str) -> str:
    """A text or number input's value, stripped ('' when empty)."""
    value = state_value(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def selected_value(values: dict[str, Any], block_id: str) -> str | None:
    """A static select's chosen option value."""
    option = state_value(values, block_id).get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def checked_values(values: dict[str, Any], block_id: str) -> list[str]:
    """The values of a checkbox group's ticked options."""
    options = state_value(values, block_id).get("selected_options") or []
    return [o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]


def whole_number(text: str) -> int | None:
    """The text as a whole number, or None (Slack sends number inputs as strings, e.g. "4" or "4.0")."""
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def sentence(message: str) -> str:
    """A validator message turned into a sentence that stands on its own under a field."""
    if message.startswith(_VERB_STARTS):
        message = "This value " + message
    return message[:1].upper() + message[1:]


def notice_view(title: str, text: str) -> View:
    """A one-message modal (used for refusals and confirmations that belong where the user clicked)."""
    return View(type="modal", title=title[:24], close="OK", blocks=[SectionBlock(text=text[:SECTION_TEXT_LIMIT])])


def fit_blocks(blocks: list[Block], limit: int, *, overflow_note: str) -> list[Block]:
    """At most ``limit`` blocks; when some are cut, the last one says so."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], SectionBlock(text=overflow_note)]


def initial_state(view: dict[str, Any]) -> dict[str, Any]:
    """The ``state.values`` Slack would submit for a view whose fields the user left as they were opened."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        entry: dict[str, Any] = {"type": kind}
        if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
            entry["value"] = element.get("initial_value")
        elif kind in ("static_select", "radio_buttons"):
            entry["selected_option"] = element.get("initial_option")
        elif kind in ("checkboxes", "multi_static_select"):
            entry["selected_options"] = element.get("initial_options") or []
        elif kind == "timepicker":
            entry["selected_time"] = element.get("initial_time")
        elif kind == "conversations_select":
            entry["selected_conversation"] = element.get("initial_conversation")
        elif kind == "multi_users_select":
            entry["selected_users"] = element.get("initial_users") or []
        state[block["block_id"]] = {element["action_id"]: entry}
    return state
