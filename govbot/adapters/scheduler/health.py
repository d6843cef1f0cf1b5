"""The scheduler process's small HTTP face: `GET /healthz` (liveness, and whether it leads) and `GET /metrics`.

The job metrics and the leader gauge live in the scheduler process, so Prometheus scrapes it here; Kubernetes
restarts it when the leadership loop has died.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_health_app(*, alive: Callable[[], bool], leading: Callable[[], bool]) -> Starlette:
    """The ASGI application for `govbot scheduler`."""

    async def healthz(_: Request) -> Response:
        if not alive():
            return JSONResponse({"status": "error", "scheduler": "stopped"}, status_code=503)
        return JSONResponse({"status": "ok", "scheduler": "leading" if leading() else "standing by"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])])


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
