"""The Slack Web API client govbot uses everywhere: one WebClient on SLACK_API_URL with retry handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from govbot.config import Settings
from govbot.metrics import SlackCallMeter


def make_slack_client(settings: Settings, *, max_rate_limit_retries: int = 6) -> WebClient:
    """A WebClient on SLACK_API_URL that retries 429 (honouring Retry-After), 5xx and connection errors."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            SlackCallMeter(),  # first: it sees every attempt (and every 429) for the metrics
            ConnectionErrorRetryHandler(max_retry_count=3),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )
