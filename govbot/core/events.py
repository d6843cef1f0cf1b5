"""In-process events between features, so one feature reacts to another without importing it.

``settings_changed`` fires with a team name after a team's settings are saved and committed; ``govbot.runtime``
names its listeners (the sprint planner re-plans, the scheduler re-schedules). Each process's Runtime owns its
Events, so listeners are connected where the runtime is built and never at import time.

Receivers run on one background worker thread, in order: a save answers Slack within its 3-second window however
slow a receiver is (a Jira re-plan, say), and a failing receiver is logged and never undoes the save. Every
receiver's work is also done by a scheduled job, so a process that stops before a receiver ran loses nothing but
a little latency.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlmodel import Session

log = logging.getLogger(__name__)

Receiver = Callable[[str], None]


class Signal:
    """A named list of receivers called with one team name, on the signal's own worker thread."""

    def __init__(self, name: str):
        self.name = name
        self._receivers: list[Receiver] = []
        self._worker: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def connect(self, receiver: Receiver) -> None:
        """Subscribe (idempotent)."""
        with self._lock:
            if receiver not in self._receivers:
                self._receivers.append(receiver)

    def disconnect(self, receiver: Receiver) -> None:
        """Unsubscribe if subscribed."""
        with self._lock:
            if receiver in self._receivers:
                self._receivers.remove(receiver)

    def send(self, team_name: str) -> None:
        """Call every receiver now, in this thread; one failing receiver does not stop the others."""
        with self._lock:
            receivers = list(self._receivers)
        for receiver in receivers:
            try:
                receiver(team_name)
            except Exception:
                log.exception("receiver of %s failed for team %s", self.name, team_name)

    def send_soon(self, team_name: str) -> Future[None]:
        """Call every receiver on the background worker; returns a future for tests and shutdown."""
        with self._lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"govbot-{self.name}")
            future = self._worker.submit(self.send, team_name)
            self._pending[:] = [f for f in self._pending if not f.done()]
            self._pending.append(future)
        return future

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every queued receiver call has finished (tests, graceful shutdown)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout=timeout)


@dataclass
class Events:
    """The events of one process."""

    settings_changed: Signal = field(default_factory=lambda: Signal("settings_changed"))

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every queued receiver call of every event has finished."""
        self.settings_changed.wait(timeout)


def send_after_commit(session: Session, signal: Signal | None, team_name: str) -> None:
    """Queue ``signal`` for when the session's transaction commits (receivers must see the saved state)."""
    if signal is None:
        return

    def _fire(_session: object) -> None:
        signal.send_soon(team_name)

    event.listen(session, "after_commit", _fire, once=True)
