"""The HTTP face of govbot: `POST /slack/events`, `GET /healthz`, `GET /readyz`, `GET /metrics`, served by uvicorn.

bolt's own ``app.start()`` is a development server, and its Starlette adapter runs the sync App on the event loop
thread; this endpoint checks the signature first (401, nothing parsed), refuses a body that is not of Slack's
shape (400, never a 500; see ``govbot.adapters.slack.envelope``), and dispatches in a worker thread so one slow
request never blocks the others.

One exception, for the request Slack sends most and times hardest: with ``inline_commands``, a slash command is
dispatched on the event loop itself. govbot's `/govbot` listener only parses the text and hands the work to a
lane (``govbot.core.app``), so its ack is a fraction of a millisecond of CPU, and the hop to a worker thread and
back cost more than that: 1,500 acks a second with the hop against 2,100-2,600 without (help, 50 clients,
``benchmarks/ack_latency.py``). It only starts once bolt knows who the bot is: bolt's first request calls
`auth.test`, a network call that must never run on the loop, so commands go to the worker threads until one has
passed bolt's authorisation. Events (de-duplicated in the database), interactions (modals, writes) and any app
with another authorisation (OAuth installations are read per request) always go to the worker threads.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import logging
import signal
import time

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App, BoltRequest
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from govbot.adapters.db.migrate import schema_is_current
from govbot.adapters.scheduler.health import Probed, probe_fields
from govbot.adapters.slack import envelope
from govbot.adapters.slack.failures import log_failure
from govbot.config import Settings
from govbot.logs import log_context

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 20  # below the pods' terminationGracePeriodSeconds (30)
MAX_BODY = 1_000_000  # Slack payloads are far smaller; refuse anything bigger before reading it all.


def slack_request_id(body: bytes, content_type: str) -> str:
    """Slack's own id of a request, for the logs (see ``envelope.request_id``); a random one for a body that is
    not Slack's."""
    try:
        return envelope.read(body, content_type).request_id
    except envelope.NotSlackShape:
        return envelope.request_id({})


