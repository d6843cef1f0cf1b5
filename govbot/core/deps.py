"""Runtime: the handles every feature is given — settings, database, Slack, Jira, the clock, the events.

``govbot.runtime.build_runtime`` builds one per process and passes it down explicitly; no module keeps one in a
global. The class lives here, below the features, because every feature's handlers take it while the wiring
module that builds it imports the features: defined there, it would make every feature import its importer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from govbot.adapters.db.session import engine_for
from govbot.adapters.tracker import tracker_from_settings
from govbot.config import Settings
from govbot.core.events import Events
from govbot.core.lanes import Lanes
from govbot.core.render_cache import RenderCache
from govbot.core.shared_renders import SharedRenders


def system_clock() -> datetime:
    """The real time. Only entry points (requests, jobs, CLI) call this; everything below takes ``now``."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Process-wide dependencies, built once from Settings and handed to listeners and jobs."""

    settings: Settings
    engine: Engine
    slack: WebClient
    clock: Callable[[], datetime] = system_clock
    tracker_factory: Callable[[], Any] | None = None
    events: Events = field(default_factory=Events)
    lanes: Lanes = field(default_factory=Lanes)  # where the work after a Slack ack runs
    render_cache: RenderCache = field(default_factory=RenderCache)  # Jira reads the status renders share
    shared_renders: SharedRenders = field(default_factory=SharedRenders)  # one status render for many requests
    _tracker: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def read_engine(self) -> Engine:
        """An engine for read-only views (status, App Home): on SQLite its transactions take no write lock."""
        return engine_for(self.settings.database_url, read_only=True)

    @property
    def key(self) -> bytes:
        """GOVBOT_SECRET_KEY as bytes (participation hashes, audit chain)."""
        return self.settings.secret_key_bytes()

    def has_jira(self) -> bool:
        """Whether a Jira tracker can be built (configured, or injected by a test or the demo)."""
        return self.tracker_factory is not None or self.settings.jira_url is not None

    def tracker(self) -> Any:
        """The Jira tracker, built on first use (commands that never touch Jira need no Jira settings)."""
        with self._lock:
            if self._tracker is None:
                factory = self.tracker_factory or (lambda: tracker_from_settings(self.settings))
                self._tracker = factory()
            return self._tracker

    def board_reads(self) -> Any:
        """The Jira tracker as the status renders use it: board metadata cached for a minute (render_cache)."""
        return self.render_cache.board_reads(self.tracker())
