"""The Slack Web API client govbot uses everywhere: one WebClient on SLACK_API_URL with retry handlers, its HTTP
over one pool of keep-alive connections.

slack_sdk's WebClient opens a new connection (TCP and TLS handshakes) for every call, and builds a new urllib
opener for each, which reads the proxy environment again. ``PooledWebClient`` keeps slack_sdk's request
building, retry handlers and errors, and sends through one urllib3 pool instead: connections are reused, and the
proxy is chosen once at start-up from HTTPS_PROXY/HTTP_PROXY, honouring NO_PROXY for SLACK_API_URL's host.
"""

from __future__ import annotations

import copy
import io
import json
from http.client import HTTPMessage
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

import requests
import urllib3
from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from govbot.config import Settings
from govbot.metrics import SlackCallMeter

POOL_CONNECTIONS = 16  # per host: the lanes' threads and the fan-out's share them


def proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url`` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), None when NO_PROXY
    exempts its host or none is set. Read once, at start-up."""
    proxies = requests.utils.get_environ_proxies(url)
    scheme = urlsplit(url).scheme
    return proxies.get(scheme) or proxies.get("all") or None


class PooledWebClient(WebClient):
    """A WebClient whose requests go through one urllib3 pool of keep-alive connections."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # WebClient read HTTPS_PROXY itself, ignoring NO_PROXY; decide once here instead.
        self.proxy = kwargs.get("proxy") or proxy_for(self.base_url)
        options: dict[str, Any] = {"maxsize": POOL_CONNECTIONS, "ssl_context": self.ssl}
        self.pool: urllib3.PoolManager = (
            urllib3.ProxyManager(self.proxy, **options) if self.proxy else urllib3.PoolManager(**options)
        )

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        """One attempt, answered in the shapes urllib gives slack_sdk (HTTPError for 4xx/5xx, URLError when Slack
        cannot be reached, TimeoutError when it does not answer), so its retry handlers work unchanged."""
        if not url.lower().startswith("http"):
            raise SlackRequestError(f"Invalid URL detected: {url}")
        headers = {name: str(value) for name, value in req.header_items()}
        try:
            body: Any = req.data
            answer = self.pool.request(req.get_method(), url, body=body, headers=headers, timeout=self.timeout,
                                       retries=False, preload_content=True)
        except urllib3.exceptions.ReadTimeoutError as error:
            raise TimeoutError(str(error)) from None
        except urllib3.exceptions.HTTPError as error:  # refused, reset, connect timeout, proxy failure
            raise URLError(error) from None
        message = HTTPMessage()
        for name, value in answer.headers.items():
            message[name] = value
        if answer.status >= 400:
            raise HTTPError(url, answer.status, answer.reason or "", message, io.BytesIO(answer.data))
        if message.get_content_type() == "application/gzip":
            return {"status": answer.status, "headers": message, "body": answer.data}
        charset = message.get_content_charset() or "utf-8"
        return {"status": answer.status, "headers": message, "body": answer.data.decode(charset)}


def with_retry_handlers(client: WebClient, handlers: list[RetryHandler]) -> WebClient:
    """A copy of ``client`` (sharing its connections) with other retry handlers."""
    copied = copy.copy(client)
    copied.retry_handlers = handlers
    return copied


def make_slack_client(settings: Settings, *, max_rate_limit_retries: int = 6) -> WebClient:
    """A WebClient on SLACK_API_URL that retries 429 (honouring Retry-After), 5xx and connection errors."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return PooledWebClient(
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


class PooledResponder:
    """bolt's ``respond`` for one request, posted over the client's keep-alive pool.

    bolt answers on a ``response_url`` with a new WebhookClient per reply: a new connection (TCP and TLS
    handshakes) and a new urllib opener reading the proxy environment, for every status reply. This posts the
    same JSON through the pool the client already keeps. The URL was checked to be Slack's when the request came in
    (``envelope.read``). Only a connection that failed before sending is retried: a reply that reached Slack must
    not be posted twice.
    """

    def __init__(self, client: PooledWebClient, response_url: str) -> None:
        self.client = client
        self.response_url = response_url

    def __call__(self, text: str | None = None, blocks: list[Any] | None = None, *,
                 response_type: str | None = None, replace_original: bool | None = None,
                 delete_original: bool | None = None, **fields: Any) -> int:
        payload = {"text": text, "blocks": blocks, "response_type": response_type,
                   "replace_original": replace_original, "delete_original": delete_original, **fields}
        body = json.dumps({name: value for name, value in payload.items() if value is not None})
        retry = urllib3.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0)
        answer = self.client.pool.request("POST", self.response_url, body=body.encode(),
                                          headers={"Content-Type": "application/json"}, timeout=self.client.timeout,
                                          retries=retry)
        return int(answer.status)


def responder_for(client: WebClient, response_url: str) -> PooledResponder | None:
    """A pooled responder for ``response_url`` when ``client`` keeps a pool; None otherwise (use bolt's)."""
    return PooledResponder(client, response_url) if isinstance(client, PooledWebClient) else None
