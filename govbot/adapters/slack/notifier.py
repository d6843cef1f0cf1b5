"""SlackNotifier: the few Web API writes govbot makes outside a request (posts, DMs, uploads).

Retries live in the WebClient's retry handlers (429 honouring Retry-After, connection errors, 5xx), built once in
``bootstrap``; this class only names the operations. ``RecordingNotifier`` serves ``--dry-run``: it prints what
would be sent and sends nothing.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

# files_upload_v2 sends the bytes to the upload URL outside the client's retry handlers; a failed upload is never
# shared (only files.completeUploadExternal shares), so the whole flow is safe to run again.
UPLOAD_ATTEMPTS = 5


class NotInChannel(Exception):
    """The bot is not a member of the channel it was asked to post to (Slack's ``not_in_channel``)."""

    def __init__(self, channel: str):
        super().__init__(f"govbot is not a member of channel {channel}: invite it with /invite @govbot")
        self.channel = channel


@contextmanager
def _membership_checked(channel: str) -> Iterator[None]:
    try:
        yield
    except SlackApiError as error:
        if error.response.get("error") == "not_in_channel":
            raise NotInChannel(channel) from None
        raise


class Notifier(Protocol):
    """What services need from Slack."""

    def post(self, *, channel: str, text: str, blocks: Sequence[Any] | None = None) -> str | None: ...
    def dm(self, *, user: str, text: str, blocks: Sequence[Any] | None = None) -> str | None: ...
    def upload(
        self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None,
        alt_text: str | None = None,
    ) -> str | None: ...
    def permalink(self, *, channel: str, ts: str) -> str | None: ...


def _blocks(blocks: Sequence[Any] | None) -> list[Any] | None:
    if blocks is None:
        return None
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


class SlackNotifier:
    """Posts through the real WebClient."""

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, *, channel: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        """Post to a channel; return the message ts. NotInChannel when the bot is not a member."""
        with _membership_checked(channel):
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=_blocks(blocks))
        return response.get("ts")

    def dm(self, *, user: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        """Message a user directly (posting to the user id opens the DM; no conversations.open round trip)."""
        response = self.client.chat_postMessage(channel=user, text=text, blocks=_blocks(blocks))
        return response.get("ts")

    def find_dm(self, *, user: str, since: datetime, matches: Callable[[dict[str, Any]], bool]) -> str | None:
        """The ts of a message govbot sent this user since ``since`` that ``matches``, if any (a run that took
        over a stopped one asks before sending again; needs the im:history scope)."""
        channel = self.client.conversations_open(users=user)["channel"]["id"]
        # A little earlier than the claim: the pod that claimed and Slack may not agree on the time.
        oldest = (since - timedelta(minutes=5)).timestamp()
        history = self.client.conversations_history(channel=channel, oldest=f"{oldest:.6f}", limit=200)
        for message in history.get("messages") or []:
            if message.get("bot_id") and matches(message):
                return str(message["ts"])
        return None

    def upload(self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None,
               alt_text: str | None = None) -> str | None:
        """Share a file in a channel with the files upload API (v2); return the file id."""
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                with _membership_checked(channel):
                    response = self.client.files_upload_v2(channel=channel, content=content, filename=filename,
                                                           title=title, initial_comment=comment, alt_txt=alt_text)
                return (response.get("file") or {}).get("id")
            except (SlackRequestError, urllib.error.URLError):
                if attempt == UPLOAD_ATTEMPTS:
                    raise
                time.sleep(0.5 * attempt)
        return None

    def permalink(self, *, channel: str, ts: str) -> str | None:
        """A link to a posted message."""
        return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")


class RecordingNotifier:
    """Sends nothing; records and prints what would have been sent (``--dry-run``)."""

    def __init__(self, echo: Callable[[str], None] = print):
        self.sent: list[tuple[str, str, str]] = []
        self.echo = echo

    def _note(self, kind: str, where: str, text: str) -> None:
        self.sent.append((kind, where, text))
        self.echo(f"[dry-run] would {kind} {where}: {text}")

    def post(self, *, channel: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        self._note("post to", channel, text)
        return None

    def dm(self, *, user: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        self._note("DM", user, text)
        return None

    def upload(self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None,
               alt_text: str | None = None) -> str | None:
        self._note("upload to", channel, f"{filename} ({len(content)} bytes)")
        return None

    def permalink(self, *, channel: str, ts: str) -> str | None:
        return None
