"""Leases that end with the process that holds them: each process heartbeats its open delivery claims.

A claim in the ``delivery`` ledger names its holder (this process: host, pid and a random part) and carries a
``heartbeat_at`` stamp that the holder's keeper thread renews every few seconds. A claim whose heartbeat is older
than ``stale_after`` belongs to a process that died (or lost the database for that long) and may be taken over.
So a SIGKILLed process blocks nobody for longer than the failover time, while a live one, however long its work
(a fan-out waiting out Slack's rate limit, a plan of many Jira writes), keeps what it holds.

Heartbeats are stamped and compared on the database's clock, never on a pod's: two pods whose clocks are seconds
apart still agree on what is stale. A holder fences itself too: when it has not renewed for ``stale_after`` / 2
(the database was unreachable), ``holds`` answers False, and callers stop before their next side effect rather
than act while someone else may already have taken over.

Timing, from GOVBOT_FAILOVER_SECONDS (F, default 30): heartbeat every F/10, stale after 2F/3, and the scheduler's
standby and recovery look every F/6, so work a dead process held is resumed within F.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Delivery

log = logging.getLogger(__name__)

DEFAULT_FAILOVER_SECONDS = 30.0


@dataclass(frozen=True)
class Timing:
    """The intervals derived from the failover time."""

    failover: float

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.failover * 2 / 3)

    @property
    def heartbeat_every(self) -> float:
        return self.failover / 10

    @property
    def poll_every(self) -> float:
        """How often a standby tries the leader lock and the leader looks for interrupted runs."""
        return self.failover / 6


def database_now(session: Session) -> datetime:
    """The database server's clock (PostgreSQL), or this machine's for SQLite (which has no server)."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.exec(text("SELECT clock_timestamp()")).scalar_one()  # type: ignore[call-overload]
        return value.astimezone(UTC)
    return datetime.now(UTC)


class LeaseKeeper:
    """This process's heartbeat on its open claims in one database."""

    def __init__(self, engine: Engine, *, failover_seconds: float = DEFAULT_FAILOVER_SECONDS):
        self.engine = engine
        self.timing = Timing(failover_seconds)
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._claims: set[int] = set()  # delivery row ids this process holds and has not finished
        self._lock = threading.Lock()
        self._last_beat = time.monotonic()
        self._draining = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- what the ledger calls

    def track(self, row_id: int) -> None:
        """Start heartbeating a claim this process just took."""
        with self._lock:
            self._claims.add(row_id)
            if self._thread is None or not self._thread.is_alive():
                self._last_beat = time.monotonic()
                self._thread = threading.Thread(target=self._run, name="govbot-lease-heartbeat", daemon=True)
                self._thread.start()

    def untrack(self, row_id: int) -> None:
        """Stop heartbeating a claim (completed, released or handed back)."""
        with self._lock:
            self._claims.discard(row_id)

    def holds(self, row_id: int) -> bool:
        """Whether this process may still act on the claim: tracked, and renewed recently enough."""
        fresh = time.monotonic() - self._last_beat < self.timing.stale_after.total_seconds() / 2
        with self._lock:
            return fresh and row_id in self._claims

    @property
    def draining(self) -> bool:
        """The process is shutting down: it takes no new claim and hands back what it has not started."""
        return self._draining.is_set()

    def drain(self) -> None:
        """Take no new claims from now on (SIGTERM): work not yet claimed is left to the other processes."""
        self._draining.set()

    # --- the heartbeat

    def beat(self) -> None:
        """Renew every open claim of this process now (the keeper thread calls this every F/10)."""
        with self._lock:
            ids = sorted(self._claims)
        if not ids:
            self._last_beat = time.monotonic()
            return
        with Session(self.engine) as session:
            stamp = database_now(session)
            renewed: set[int] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                result = session.exec(  # type: ignore[call-overload]
                    update(Delivery)
                    .where(col(Delivery.id).in_(chunk), col(Delivery.holder) == self.holder,
                           col(Delivery.done_at).is_(None))
                    .values(heartbeat_at=stamp)
                    .returning(col(Delivery.id))
                )
                renewed.update(result.scalars())
            session.commit()
        lost = set(ids) - renewed
        if lost:
            # Not renewed: finished or given back by this process between the read of ``ids`` and the update
            # (``complete`` and ``release`` commit, then untrack), or taken over (this process was cut off from
            # the database for longer than the lease). Never act on them again; only a take-over is news.
            with Session(self.engine) as session:
                taken = session.exec(select(Delivery.id).where(
                    col(Delivery.id).in_(sorted(lost)), col(Delivery.holder) != self.holder)).all()
            if taken:
                log.warning("%d claim(s) of this process were taken over by another one", len(taken))
            with self._lock:
                self._claims -= lost
        self._last_beat = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.timing.heartbeat_every):
            try:
                self.beat()
            except Exception as exc:  # the database is away: keep trying, holds() fences meanwhile
                log.warning("lease heartbeat failed (%s); retrying", exc.__class__.__name__)
                if time.monotonic() - self._last_beat > self.timing.stale_after.total_seconds():
                    # Silent for longer than the lease: others may have taken these claims. Forget them.
                    with self._lock:
                        if self._claims:
                            log.warning("%d claim(s) given up: the database was out of reach for longer than "
                                        "the lease", len(self._claims))
                        self._claims.clear()
            with self._lock:
                if not self._claims:
                    self._thread = None  # track() starts a new one with the next claim
                    return

    def stop(self) -> None:
        """Stop the heartbeat thread (tests; a process that exits just stops beating)."""
        self._stop.set()


_KEEPERS: weakref.WeakKeyDictionary[Engine, LeaseKeeper] = weakref.WeakKeyDictionary()
_KEEPERS_LOCK = threading.Lock()


def keeper_for(engine: Engine, *, failover_seconds: float | None = None) -> LeaseKeeper:
    """The process's keeper for this engine (one per database per process), created on first use."""
    with _KEEPERS_LOCK:
        keeper = _KEEPERS.get(engine)
        if keeper is None or keeper.holder.split(":")[1] != str(os.getpid()):  # a forked child is a new holder
            keeper = LeaseKeeper(engine, failover_seconds=failover_seconds or DEFAULT_FAILOVER_SECONDS)
            _KEEPERS[engine] = keeper
        elif failover_seconds is not None:
            keeper.timing = Timing(failover_seconds)
        return keeper
