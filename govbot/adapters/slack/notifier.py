"""SlackNotifier: the few Web API writes govbot makes outside a request (posts, DMs, uploads).

Retries live in the WebClient's retry handlers (429 honouring Retry-After, connection errors, 5xx), built once in
``bootstrap``; this class only names the operations. ``RecordingNotifier`` serves ``--dry-run``: it prints what
would be sent and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from slack_sdk import WebClient


class Notifier(Protocol):
    """What services need from Slack."""

    def post(self, *, channel: str, text: str, blocks: Sequence[Any] | None = None) -> str | None: ...
    def dm(self, *, user: str, text: str, blocks: Sequence[Any] | None = None) -> str | None: ...
    def upload(
        self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None
    ) -> None: ...


def _blocks(blocks: Sequence[Any] | None) -> list[Any] | None:
    if blocks is None:
        return None
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


class SlackNotifier:
    """Posts through the real WebClient."""

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, *, channel: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        """Post to a channel; return the message ts."""
        response = self.client.chat_postMessage(channel=channel, text=text, blocks=_blocks(blocks))
        return response.get("ts")

    def dm(self, *, user: str, text: str, blocks: Sequence[Any] | None = None) -> str | None:
        """Message a user directly (posting to the user id opens the DM; no conversations.open round trip)."""
        response = self.client.chat_postMessage(channel=user, text=text, blocks=_blocks(blocks))
        return response.get("ts")

    def upload(self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None) -> None:
        """Upload a file to a channel with the files upload API (v2)."""
        self.client.files_upload_v2(channel=channel, content=content, filename=filename, title=title,
                                    initial_comment=comment)


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

    def upload(self, *, channel: str, content: bytes, filename: str, title: str, comment: str | None = None) -> None:
        self._note("upload to", channel, f"{filename} ({len(content)} bytes)")
