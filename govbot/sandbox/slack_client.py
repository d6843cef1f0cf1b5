"""Sends an app what Slack sends it: signed slash commands, interactions and Events API callbacks.

The bodies follow Slack's shapes and encodings (form-encoded commands, `payload=<json>` interactions, JSON
events) so the real slack_bolt request verification and parsing run unchanged against them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from govbot.sandbox.slack_api import APP_ID, TEAM_DOMAIN, SlackSandbox, dm_channel_id

# Slack stopped relying on this field in favour of signatures, but still sends it.
VERIFICATION_TOKEN = "sandbox-verification-token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack offers these action types a selected option rather than a plain value.
SELECT_ACTION_TYPES = frozenset({"static_select", "external_select", "radio_buttons", "overflow"})


class HeaderDict(dict):
    """Response headers with case-insensitive lookups, as HTTP header names are."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((str(k).lower(), v) for k, v in dict(items).items())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        """The value of a header whatever the case of its name."""
        return super().get(key.lower(), default)


@dataclass
class SimResponse:
    """The app's HTTP answer to one simulated Slack request."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    response_url: str | None = None
    trigger_id: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body, which is what a bare ack() answers)."""
        return json.loads(self.body) if self.body.strip() else None


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def signature_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Slack's request signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


class SlackRequestSimulator:
    """Posts signed Slack requests to an app's events URL and returns its answers."""

    def __init__(
        self,
        *,
        events_url: str,
        signing_secret: str,
        team_id: str = "T0SANDBOX",
        sandbox: SlackSandbox | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.sandbox = sandbox
        self.timeout = timeout

    @property
    def bot_user_id(self) -> str:
        """The bot user the events are addressed to."""
        return self.sandbox.bot_user_id if self.sandbox is not None else "U0GOVBOT"

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The X-Slack-Request-Timestamp and X-Slack-Signature headers for `body`."""
        return signature_headers(
            self.signing_secret, body, int(time.time()) if timestamp is None else timestamp
        )

    # ------------------------------------------------------------------ what Slack sends

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/govbot",
        trigger_id: str | None = None,
    ) -> SimResponse:
        """A slash command, form-encoded with every field Slack sends."""
        body, response_url, trigger_id = self.slash_command_body(text, user_id=user_id, channel_id=channel_id,
                                                                 command=command, trigger_id=trigger_id)
        response = self.post_raw(body, content_type=FORM_CONTENT_TYPE)
        response.response_url, response.trigger_id = response_url, trigger_id
        return response

    def slash_command_body(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/govbot",
        trigger_id: str | None = None,
    ) -> tuple[bytes, str | None, str]:
        """The unsigned form body of a slash command, its response_url (None without a sandbox) and trigger id:
        for a client that signs and sends it itself (the benchmarks send from another process)."""
        trigger_id = trigger_id or new_trigger_id()
        response_url = self.sandbox.new_response_url() if self.sandbox is not None else None
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "trigger_id": trigger_id,
        }
        if response_url is not None:
            fields["response_url"] = response_url
        return urlencode(fields).encode("utf-8"), response_url, trigger_id

    def block_action(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str = "",
        block_id: str = "b",
        channel_id: str | None = None,
        view: dict | None = None,
        message: dict | None = None,
        container: dict | None = None,
        action_type: str = "button",
    ) -> SimResponse:
        """A click (or selection) in a message or a view: `payload=<json>` of type block_actions."""
        trigger_id = new_trigger_id()
        action: dict[str, Any] = {
            "type": action_type,
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if action_type in SELECT_ACTION_TYPES:
            action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
        else:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            **self._actor(user_id),
            "trigger_id": trigger_id,
            "container": container or _container(channel_id, view, message),
            "actions": [action],
            "state": {"values": {}},
        }
        response_url = None
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
            if self.sandbox is not None:
                response_url = self.sandbox.new_response_url()
                payload["response_url"] = response_url
        if message is not None:
            payload["message"] = message
        if view is not None:
            payload["view"] = view
        response = self._post_payload(payload)
        response.response_url, response.trigger_id = response_url, trigger_id
        return response

    def view_submission(
        self,
        *,
        user_id: str,
        callback_id: str,
        values: dict,
        private_metadata: str = "",
        view_id: str = "V0SIM",
        hash: str = "h",
    ) -> SimResponse:
        """A modal's Submit: `payload=<json>` of type view_submission with the state values as given."""
        trigger_id = new_trigger_id()
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": values},
            "hash": hash,
            "title": {"type": "plain_text", "text": "govbot"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "external_id": "",
            "app_id": APP_ID,
            "bot_id": "B0SANDBOX",
        }
        payload = {
            "type": "view_submission",
            **self._actor(user_id),
            "trigger_id": trigger_id,
            "view": view,
            "response_urls": [],
        }
        response = self._post_payload(payload)
        response.trigger_id = trigger_id
        return response

    def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> SimResponse:
        """An Events API callback; with `retry_num`, one of Slack's redeliveries of it."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = None
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope).encode("utf-8")
        return self.post_raw(body, content_type=JSON_CONTENT_TYPE, headers=headers)

    def app_home_opened(self, user_id: str, *, event_id: str | None = None) -> SimResponse:
        """The user opened the app's Home tab."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm_channel_id(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.sandbox.home_view(user_id) if self.sandbox is not None else None
        if home is not None:
            event["view"] = home  # Slack includes the view last published, if any
        return self.event(event, event_id=event_id)

    def url_verification(self, challenge: str) -> SimResponse:
        """The handshake Slack performs when the Request URL is configured."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post_raw(json.dumps(body).encode("utf-8"), content_type=JSON_CONTENT_TYPE)

    # ------------------------------------------------------------------ transport

    def post_raw(
        self,
        body: bytes,
        *,
        content_type: str,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
    ) -> SimResponse:
        """POST `body` as is, signed unless `sign` is False; `headers` go last, so they can override."""
        request_headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        if sign:
            request_headers.update(self.sign(body, timestamp=timestamp))
        for name, value in (headers or {}).items():
            # Replace whatever the same header is called here, so an override never sends two values.
            for existing in [k for k in request_headers if k.lower() == name.lower()]:
                del request_headers[existing]
            request_headers[name] = value
        request = urllib.request.Request(self.events_url, data=body, headers=request_headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, raw, answer_headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, raw, answer_headers = error.code, error.read(), error.headers
        elapsed = time.monotonic() - started
        charset = answer_headers.get_content_charset() or "utf-8"
        return SimResponse(
            status=status,
            body=raw.decode(charset, "replace"),
            headers=HeaderDict(answer_headers.items()),
            elapsed=elapsed,
        )

    def _post_payload(self, payload: dict) -> SimResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
        return self.post_raw(body, content_type=FORM_CONTENT_TYPE)

    def _actor(self, user_id: str) -> dict[str, Any]:
        """The user, team and app fields every interaction payload carries."""
        handle = user_id.lower()
        return {
            "user": {"id": user_id, "username": handle, "name": handle, "team_id": self.team_id},
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
        }


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id.lower()


def _container(channel_id: str | None, view: dict | None, message: dict | None) -> dict:
    """Where the action happened, as Slack describes it."""
    if view is not None:
        return {"type": "view", "view_id": view.get("id", "V0SIM")}
    message_ts = (message or {}).get("ts") or f"{time.time():.6f}"
    return {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False}
