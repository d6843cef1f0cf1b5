"""The one place that builds the engine, the Slack client, the Jira tracker and the scheduler from Settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import Engine

from govbot.adapters.db.session import engine_for
from govbot.config import Settings


def system_clock() -> datetime:
    """The real time. Only entry points (requests, jobs, CLI) call this; everything below takes ``now``."""
    return datetime.now(UTC)


def make_slack_client(settings: Settings, *, max_rate_limit_retries: int = 6) -> WebClient:
    """A WebClient on SLACK_API_URL that retries 429 (honouring Retry-After), 5xx and connection errors."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=3),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )


@dataclass
class Runtime:
    """Process-wide dependencies, built once from Settings and handed to listeners and jobs."""

    settings: Settings
    engine: Engine
    slack: WebClient
    clock: Callable[[], datetime] = system_clock
    tracker_factory: Callable[[], Any] | None = None
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

    def tracker(self) -> Any:
        """The Jira tracker, built on first use (commands that never touch Jira need no Jira settings)."""
        with self._lock:
            if self._tracker is None:
                factory = self.tracker_factory or (lambda: make_tracker(self.settings))
                self._tracker = factory()
            return self._tracker


def make_tracker(settings: Settings) -> Any:
    """A JiraTracker from JIRA_URL and Cloud (email + token) or Data Center (PAT) credentials."""
    from govbot.adapters.tracker import JiraTracker

    settings.require_jira()
    assert settings.jira_url is not None
    return JiraTracker(
        url=settings.jira_url,
        email=settings.jira_email,
        api_token=settings.jira_api_token.get_secret_value() if settings.jira_api_token else None,
        pat=settings.jira_pat.get_secret_value() if settings.jira_pat else None,
    )


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    tracker_factory: Callable[[], Any] | None = None,
) -> Runtime:
    """Wire a Runtime from settings."""
    return Runtime(
        settings=settings,
        engine=engine_for(settings.database_url),
        slack=make_slack_client(settings),
        clock=clock,
        tracker_factory=tracker_factory,
    )