def signature_ok(secret: bytes, body: bytes, headers: dict[str, str], now: float) -> bool:
    """Slack's v0 signature over the raw bytes, within a 5-minute window (works for any body, even non-UTF-8)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    if abs(now - int(timestamp)) > 300:
        return False
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def create_web_app(*, settings: Settings, engine: Engine, bolt_app: App,
                   scheduler: Probed | None = None, inline_commands: bool = False) -> Starlette:
    """The ASGI application for `govbot serve`: Slack requests (signature checked), /healthz, /readyz, /metrics.

    ``scheduler`` is the scheduler running in this process, if any: liveness fails when its loop has died (a
    restart brings it back) and readiness reports its state. ``inline_commands``: the app's slash-command
    listeners ack without blocking, so commands may be dispatched on the event loop (see above); never for an app
    whose command listeners wait for anything.
    """
    secret = settings.slack_signing_secret
    assert secret is not None
    secret_bytes = secret.get_secret_value().encode()
    reply_hosts = envelope.reply_hosts_for(settings.slack_api_url)

    async def slack_events(request: Request) -> Response:
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return PlainTextResponse("request body too large", status_code=413)
        body = await _read_at_most(request, MAX_BODY)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        if not signature_ok(secret_bytes, body, {k.lower(): v for k, v in request.headers.items()}, time.time()):
            return PlainTextResponse("invalid request signature or timestamp", status_code=401)
        try:
            read = envelope.read(body, request.headers.get("content-type", ""), reply_hosts=reply_hosts)
            bolt_request = BoltRequest(body=body.decode("utf-8"), query=request.url.query,
                                       headers={k: [v] for k, v in request.headers.items()},
                                       context={"slack_request": read.request_id})
        except (envelope.NotSlackShape, ValueError, TypeError, AttributeError, KeyError, IndexError) as problem:
            reason = str(problem) if isinstance(problem, envelope.NotSlackShape) else "malformed request body"
            return PlainTextResponse(f"not a Slack request: {reason}", status_code=400)
        with log_context(slack_request=read.request_id):
            try:
                if inline_commands and "command" in read.fields and _authorisation_known(bolt_app):
                    bolt_response = bolt_app.dispatch(bolt_request)
                else:
                    bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
            except Exception as error:  # bolt's own handling failed: Slack still gets its ack, the log the rest
                log_failure(error, slack_request=read.request_id, what="dispatching a Slack request")
                return Response(status_code=200)
        return Response(
            content=bolt_response.body,
            status_code=bolt_response.status,
            headers={k: v[0] for k, v in bolt_response.headers.items() if k.lower() != "content-length"},
        )

    def scheduler_fields() -> dict[str, str]:
        return {} if scheduler is None else probe_fields(scheduler)

    async def healthz(_: Request) -> Response:
        # Liveness stays cheap and local: a database outage is not cured by restarting the pod (readiness
        # reports it); a scheduler loop that died is.
        fields = scheduler_fields()
        if fields.get("scheduler") == "stopped":
            return JSONResponse({"status": "error", **fields}, status_code=503)
        return JSONResponse({"status": "ok", **fields})

    async def readyz(_: Request) -> Response:
        fields = scheduler_fields()
        try:
            current = await run_in_threadpool(schema_is_current, engine)
        except Exception as exc:
            log.warning("readiness check failed: %s", exc.__class__.__name__)
            return JSONResponse({"status": "error", "database": "unreachable", **fields}, status_code=503)
        if not current:
            # A pod of a newer govbot than the schema (its migration Job has not run yet) takes no traffic.
            return JSONResponse({"status": "error", "database": "ok",
                                 "schema": "not at this version's head: run `govbot db upgrade`", **fields},
                                status_code=503)
        ok = fields.get("scheduler") != "stopped"
        return JSONResponse({"status": "ok" if ok else "error", "database": "ok", "schema": "current", **fields},
                            status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ])


def _authorisation_known(bolt_app: App) -> bool:
    """Whether bolt's single-workspace authorisation has the bot's `auth.test` answer (from the first request
    that needed it), so dispatching makes no network call. False for any other authorisation, or a bolt whose
    internals changed: those requests keep going to the worker threads."""
    for middleware in getattr(bolt_app, "_middleware_list", ()):
        if isinstance(middleware, SingleTeamAuthorization):
            return middleware.auth_test_result is not None
    return False


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``limit`` (a chunked body announces no length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def settle_heap() -> None:
    """Move everything made at start-up out of the garbage collector's sight, once the app is built.

    Modules, the bolt app, SQLAlchemy's mappers and pydantic's validators live as long as the process, yet each
    full collection walks them all: under load those collections paused every thread for 80-115 ms, the slowest
    acks by far (``benchmarks/ack_latency.py``). Frozen, they are never walked again (full collections: under
    5 ms). Only for a process that serves until it stops: frozen objects are never freed.
    """
    gc.collect()
    gc.freeze()


def serve(*, settings: Settings, engine: Engine, bolt_app: App, host: str = "0.0.0.0",  # noqa: S104
          port: int = 3000, scheduler: Probed | None = None, inline_commands: bool = False) -> None:
    """Run the HTTP server until interrupted; return after a graceful stop (SIGTERM or Ctrl-C)."""
    web_app = create_web_app(settings=settings, engine=engine, bolt_app=bolt_app, scheduler=scheduler,
                             inline_commands=inline_commands)
    settle_heap()
    # SIGTERM: uvicorn stops accepting, lets the requests in flight finish (at most this long), then re-raises the
    # signal to the handler it found. With a no-op one there, `serve` returns and the caller's clean-up runs (the
    # in-process scheduler hands over) instead of the default action killing the process mid-way.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="warning", proxy_headers=True, access_log=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    finally:
        signal.signal(signal.SIGTERM, previous)
