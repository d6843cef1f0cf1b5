"""A local fake of the Slack Web API on loopback: the real slack_sdk and slack_bolt talk to it over HTTP.

It answers the methods govbot uses the way Slack does (same encodings, ids, error names), records every call
with its parsed body, and can inject rate limits and server errors. Only the standard library is used so that
the demo and the tests need nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import http
import itertools
import json
import math
import random
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

APP_ID = "A0SANDBOX"
BOT_ID = "B0SANDBOX"
TEAM_DOMAIN = "sandbox"

# Slack rejects messages with more than 50 blocks and views with more than 100.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

# Arguments that slack_sdk serialises to a JSON string when it sends a form body.
JSON_ARGUMENTS = frozenset(
    {
        "attachments",
        "blocks",
        "files",
        "inputs",
        "metadata",
        "option_groups",
        "options",
        "outputs",
        "profile",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)


@dataclass
class RecordedCall:
    """One request the sandbox received, as the app sent it."""

    method: str
    body: dict
    token: str | None
    at: float
    failed: bool = False
    status: int = 200
    error: str | None = None
    path: str = ""


@dataclass
class FormPart:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_answer(payload: dict, status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode("utf-8"), headers=headers or {})


def _text_answer(text: str, status: int = 200) -> _Answer:
    return _Answer(status, text.encode("utf-8"), content_type="text/plain; charset=utf-8")


def stable_id(prefix: str, key: str) -> str:
    """A Slack-looking id (uppercase alphanumerics) that is the same for the same key in every run."""
    return prefix + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10].upper()


def dm_channel_id(user_id: str) -> str:
    """The direct-message channel id Slack would give the bot's conversation with a user."""
    return stable_id("D", user_id)


def header_param(header_value: str, param: str) -> str | None:
    """A parameter of a structured header such as Content-Type or Content-Disposition."""
    message = Message()
    message["x"] = header_value
    value = message.get_param(param, header="x")
    if value is None or isinstance(value, str):
        return value
    return str(value[2])


def parse_multipart(content_type: str, raw: bytes) -> list[FormPart]:
    """Split a multipart/form-data body into its parts, byte-exact (no line-ending rewriting)."""
    boundary = header_param(content_type, "boundary")
    if not boundary:
        return []
    parts: list[FormPart] = []
    for chunk in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        parts.append(
            FormPart(
                name=header_param(disposition, "name") or "",
                filename=header_param(disposition, "filename"),
                content_type=headers.get("content-type"),
                content=content.removesuffix(b"\r\n"),
            )
        )
    return parts


def _decode_json_arguments(body: dict) -> dict:
    for key, value in body.items():
        if key in JSON_ARGUMENTS and isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            # On a decoding error keep what was sent: the method then answers invalid_arguments.
            with contextlib.suppress(ValueError):
                body[key] = json.loads(value)
    return body


def parse_body(content_type: str, raw: bytes, query: str = "") -> dict:
    """The arguments of a request as a dict: JSON as JSON, forms as strings with JSON arguments decoded."""
    body: dict[str, Any] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        body[key] = values[-1]
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" and raw.strip():
        parsed = json.loads(raw.decode("utf-8"))
        if isinstance(parsed, dict):
            body.update(parsed)
        else:
            body["_json"] = parsed
    elif media_type == "multipart/form-data":
        for part in parse_multipart(content_type, raw):
            body[part.name] = part.content if part.filename is not None else part.content.decode("utf-8")
    elif raw:
        for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items():
            body[key] = values[0] if len(values) == 1 else values
    return _decode_json_arguments(body)


