"""The audit trail (SPEC §8): append-only events in a keyed hash chain.

Each event stores ``prev_hash`` (the hash of the event before it) and ``hash`` =
HMAC-SHA256(GOVBOT_SECRET_KEY, prev_hash + canonical JSON of the event). Keying the chain means that someone
with write access to the database but not the key cannot re-forge a consistent chain after editing a row.
``prev_hash`` is unique, so two writers racing to append after the same event cannot both succeed: the loser
re-reads the tip and appends after the winner (the chain never forks).

Each event (and the tip) records the id of the key that signed it, so the chain survives a rotation of
GOVBOT_SECRET_KEY: ``verify`` checks every event with the key that wrote it, among GOVBOT_SECRET_KEY and
GOVBOT_VERIFY_SECRET_KEYS (see ``govbot.domain.keys``). Events written before key ids existed are checked with
each known key. Once every process signs with the new key, ``seal_key`` appends a ``audit.key_sealed`` event:
from there on only that key is accepted, so a retired key (perhaps the leaked one) cannot sign new events.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import AuditEvent, AuditHead
from govbot.domain.keys import checking_keys, find_key, key_id

GENESIS = "0" * 64
KEY_SEALED = "audit.key_sealed"
SYSTEM = "system"
FIELDS = ("id", "at", "actor", "team", "action", "target", "before", "after", "reason", "prev_hash", "hash")


def _canonical(value: Any) -> Any:
    """What JSON storage gives back, so the hash covers exactly what is stored."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _content(event: AuditEvent) -> dict[str, Any]:
    """What an event says (everything but its id and chain links): the part the hash covers."""
    return {
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "team": event.team,
        "action": event.action,
        "target": event.target,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }


def _digest(key: bytes, prev_hash: str, event: AuditEvent) -> str:
    body = _content(event)
    message = prev_hash.encode() + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def record(
    *,
    session: Session,
    key: bytes,
    now: datetime,
    actor: str,
    action: str,
    team: str | None = None,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    attempts: int = 5,
) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits or rolls back with the change it records)."""
    for attempt in range(attempts):
        tip = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
        prev_hash = tip.hash if tip else GENESIS
        event = AuditEvent(
            at=now.astimezone(UTC),
            actor=actor,
            team=team,
            action=action,
            target=target,
            before=_canonical(before),
            after=_canonical(after),
            reason=reason,
            prev_hash=prev_hash,
            hash="",
            key_id=key_id(key),
        )
        event.hash = _digest(key, prev_hash, event)
        savepoint = session.begin_nested()
        try:
            session.add(event)
            session.flush()
            _advance_head(session, key, event.hash)
            savepoint.commit()
            return event
        except IntegrityError:
            # Another writer appended after the same tip first: re-read the tip and try again.
            savepoint.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _head_mac(key: bytes, count: int, last_hash: str) -> str:
    return hmac.new(key, f"head:{count}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def _advance_head(session: Session, key: bytes, last_hash: str) -> None:
    """Move the keyed tip to the event just appended (same transaction as the append)."""
    head = session.get(AuditHead, 1)
    if head is None:
        # First event, or a trail written before the head existed: count what is there.
        count = len(session.exec(select(AuditEvent.id)).all())
        head = AuditHead(id=1, count=count, last_hash=last_hash, mac="")
    else:
        head.count += 1
        head.last_hash = last_hash
    head.mac = _head_mac(key, head.count, head.last_hash)
    head.key_id = key_id(key)
    session.add(head)
    session.flush()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify``: ok, how many events were checked, and the first problem found."""

    ok: bool
    checked: int
    problem: str | None = None
    event_id: int | None = None


def _keys_for(key: bytes, recorded_id: str | None) -> tuple[bytes, ...]:
    """The keys that may have signed a record: the one its key id names, or every known key for old records."""
    if recorded_id is None:
        return checking_keys(key)
    found = find_key(key, recorded_id)
    return (found,) if found is not None else ()


def _missing_key(what: str, recorded_id: str) -> str:
    return (f"{what} was signed with key {recorded_id}, which is neither GOVBOT_SECRET_KEY nor in "
            "GOVBOT_VERIFY_SECRET_KEYS: add the key it was written with to GOVBOT_VERIFY_SECRET_KEYS")


