"""In-process signals between features, so one feature reacts to another without importing it.

``settings_changed`` fires with a team name after a team's settings are saved; the sprint planner subscribes to
re-plan. Receivers run after the caller's work; a failing receiver is logged and does not undo the save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


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
        """Call every receiver; one failing receiver does not stop the others."""
        for receiver in list(self._receivers):
            try:
                receiver(team_name)
            except Exception:
                log.exception("receiver of %s failed for team %s", self.name, team_name)


def send_after_commit(session: object, signal: Signal, team_name: str) -> None:
    """Send ``signal`` once the session's transaction commits (receivers must see the saved state)."""
    from sqlalchemy import event

    def _fire(_session: object) -> None:
        signal.send(team_name)

    event.listen(session, "after_commit", _fire, once=True)


settings_changed = Signal("settings_changed")
