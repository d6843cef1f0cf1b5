"""GOVBOT_SECRET_KEY and the keys it replaced: what survives a key rotation.

The key HMACs two things: the audit chain (each event's hash, and the chain's keyed tip) and survey participation
(``HMAC(key, survey id + user id)``, which refuses a second answer and targets reminders). A rotation must keep
both working, so govbot writes with the current key only and *checks* with it and with the keys listed in
GOVBOT_VERIFY_SECRET_KEYS:

- every audit event and the tip record the **key id** of the key that signed them (a public fingerprint of the
  key, never the key), so ``audit verify`` checks each event with the key that wrote it, and names a missing one;
- a participation row holds only its digest (no key id: the table stays as anonymous as before), so "has this
  person answered?" asks for the digest under each known key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (12 hex digits): tells which key signed, reveals nothing of it."""
    return hashlib.sha256(b"govbot-key-id:" + key).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    """The key that signs (current) and the other keys still accepted when checking."""

    current: bytes
    others: tuple[bytes, ...] = ()

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def all(self) -> Iterator[bytes]:
        """The current key first, then the others."""
        yield self.current
        yield from (key for key in self.others if key != self.current)

    def by_id(self, wanted: str) -> bytes | None:
        """The known key with this id, if any."""
        return next((key for key in self.all() if key_id(key) == wanted), None)