def verify(*, session: Session, key: bytes) -> ChainReport:
    """Walk the chain in id order and report the first edited, deleted, inserted or reordered event."""
    expected_prev = GENESIS
    checked = 0
    sealed: str | None = None  # after an audit.key_sealed event, the only key id accepted
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, f"event {event.id} does not follow the event before it "
                               "(an event was deleted, inserted or reordered here)", event.id)
        if sealed is not None and event.key_id != sealed:
            return ChainReport(False, checked, f"event {event.id} was signed with key {event.key_id}, but key "
                               f"{sealed} alone signs since the key was sealed", event.id)
        candidates = _keys_for(key, event.key_id)
        if not candidates:
            assert event.key_id is not None
            return ChainReport(False, checked, _missing_key(f"event {event.id}", event.key_id), event.id)
        if not any(hmac.compare_digest(_digest(k, event.prev_hash, event), event.hash) for k in candidates):
            unsure = (" — or it predates key ids and was signed with a key that is neither GOVBOT_SECRET_KEY nor "
                      "in GOVBOT_VERIFY_SECRET_KEYS") if event.key_id is None else ""
            return ChainReport(False, checked, f"event {event.id} was edited after it was written "
                               f"(its contents no longer match its hash){unsure}", event.id)
        expected_prev = event.hash
        checked += 1
        if event.action == KEY_SEALED and isinstance(event.after, dict):
            sealed = str(event.after.get("key_id"))
    head = session.get(AuditHead, 1)
    if head is None:
        if checked:
            return ChainReport(False, checked, "the chain's keyed tip is missing (it was deleted)")
        return ChainReport(True, checked)
    head_keys = _keys_for(key, head.key_id)
    if not head_keys:
        assert head.key_id is not None
        return ChainReport(False, checked, _missing_key("the chain's keyed tip", head.key_id))
    if not any(hmac.compare_digest(_head_mac(k, head.count, head.last_hash), head.mac) for k in head_keys):
        return ChainReport(False, checked, "the chain's keyed tip was edited")
    if head.count != checked or head.last_hash != expected_prev:
        return ChainReport(False, checked, f"the newest {max(head.count - checked, 0) or 'few'} event(s) are "
                           f"missing: the tip records {head.count} events, the table holds {checked}")
    return ChainReport(True, checked)


def seal_key(*, session: Session, key: bytes, now: datetime, actor: str) -> AuditEvent:
    """Record that from now on only the current key signs (the end of a key rotation)."""
    return record(session=session, key=key, now=now, actor=actor, action=KEY_SEALED, after={"key_id": key_id(key)},
                  reason="key rotation finished: events signed with any other key are refused from here on")


def recent(*, session: Session, team: str | None, limit: int) -> list[AuditEvent]:
    """The last ``limit`` events (of one team, or all), newest first."""
    query = select(AuditEvent)
    if team is not None:
        query = query.where(AuditEvent.team == team)
    return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)))


def iter_events(*, session: Session) -> Iterator[AuditEvent]:
    """Every event in chain order."""
    yield from session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))


def as_row(event: AuditEvent) -> dict[str, Any]:
    """One event as a flat, JSON-ready dict."""
    return {"id": event.id, **_content(event), "prev_hash": event.prev_hash, "hash": event.hash}


def export(events: Iterable[AuditEvent], *, fmt: str) -> Iterator[str]:
    """Serialise events as CSV (before/after as JSON text) or JSON Lines."""
    if fmt == "jsonl":
        for event in events:
            yield json.dumps(as_row(event), sort_keys=True) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    for event in events:
        row = as_row(event)
        row["before"] = json.dumps(row["before"], sort_keys=True)
        row["after"] = json.dumps(row["after"], sort_keys=True)
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# --- in words


def _in_words(value: Any) -> str:
    """A recorded value in a few words."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(_in_words(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_in_words(v)}" for k, v in value.items())
    return str(value)


def changes_in_words(before: Any, after: Any) -> list[str]:
    """`name: old → new` for every key that differs."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [f"{_in_words(before)} → {_in_words(after)}"]
    return [f"{key}: {_in_words(before.get(key))} → {_in_words(after.get(key))}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
