"""GOVBOT_SECRET_KEY and the keys it replaced: what survives a key rotation.

The key HMACs two things: the audit chain (each event's hash, and the chain's keyed tip) and survey participation
(``HMAC(key, survey id + user id)``, which refuses a second answer and targets reminders). A rotation must keep
both working, so govbot signs with the current key only and *checks* with it and with the keys listed in
GOVBOT_VERIFY_SECRET_KEYS:

- every audit event and the tip record the **key id** of the key that signed them (a public fingerprint of the
  key, never the key), so ``audit verify`` checks each event with the key that wrote it, and names a missing one;
- a participation row holds only its digest (no key id: the table stays as anonymous as before), so "has this
  person answered?" looks for the digest under each known key.

``Keyring`` is the current key as ``bytes`` (everything that signs uses it unchanged) that also carries the other
keys, so the few places that check can reach them without another parameter threaded through every call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (12 hex digits): tells which key signed, reveals nothing of it."""
    return hashlib.sha256(b"govbot-key-id:" + bytes(key)).hexdigest()[:12]


class Keyring(bytes):
    """The signing key (these bytes) and the other keys accepted when checking."""

    others: tuple[bytes, ...]

    def __new__(cls, current: bytes, others: Iterable[bytes] = ()) -> Keyring:
        ring = super().__new__(cls, current)
        ring.others = tuple(dict.fromkeys(bytes(k) for k in others if bytes(k) != bytes(current)))
        return ring

    def __repr__(self) -> str:  # never print a key
        return f"Keyring(current={key_id(self)}, others={[key_id(k) for k in self.others]})"


def checking_keys(key: bytes) -> tuple[bytes, ...]:
    """Every key to check with: the signing key first, then the others a Keyring carries."""
    return (bytes(key), *getattr(key, "others", ()))


def find_key(key: bytes, wanted: str) -> bytes | None:
    """The known key whose id is ``wanted``, if any."""
    return next((k for k in checking_keys(key) if key_id(k) == wanted), None)
