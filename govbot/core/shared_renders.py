"""One status render for every request that asked before it began.

When many people ask `/govbot status` for the same team at once (a stand-up, a channel that just got the
digest), each render would read the database and cost a few milliseconds of CPU, and in one process those renders
take turns with the request threads that ack Slack. A render that *began after a request arrived* already shows
everything that request could see, so that request may take its result instead of rendering again: requests
queued behind a render share the next one. Nothing is ever older than the request it answers, so there is no
time-to-live to choose and nothing to invalidate.

The status of a team does not depend on who asks (authorisation is checked for each request before this), so
the team is the key. A render that fails is not shared: whoever waited for it renders for itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Render:
    began: float
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    failed: bool = False


class SharedRenders:
    """The latest render per key, shared with the requests that arrived before it began."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._latest: dict[Hashable, _Render] = {}
        self._lock = threading.Lock()
        self.renders = 0  # how many renders ran (for tests and benchmarks)

    def get(self, key: Hashable, *, asked_at: float, render: Callable[[], T]) -> T:
        """``render()``'s result for a request that arrived at ``asked_at`` (this clock): the result of a render
        of ``key`` that began at or after ``asked_at`` if there is one (waiting for it to end), else a new one."""
        with self._lock:
            latest = self._latest.get(key)
            mine = latest is None or latest.began < asked_at or (latest.done.is_set() and latest.failed)
            if mine:
                latest = _Render(began=self._clock())
                self._latest[key] = latest
                self.renders += 1
        assert latest is not None
        if not mine:
            latest.done.wait()
            if not latest.failed:
                return latest.result  # type: ignore[no-any-return]
            return render()
        try:
            latest.result = render()
            return latest.result  # type: ignore[no-any-return]
        except BaseException:
            latest.failed = True
            raise
        finally:
            latest.done.set()
