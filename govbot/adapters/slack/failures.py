"""What happens when a Slack request is not what govbot expects: it is acked all the same, and logged.

- A request no listener handles (an action, view, shortcut or command govbot does not have, an event it ignores)
  is acked with an empty 200 and logged once per kind and id, at WARNING: a bounded set remembers the ids already
  logged, so a flood of one id writes one line and a flood of new ids cannot grow memory.
- A listener that raises is acked anyway (``guarded``: a view gets a polite notice, an action or command an empty
  ack) and the failure is logged at ERROR with the request id, the exception's type and where it was raised, never
  its message or the payload, which may carry people's names, ids and answers.
- ``on_error`` is bolt's global error handler for whatever else raises (a middleware, an event listener): the
  same log line, and a 200 instead of bolt's 500.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, TypeVar

from prometheus_client import Counter
from slack_bolt import BoltContext, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError

from govbot.adapters.slack.blocks import notice_view
from govbot.adapters.slack.envelope import kind_of, request_id
from govbot.logs import log_context

log = logging.getLogger(__name__)

UNHANDLED = Counter("govbot_slack_unhandled_total", "Slack requests no listener handles, acked and ignored",
                    ["kind"])
LISTENER_ERRORS = Counter("govbot_slack_listener_errors_total", "Slack listeners that raised (acked anyway)")
OOPS = ("Something went wrong on govbot's side and nothing was changed. Try again in a minute; if it keeps "
        "happening, tell your govbot admin (the details are in govbot's log).")
REMEMBERED_IDS = 1024
F = TypeVar("F", bound=Callable[..., Any])


class OnceLog:
    """Log a message once per key, remembering at most ``size`` keys (the oldest are forgotten first)."""

    def __init__(self, size: int = REMEMBERED_IDS) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, key: tuple[str, str]) -> bool:
        """Whether ``key`` is new (and remember it)."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


_UNHANDLED_SEEN = OnceLog()


def what_it_is(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, id) of a Slack request: ("action", action_id), ("view", callback_id), ("event", event type)…"""
    kind = kind_of(body)
    ident: Any = body.get("type") if kind == "other" else ""
    if kind == "block_actions" or kind == "block_suggestion":
        actions = body.get("actions") if kind == "block_actions" else [body]
        first = actions[0] if isinstance(actions, list) and actions else {}
        ident = first.get("action_id") if isinstance(first, dict) else ""
        kind = "action" if kind == "block_actions" else "options"
    elif kind in ("view_submission", "view_closed"):
        view = body.get("view")
        ident, kind = (view.get("callback_id") if isinstance(view, dict) else ""), "view"
    elif kind in ("shortcut", "message_action"):
        ident, kind = body.get("callback_id"), "shortcut"
    elif kind == "command":
        ident = body.get("command")
    elif kind == "event_callback":
        event = body.get("event")
        ident, kind = (event.get("type") if isinstance(event, dict) else ""), "event"
    return kind, _printable(str(ident or ""))


def _printable(text: str, limit: int = 80) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:limit]) + ("…" if len(text) > limit else "")


def where(error: BaseException) -> str:
    """The innermost frames an exception passed through (file, line, function), without its message."""
    frames = traceback.extract_tb(error.__traceback__)[-4:]
    return " <- ".join(f"{PurePath(f.filename).parent.name}/{PurePath(f.filename).name}:{f.lineno} {f.name}"
                       for f in reversed(frames))


def log_failure(error: BaseException, *, slack_request: str, what: str) -> None:
    """One ERROR line for a failed listener: request id, what failed, the exception's type and frames."""
    LISTENER_ERRORS.inc()
    with log_context(slack_request=slack_request):
        log.error("%s failed (Slack request %s): %s at %s; Slack was acked", what, slack_request,
                  error.__class__.__name__, where(error))


def log_unhandled(body: dict[str, Any]) -> None:
    """Count a request no listener handles and log it the first time its (kind, id) is seen."""
    kind, ident = what_it_is(body)
    UNHANDLED.labels(kind).inc()
    if _UNHANDLED_SEEN.first((kind, ident)):
        log.warning("acked and ignored a Slack %s govbot does not handle: %r (logged once per id)", kind, ident)


def _request_of(context: BoltContext | None, body: dict[str, Any]) -> str:
    found = context.get("slack_request") if context is not None else None
    return str(found) if found else request_id(body)


def guarded(listener: F) -> F:
    """The listener (which takes ``ack`` and ``body``), acking Slack and logging when it raises.

    bolt's own handling of a listener that raised after ``ack()`` can lose the ack (it resets it), so listeners
    never let an exception reach bolt. A view submission that failed before its ack gets a notice in the modal.
    """
    names = inspect.signature(listener).parameters
    if "ack" not in names or "body" not in names:
        raise TypeError(f"{listener.__name__} must take ack and body to be guarded")

    @functools.wraps(listener)
    def run(**kwargs: Any) -> Any:
        ack, body = kwargs["ack"], kwargs["body"]
        with log_context(slack_request=_request_of(kwargs.get("context"), body)):
            try:
                return listener(**kwargs)
            except Exception as error:
                kind, ident = what_it_is(body)
                log_failure(error, slack_request=_request_of(kwargs.get("context"), body),
                            what=f"the Slack {kind} listener {ident!r}")
                if ack.response is None:
                    if kind == "view":
                        ack(response_action="update", view=notice_view("govbot", OOPS).to_dict())
                    else:
                        ack()
                return None

    run.__govbot_guarded__ = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def on_error(error: Exception, body: dict[str, Any], context: BoltContext,
             response: BoltResponse | None) -> BoltResponse | None:
    """bolt's global error handler: an unhandled request is acked and logged once per id; a failure is logged;
    both answer 200 (``response`` is None when the listener had acked already)."""
    if isinstance(error, BoltUnhandledRequestError):
        log_unhandled(body)
    else:
        kind, ident = what_it_is(body)
        log_failure(error, slack_request=_request_of(context, body), what=f"the Slack {kind} handling of {ident!r}")
    return BoltResponse(status=200, body="") if response is not None else None
