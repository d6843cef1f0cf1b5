"""The scheduler process's small HTTP face: `GET /healthz` (liveness), `GET /readyz` and `GET /metrics`.

The job metrics and the leader gauge live in the scheduler process, so Prometheus scrapes it here. Kubernetes
restarts it when the leadership loop has died (liveness); readiness says whether it can lead or stand by, or is
retrying (the database away, the schema behind) and why.
"""

from __future__ import annotations

import threading
from typing import Protocol

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class Probed(Protocol):
    """What the endpoints (these and the web server's) read of ``SchedulerService``."""

    @property
    def state(self) -> str: ...
    problem: str | None


def probe_fields(service: Probed) -> dict[str, str]:
    """The scheduler's part of a /healthz or /readyz answer: its state, and why when it is retrying."""
    found = {"scheduler": service.state}
    if service.problem:
        found["scheduler_problem"] = service.problem
    return found


def create_health_app(service: Probed) -> Starlette:
    """The ASGI application for `govbot scheduler`."""

    def fields() -> dict[str, str]:
        return probe_fields(service)

    async def healthz(_: Request) -> Response:
        found = fields()
        if found["scheduler"] == "stopped":
            return JSONResponse({"status": "error", **found}, status_code=503)
        return JSONResponse({"status": "ok", **found})

    async def readyz(_: Request) -> Response:
        found = fields()
        ready = found["scheduler"] in ("leading", "standing by")
        return JSONResponse({"status": "ok" if ready else "error", **found}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"]),
                             Route("/metrics", metrics, methods=["GET"])])


class HealthServer:
    """Serves the health app from a background thread until ``stop``."""

    def __init__(self, app: Starlette, *, host: str, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="govbot-scheduler-http", daemon=True)

    def start(self) -> HealthServer:
        """Start serving (signals stay with the main thread)."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.should_exit = True
        self.thread.join(timeout=5)
