"""In-process signals between features, so one feature reacts to another without importing it.

``settings_changed`` fires with a team name after a team's settings are saved and committed; the sprint planner
subscribes to re-plan and the scheduler to re-schedule. Receivers run on one background worker thread, in order:
a save answers Slack within its 3-second window however slow a receiver is (a Jira re-plan, say), and a failing
receiver is logged and never undoes the save. Every receiver's work is also done by a scheduled job, so a process
that stops before a receiver ran loses nothing but a little latency.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govbot-signals")
_pending: list[Future[None]] = []
_pending_lock = threading.Lock()


class Signal:
    """A named list of receivers called with one team name."""

    def __init__(self, name: str):
        self.name = name
        self._receivers: list[Callable[[str], None]] = []

    def connect(self, receiver: Callable[[str], None]) -> Callable[[str], None]:
        """Subscribe (idempotent); usable as a decorator."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Callable[[str], None]) -> None:
        """Unsubscribe if subscribed."""
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def send(self, team_name: str) -> None:
        """Call every receiver now, in this thread; one failing receiver does not stop the others."""
        for receiver in list(self._receivers):
            try:
                receiver(team_name)
            except Exception:
                log.exception("receiver of %s failed for team %s", self.name, team_name)

    def send_soon(self, team_name: str) -> Future[None]:
        """Call every receiver on the background worker; returns a future for tests and shutdown."""
        future = _worker.submit(self.send, team_name)
        with _pending_lock:
            _pending[:] = [f for f in _pending if not f.done()]
            _pending.append(future)
        return future


def wait_for_receivers(timeout: float = 30.0) -> None:
    """Block until every queued receiver call has finished (tests, graceful shutdown)."""
    with _pending_lock:
        pending = list(_pending)
    for future in pending:
        future.result(timeout=timeout)


def send_after_commit(session: object, signal: Signal, team_name: str) -> None:
    """Queue ``signal`` for when the session's transaction commits (receivers must see the saved state)."""
    from sqlalchemy import event

    def _fire(_session: object) -> None:
        signal.send_soon(team_name)

    event.listen(session, "after_commit", _fire, once=True)


settings_changed = Signal("settings_changed")
