"""Whether a signed body has the shape Slack sends, before bolt reads it.

Slack sends three encodings: JSON (Events API: ``event_callback``, ``url_verification``…), a form with a
``payload`` field holding JSON (interactions: ``block_actions``, ``view_submission``…) and a plain form (slash
commands, ``ssl_check``). bolt reads the ids it routes by (user, channel, team, enterprise; the event's type, the
action and callback ids) without checking their types, so a number where Slack always sends a string would raise
inside bolt. Here those fields are checked against the types Slack documents; anything else about the content is
the listeners' business (``govbot.adapters.slack.inputs``). A body that fails is not Slack's: the endpoint answers
400. Every check is linear in the size of the body.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The request types Slack sends (for metric labels: any other type is counted as "other", so a label's values stay
# few whatever a body says).
KNOWN_TYPES = frozenset({"event_callback", "url_verification", "app_rate_limited", "block_actions",
                         "block_suggestion", "view_submission", "view_closed", "shortcut", "message_action",
                         "interactive_message", "dialog_submission", "dialog_cancellation", "dialog_suggestion",
                         "workflow_step_edit", "command", "ssl_check"})
SLACK_REPLY_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})  # where Slack's response_urls point
MAX_DEPTH = 64  # Slack's deepest payloads (rich text in a view's blocks) nest about 15 levels
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class NotSlackShape(ValueError):
    """The body is not one Slack sends (the endpoint answers 400 with this message)."""


@dataclass(frozen=True)
class Envelope:
    """A body of Slack's shape: its fields (the JSON object, the form's ``payload`` object, or the form's fields)
    and the id its log lines carry."""

    fields: dict[str, Any]
    request_id: str


# --- the fields bolt reads, with the types Slack sends them in


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class _IdObject(_Shape):
    id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None


_IdRef = str | _IdObject | None


class _Ids(_Shape):
    """The places bolt looks for who and where (``slack_bolt.request.internals``)."""

    user: _IdRef = None
    channel: _IdRef = None
    team: _IdRef = None
    enterprise: _IdRef = None
    user_id: str | None = None
    channel_id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    thread_ts: str | None = None


class _Message(_Ids):
    pass


class _Event(_Ids):
    type: str
    subtype: str | None = None
    message: _Message | None = None
    previous_message: _Message | None = None
    item: _Ids | None = None
    assistant_thread: _Ids | None = None


class _EventCallback(_Ids):
    type: Literal["event_callback"]
    event: _Event
    event_id: str | None = None
    authorizations: list[_Ids] | None = None


class _Action(_Shape):
    action_id: str  # bolt routes by it
    block_id: str | None = None
    type: str | None = None


class _ViewState(_Shape):
    values: dict[str, dict[str, dict[str, Any]]] | None = None


class _View(_Ids):
    id: str | None = None
    callback_id: str | None = None
    private_metadata: str | None = None
    app_installed_team_id: str | None = None
    state: _ViewState | None = None


class _Interaction(_Ids):
    type: str
    trigger_id: str | None = None
    response_url: str | None = None
    callback_id: str | None = None
    action_id: str | None = None  # block_suggestion
    actions: Annotated[list[_Action], Field(min_length=1)] | None = None  # bolt reads the first
    view: _View | None = None
    message: _Message | None = None
    authorizations: list[_Ids] | None = None


class _OtherJson(_Ids):
    type: str
    authorizations: list[_Ids] | None = None


# --- reading a body


def read(body: bytes, content_type: str, *, reply_hosts: frozenset[str] = SLACK_REPLY_HOSTS) -> Envelope:
    """The envelope of a signed body, or NotSlackShape saying why it is not one Slack sends.

    A ``response_url`` (where bolt's ``respond`` posts) must be on one of ``reply_hosts``: Slack's own, and the
    host of SLACK_API_URL where that points elsewhere (the sandbox), so govbot never posts to a host a body names.
    """
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotSlackShape("the body is not UTF-8") from None
    if "application/json" in content_type:
        fields = _json_object(decoded)
        model: type[_Shape] = _EventCallback if fields.get("type") == "event_callback" else _OtherJson
    else:
        form = _form(decoded)
        if "payload" in form:
            fields = _json_object(form["payload"])
            model = _Interaction
        elif "command" in form or "ssl_check" in form:
            fields, model = form, _Shape
        else:
            raise NotSlackShape("a form without a command or a payload")
    try:
        model.model_validate(fields)
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"])
        raise NotSlackShape(f"the field {where[:80]} is not of the type Slack sends") from None
    if not all(_reply_url_ok(url, reply_hosts) for url in _response_urls(fields)):
        raise NotSlackShape("a response_url that is not Slack's")
    return Envelope(fields=fields, request_id=request_id(fields))


def reply_hosts_for(api_url: str) -> frozenset[str]:
    """Slack's reply hosts, with the host (and port) of SLACK_API_URL."""
    return SLACK_REPLY_HOSTS | {urlsplit(api_url).netloc.lower()}


def _response_urls(fields: dict[str, Any]) -> list[Any]:
    """The response URLs a body gives: ``response_url``, and those of a view submission's ``response_urls``."""
    urls = [fields.get("response_url")]
    listed = fields.get("response_urls")
    if isinstance(listed, list):
        urls.extend(entry.get("response_url") for entry in listed if isinstance(entry, dict))
    return [url for url in urls if url is not None]


def _reply_url_ok(url: object, hosts: frozenset[str]) -> bool:
    if not isinstance(url, str) or len(url) > 2000:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and parts.netloc.lower() in hosts and (
        parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost"))


def kind_of(fields: dict[str, Any]) -> str:
    """The request's type for a metric label: one of KNOWN_TYPES, or "other"."""
    kind = fields.get("type") or ("command" if "command" in fields else "other")
    return kind if isinstance(kind, str) and kind in KNOWN_TYPES else "other"


def request_id(fields: dict[str, Any]) -> str:
    """Slack's own id of a request, for the logs: the event id of an event, the trigger id of a command or an
    interaction; a random one when it has neither (or it is not shaped like an id)."""
    for name in ("event_id", "trigger_id"):
        found = fields.get(name)
        if isinstance(found, str) and _REQUEST_ID.fullmatch(found):
            return found
    return f"req-{uuid.uuid4().hex[:12]}"


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise NotSlackShape(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:
        raise NotSlackShape("the body is not JSON") from None
    if not isinstance(value, dict):
        raise NotSlackShape("the JSON is not an object")
    problem = _tree_problem(value)
    if problem:
        raise NotSlackShape(problem)
    return value


def _form(text: str) -> dict[str, str]:
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise NotSlackShape("the body is not a form") from None
    if any(len(values) > 1 for values in form.values()):
        # bolt keeps a repeated field's last value and this check would see the first (a response_url on
        # Slack's host, then another): Slack never repeats a field.
        raise NotSlackShape("a form that gives a field twice")
    return {name: values[0] for name, values in form.items()}


def _tree_problem(value: Any) -> str | None:
    """What is wrong with a parsed JSON object, if anything: containers nested deeper than MAX_DEPTH, or a text
    holding half of a surrogate pair (valid JSON, but not text: no database or Slack call could take it).
    Walks the tree without recursing."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"JSON nested more than {MAX_DEPTH} levels deep"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            if not (_is_text(key) and _is_text(child)):
                return "JSON text that is not valid Unicode"
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return None


def _is_text(value: object) -> bool:
    if not isinstance(value, str) or value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
