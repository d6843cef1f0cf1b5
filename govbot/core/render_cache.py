"""What the status renders read from Jira, kept for a minute per process, so `/govbot status` and the App Home
are cheap to render again.

A status render reads the team's board (name, type, estimation field), its sprints and the Tracks section's view
of the active sprint; within ``TTL_SECONDS`` the next render reuses them. Only the renders read through this
cache: jobs and commands that write to Jira always read Jira itself. govbot forgets a board's entries when it
writes to that board (sprints created or updated, a track label set), so its own changes show at once;
changes made in Jira by people show within the minute.

Concurrent renders that miss the same entry wait for one read instead of each asking Jira.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

TTL_SECONDS = 60.0


class RenderCache:
    """Entries keyed by ``(kind, board_id, ...)``, each kept ``ttl_seconds``."""

    def __init__(self, ttl_seconds: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[Hashable, ...], tuple[float, Any]] = {}
        self._loading: dict[tuple[Hashable, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...], load: Callable[[], T]) -> T:
        """The entry for ``key``, loaded (once, however many ask at the same time) when missing or expired. A
        failing load caches nothing."""
        found = self._fresh(key)
        if found is not None:
            return found[0]  # type: ignore[no-any-return]
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            found = self._fresh(key)
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            value = load()
            with self._lock:
                self._entries[key] = (self._clock() + self.ttl_seconds, value)
            return value

    def _fresh(self, key: tuple[Hashable, ...]) -> tuple[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return (entry[1],)

    def forget_board(self, board_id: int) -> None:
        """Drop every entry about this board (govbot just changed it)."""
        with self._lock:
            for key in [k for k in self._entries if len(k) > 1 and k[1] == board_id]:
                del self._entries[key]

    def forget_kind(self, kind: str) -> None:
        """Drop every entry of this kind (e.g. "tracks" after govbot set a track label)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == kind]:
                del self._entries[key]

    def board_reads(self, tracker: Any) -> CachedBoardReads:
        """``tracker`` as a status render uses it: board and sprints from this cache, the rest from Jira."""
        return CachedBoardReads(tracker, self)


class CachedBoardReads:
    """A tracker whose board metadata (board, estimation field, sprints) comes from a RenderCache."""

    def __init__(self, tracker: Any, cache: RenderCache) -> None:
        self._tracker = tracker
        self._cache = cache

    def board(self, board_id: int) -> Any:
        return self._cache.get(("board", board_id), lambda: self._tracker.board(board_id))

    def estimation_field(self, board_id: int) -> str | None:
        return self._cache.get(("estimation", board_id), lambda: self._tracker.estimation_field(board_id))

    def sprints(self, board_id: int, **kwargs: Any) -> list[Any]:
        states = tuple(kwargs.get("states") or ())
        found = self._cache.get(("sprints", board_id, states), lambda: self._tracker.sprints(board_id, **kwargs))
        return list(found)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)