class TokenBucket:
    """Slack's per-method rate limit: `per_minute` refill, `burst` capacity."""

    def __init__(self, *, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self, now: float) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until a token is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class SlackSandbox:
    """A threaded local server of the Slack Web API, plus response URLs and file upload URLs."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0GOVBOT",
    ) -> None:
        self.bot_token = bot_token
        self.host = host
        self.port = port
        self.latency = latency
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.calls: list[RecordedCall] = []
        self.uploaded_files: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._failures: dict[str, deque[tuple[int, int, str | None]]] = {}
        self._fault_rate: tuple[float, frozenset[str] | None, random.Random, int] | None = None
        self._absent_channels: set[str] = set()
        self._messages: dict[tuple[str, str], dict] = {}
        self.shared_files: list[dict] = []
        self._buckets: dict[str, TokenBucket] = {}
        self._last_ts_micros = 0
        self._sequence = itertools.count(1)
        self._users: dict[str, dict] = {}
        self._views: dict[str, dict] = {}
        self._home_view_ids: dict[str, str] = {}
        self._pending_files: dict[str, dict] = {}
        self._response_url_ids: set[str] = set()
        self._methods: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_open,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "chat.getPermalink": self._chat_get_permalink,
        }
        self.add_user(bot_user_id, name="govbot", is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackSandbox:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the Slack sandbox is already running")
        handler = type("SlackSandboxHandler", (_RequestHandler,), {"sandbox": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() quick: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("start the Slack sandbox before asking for its URL")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API root to give WebClient(base_url=...); the trailing slash matters for urljoin."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ test controls

    def calls_of(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one method, in order of arrival."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def clear(self) -> None:
        """Forget the recorded calls (users, views, files and injected failures stay)."""
        with self._lock:
            self.calls.clear()

    def fail_next(
        self, method: str, count: int = 1, *, status: int = 429, retry_after: int = 1, error: str | None = None
    ) -> None:
        """Make the next `count` calls of `method` (or "response_url"/"upload_url") answer `status`.

        With `error`, they answer HTTP 200 with {"ok": false, "error": error} instead (e.g. "not_in_channel").
        """
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend([(status, retry_after, error)] * count)

    def set_fault_rate(
        self, rate: float, *, methods: set[str] | None = None, seed: int = 0, retry_after: int = 0
    ) -> None:
        """Answer 429 to a share `rate` of calls (of `methods`, default all), drawn from a seeded random source."""
        if not 0 <= rate < 1:
            raise ValueError("rate must be at least 0 and below 1")
        with self._lock:
            self._fault_rate = (rate, frozenset(methods) if methods else None, random.Random(seed), retry_after)

    def remove_bot_from(self, channel: str) -> None:
        """Posts and file shares to `channel` answer not_in_channel until `invite_bot`."""
        with self._lock:
            self._absent_channels.add(channel)

    def invite_bot(self, channel: str) -> None:
        """The bot is a member of `channel` again."""
        with self._lock:
            self._absent_channels.discard(channel)

    def set_rate_limit(self, method: str, *, per_minute: int, burst: int | None = None) -> None:
        """Emulate Slack's tier for `method`; `burst` defaults to one second's worth of calls (at least 1)."""
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        capacity = burst if burst is not None else max(1, per_minute // 60)
        with self._lock:
            self._buckets[method] = TokenBucket(per_minute=per_minute, burst=max(1, capacity))

    def clear_rate_limit(self, method: str) -> None:
        """Remove the rate limit of `method`."""
        with self._lock:
            self._buckets.pop(method, None)

    def new_response_url(self) -> str:
        """A fresh response_url, as Slack puts in slash commands and interactions."""
        token = uuid.uuid4().hex
        with self._lock:
            self._response_url_ids.add(token)
        return f"{self.base_url}/response_url/{token}"

    def add_user(self, user_id: str, *, name: str = "", tz: str = "UTC", is_bot: bool = False) -> None:
        """Make `user_id` known to users.info."""
        offset = ZoneInfo(tz).utcoffset(datetime.now(UTC))
        display = name or user_id.lower()
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": self.team_id,
                "name": display,
                "real_name": display,
                "deleted": False,
                "tz": tz,
                "tz_label": tz,
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
                "is_bot": is_bot,
                "is_admin": False,
                "is_app_user": False,
                "profile": {"real_name": display, "display_name": display, "team": self.team_id},
            }

    def view(self, view_id: str) -> dict | None:
        """The latest stored state of a view opened, pushed, updated or published through the sandbox."""
        with self._lock:
            return self._views.get(view_id)

    def home_view(self, user_id: str) -> dict | None:
        """The App Home view last published for a user."""
        with self._lock:
            view_id = self._home_view_ids.get(user_id)
            return self._views.get(view_id) if view_id else None

    # ------------------------------------------------------------------ request handling

    def respond(self, verb: str, target: str, headers: Mapping[str, str] | Message, raw: bytes) -> _Answer:
        """Answer one HTTP request; called by the server's handler threads."""
        lowered = {name.lower(): value for name, value in headers.items()}
        url = urlsplit(target)
        path = url.path
        if path.startswith("/api/"):
            method = path.removeprefix("/api/").strip("/")
        elif path.startswith("/response_url/"):
            method = "response_url"
        elif path.startswith("/upload/"):
            method = "upload_url"
        else:
            return _text_answer("not found", status=404)
        content_type = lowered.get("content-type") or ""
        if method == "upload_url":
            body: dict = {"content_type": content_type, "length": len(raw)}
        else:
            try:
                body = parse_body(content_type, raw, url.query)
            except (ValueError, UnicodeDecodeError):
                body = {"_raw": raw}  # recorded as received; the method then answers as for missing arguments
        call = RecordedCall(method, body, _bearer_token(lowered, body), time.monotonic(), path=path)
        with self._lock:
            self.calls.append(call)
        if self.latency > 0:
            time.sleep(self.latency)
        answer = self._gate(method) or self._dispatch(method, path, call, content_type, raw)
        call.status = answer.status
        if answer.status != 200:
            call.failed = True
            call.error = "ratelimited" if answer.status == 429 else _status_phrase(answer.status)
        elif answer.content_type.startswith("application/json"):
            payload = json.loads(answer.body)
            if payload.get("ok") is False:
                call.failed, call.error = True, payload.get("error")
        return answer

    def _gate(self, method: str) -> _Answer | None:
        """An injected failure or a rate-limit answer, if one applies to this call."""
        with self._lock:
            queue = self._failures.get(method)
            if queue:
                status, retry_after, error = queue.popleft()
                if error is not None:
                    return _json_answer({"ok": False, "error": error})
                if status == 429:
                    return _rate_limited(retry_after)
                return _text_answer(f"{status} {_status_phrase(status)}", status=status)
            if self._fault_rate is not None:
                rate, methods, rng, retry_after = self._fault_rate
                if (methods is None or method in methods) and rng.random() < rate:
                    return _rate_limited(retry_after)
            bucket = self._buckets.get(method)
            if bucket is not None:
                wait = bucket.take(time.monotonic())
                if wait > 0:
                    return _rate_limited(max(1, math.ceil(wait)))
        return None

    def _dispatch(self, method: str, path: str, call: RecordedCall, content_type: str, raw: bytes) -> _Answer:
        if method == "response_url":
            return self._response_url(path)
        if method == "upload_url":
            return self._upload(path, content_type, raw)
        handler = self._methods.get(method)
        if handler is None:
            return _json_answer({"ok": False, "error": "unknown_method"})
        if call.token != self.bot_token:
            return _json_answer({"ok": False, "error": "invalid_auth"})
        with self._lock:
            return _json_answer(handler(call.body))

    def _response_url(self, path: str) -> _Answer:
        if path.removeprefix("/response_url/").strip("/") not in self._response_url_ids:
            return _text_answer("no_service", status=404)
        return _json_answer({"ok": True})

    def _upload(self, path: str, content_type: str, raw: bytes) -> _Answer:
        file_id = path.removeprefix("/upload/").strip("/")
        with self._lock:
            if file_id not in self._pending_files:
                return _text_answer("file_not_found", status=404)
            data = raw
            if content_type.lower().startswith("multipart/form-data"):
                parts = parse_multipart(content_type, raw)
                chosen = next((p for p in parts if p.filename is not None), None) or next(
                    (p for p in parts if p.name == "file"), None
                )
                data = chosen.content if chosen is not None else b""
            self.uploaded_files[file_id] = data
        return _text_answer(f"OK - {len(data)}")

    # ---------------------------------------------------------- Web API methods (called under the lock)

    def _next_ts(self) -> str:
        # Strictly increasing even when two messages land in the same microsecond.
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0SB{next(self._sequence):07d}"

    def _resolve_channel(self, channel: str) -> str:
        if channel[:1] in ("U", "W"):
            return dm_channel_id(channel)
        if channel.startswith("#"):
            return stable_id("C", channel.removeprefix("#"))
        return channel

    def _auth_test(self, body: dict) -> dict:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Sandbox",
            "user": "govbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, body: dict, ts: str) -> dict:
        message = {"type": "message", "user": self.bot_user_id, "bot_id": BOT_ID, "app_id": APP_ID, "ts": ts}
        for key in ("text", "blocks", "attachments", "thread_ts", "metadata"):
            if key in body:
                message[key] = body[key]
        return message

    def _message_error(self, body: dict) -> str | None:
        if not body.get("channel"):
            return "channel_not_found"
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return "no_text"
        blocks = body.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_MESSAGE_BLOCKS):
            return "invalid_blocks"
        return None

    def _chat_post_message(self, body: dict) -> dict:
        error = self._message_error(body)
        if error:
            return {"ok": False, "error": error}
        channel = self._resolve_channel(str(body["channel"]))
        if channel in self._absent_channels:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        message = self._message(body, ts)
        with self._lock:  # conversations.history reads it from other handler threads
            self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, body: dict) -> dict:
        error = self._message_error(body)
        if error:
            return {"ok": False, "error": error}
        if not body.get("user"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, body: dict) -> dict:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        blocks = body.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_MESSAGE_BLOCKS):
            return {"ok": False, "error": "invalid_blocks"}
        channel = self._resolve_channel(str(body["channel"]))
        message = self._message(body, str(body["ts"]))
        text = body.get("text", "")
        return {"ok": True, "channel": channel, "ts": body["ts"], "text": text, "message": message}

    def _conversations_open(self, body: dict) -> dict:
        if body.get("channel"):
            return {"ok": True, "channel": {"id": body["channel"]}}
        users = [u.strip() for u in str(body.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            channel = {"id": dm_channel_id(users[0]), "is_im": True, "user": users[0]}
        else:
            channel = {"id": stable_id("G", ",".join(sorted(users))), "is_mpim": True}
        return {"ok": True, "no_op": False, "already_open": False, "channel": channel}

    def _conversations_history(self, body: dict) -> dict:
        channel = self._resolve_channel(str(body.get("channel") or ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(body.get("oldest") or 0)
        limit = min(int(body.get("limit") or 100), 999)
        with self._lock:
            posted = [m for (where, ts), m in self._messages.items() if where == channel and float(ts) > oldest]
        newest_first = sorted(posted, key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": newest_first[:limit], "has_more": len(newest_first) > limit}

    def _view_error(self, view: Any) -> str | None:
        if not isinstance(view, dict) or not view.get("type"):
            return "invalid_arguments"
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            return "invalid_blocks"
        return None

    def _store_view(
        self, view_id: str, view: dict, *, root_view_id: str, previous_view_id: str | None
    ) -> dict:
        stored = {
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "blocks": [],
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": root_view_id,
            "previous_view_id": previous_view_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self._views[view_id] = stored
        return {"ok": True, "view": stored}

    def _views_open(self, body: dict) -> dict:
        """views.open and views.push: both need a trigger and get a new view id."""
        if not body.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        error = self._view_error(body.get("view"))
        if error:
            return {"ok": False, "error": error}
        view_id = self._next_id("V")
        return self._store_view(view_id, body["view"], root_view_id=view_id, previous_view_id=None)

    def _views_update(self, body: dict) -> dict:
        error = self._view_error(body.get("view"))
        if error:
            return {"ok": False, "error": error}
        view_id = body.get("view_id")
        if not view_id and body.get("external_id"):
            view_id = next(
                (vid for vid, v in self._views.items() if v.get("external_id") == body["external_id"]), None
            )
            if view_id is None:
                return {"ok": False, "error": "not_found"}
        if not view_id:
            return {"ok": False, "error": "invalid_arguments"}
        current = self._views.get(view_id)
        # Views the sandbox never issued (e.g. a simulated submission's) are accepted, as a fresh record.
        if current is not None and body.get("hash") and body["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        root = current["root_view_id"] if current else view_id
        previous = current["previous_view_id"] if current else None
        return self._store_view(view_id, body["view"], root_view_id=root, previous_view_id=previous)

    def _views_publish(self, body: dict) -> dict:
        user_id = body.get("user_id")
        if not user_id:
            return {"ok": False, "error": "invalid_arguments"}
        error = self._view_error(body.get("view"))
        if error:
            return {"ok": False, "error": error}
        current_id = self._home_view_ids.get(user_id)
        if current_id and body.get("hash") and body["hash"] != self._views[current_id]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view_id = current_id or self._next_id("V")
        self._home_view_ids[user_id] = view_id
        return self._store_view(view_id, body["view"], root_view_id=view_id, previous_view_id=None)

    def _users_info(self, body: dict) -> dict:
        user = self._users.get(str(body.get("user") or ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _files_get_upload_url_external(self, body: dict) -> dict:
        filename = body.get("filename")
        length = str(body.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self._pending_files[file_id] = {"filename": filename, "length": int(length), "alt_txt": body.get("alt_txt")}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, body: dict) -> dict:
        files = body.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channels = [c for c in str(body.get("channels") or body.get("channel_id") or "").split(",") if c]
        if any(self._resolve_channel(c) in self._absent_channels for c in channels):
            return {"ok": False, "error": "not_in_channel"}
        completed = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            if file_id not in self.uploaded_files:
                return {"ok": False, "error": "file_not_found"}
            pending = self._pending_files[file_id]
            completed.append(
                {
                    "id": file_id,
                    "name": pending["filename"],
                    "title": item.get("title") or pending["filename"],
                    "size": len(self.uploaded_files[file_id]),
                    "channels": [self._resolve_channel(c) for c in channels],
                    "permalink": f"{self.base_url}/files/{file_id}",
                }
            )
        for item in completed:
            pending = self._pending_files[item["id"]]
            self.shared_files.append({**item, "alt_txt": pending.get("alt_txt"), "initial_comment":
                                      body.get("initial_comment"), "content": self.uploaded_files[item["id"]]})
        return {"ok": True, "files": completed}

    def _chat_get_permalink(self, body: dict) -> dict:
        channel = self._resolve_channel(str(body.get("channel") or ""))
        ts = str(body.get("message_ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if (channel, ts) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _rate_limited(retry_after: int) -> _Answer:
    headers = {"Retry-After": str(retry_after)}
    return _json_answer({"ok": False, "error": "ratelimited"}, status=429, headers=headers)


def _bearer_token(headers: dict[str, str], body: dict) -> str | None:
    authorization = headers.get("authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    token = body.get("token")
    return token if isinstance(token, str) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks fire many concurrent requests; the default backlog of 5 would refuse connections.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up on a kept-alive connection (as pools do when they close) is normal, not an
        error worth a traceback; anything else is printed as usual."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    sandbox: SlackSandbox
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; on a kept-alive connection Nagle's algorithm would hold the body
    # until the client's delayed ACK (40 ms on Linux), a delay real Slack and Jira do not add.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self, verb: str) -> None:
        raw = self._read_body()
        try:
            answer = self.sandbox.respond(verb, self.path, self.headers, raw)
        except Exception:
            answer = _text_answer(traceback.format_exc(), status=500)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""
