"""Run the real bot's HTTP server in-process on a free loopback port (for the demo and the tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from slack_bolt import App

from govbot.adapters.slack.server import create_web_app
from govbot.core.deps import Runtime


class BotServer:
    """uvicorn serving govbot's ASGI app on 127.0.0.1:<free port>, in a daemon thread."""

    def __init__(self, runtime: Runtime, bolt_app: App, *, inline_commands: bool = True):
        """``inline_commands``: as `govbot serve` does for govbot's app (see ``create_web_app``); False for an app
        whose command listeners may block."""
        self.runtime = runtime
        self.bolt_app = bolt_app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        web_app = create_web_app(settings=runtime.settings, engine=runtime.engine, bolt_app=bolt_app,
                                 inline_commands=inline_commands)
        config = uvicorn.Config(web_app, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="govbot-http", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    def _run(self) -> None:
        # Server.run: the event loop `govbot serve` gets (uvloop where installed), not asyncio's default one.
        self._server.run(sockets=[self._socket])

    def start(self) -> BotServer:
        """Start serving and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the bot's HTTP server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> BotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
