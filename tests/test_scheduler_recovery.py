"""The scheduler's leader loop outlives a database that is unreachable or not migrated at start, and says so.

It retries with backoff (1 s doubling to 60 s), never dies, reports ``retrying`` and the reason on its readiness
endpoint, and leads (with every team job scheduled) as soon as the database is ready. Liveness stays cheap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import session_scope
from govbot.adapters.scheduler.health import create_health_app
from govbot.adapters.scheduler.runner import retry_delay
from govbot.adapters.slack.server import create_web_app
from govbot.config import load_settings
from govbot.demo.steps import wait_until
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import build_runtime, create_scheduler, scheduled_jobs
from tests.conftest import drop_pg_database, new_pg_database, require_pg, same_clock

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
KEY = "test-secret-key-0123456789"
UNREACHABLE = "postgresql+psycopg://govbot:s3cret-pw@127.0.0.1:1/govbot"  # nothing listens on port 1


def _runtime(url: str):
    return build_runtime(load_settings(sandbox=True, DATABASE_URL=url, GOVBOT_SECRET_KEY=KEY,
                                       SLACK_API_URL="http://127.0.0.1:9/api/"))


class Answer:
    def __init__(self, status_code: int, body: bytes):
        self.status_code = status_code
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)


class AsgiClient:
    """GET on an ASGI app in-process (no socket, no extra dependency)."""

    def __init__(self, app) -> None:
        self.app = app

    def get(self, path: str) -> Answer:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
                 "raw_path": path.encode(), "query_string": b"", "headers": [], "scheme": "http",
                 "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": ""}
        asyncio.run(self.app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        return Answer(start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_retry_delay_doubles_from_one_second_up_to_a_minute():
    assert [retry_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(10_000) == 60


def test_leader_loop_waits_for_the_schema_then_leads_with_every_job(empty_db_url):
    runtime = _runtime(empty_db_url)
    service = create_scheduler(runtime, poll_seconds=0.2)
    service.first_retry_seconds = 0.05
    service.start()
    try:
        wait_until(lambda: service.failures >= 3, timeout=30, what="three failed looks")
        assert service.state == "retrying" and service.alive() and not service.leading
        assert "run `govbot db upgrade`" in (service.problem or "")

        upgrade(empty_db_url)
        with session_scope(runtime.engine) as session:
            apply_specs(session=session, key=KEY.encode(), now=datetime(2026, 11, 25, tzinfo=UTC), actor="test",
                        specs=parse_team_file(EXAMPLE), source="test")
        expected = {job.id for job in scheduled_jobs(runtime)}
        assert len(expected) == 6
        wait_until(lambda: service.state == "leading" and {
            job.id for job in service.scheduler.get_jobs(jobstore="default")} == expected, timeout=30,
            what="the scheduler to lead with every team job")
        assert service.failures == 0 and service.problem is None
    finally:
        service.stop()
        runtime.engine.dispose()


def test_leader_loop_survives_an_unreachable_database_and_says_so_once(caplog):
    runtime = _runtime(UNREACHABLE)
    service = create_scheduler(runtime, poll_seconds=0.2)
    service.first_retry_seconds = 0.01
    caplog.set_level(logging.DEBUG, logger="govbot.adapters.scheduler.runner")
    service.start()
    try:
        wait_until(lambda: service.failures >= 4, timeout=30, what="four failed looks")
        assert service.alive() and service.state == "retrying"
        assert service.problem == "the database did not answer (OperationalError)"
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and warnings[0].exc_info is None  # one line, no traceback per look
        assert "s3cret-pw" not in caplog.text

        app = AsgiClient(create_health_app(service))
        assert app.get("/healthz").status_code == 200  # alive: restarting would not bring the database back
        ready = app.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {
            "status": "error", "scheduler": "retrying", "scheduler_problem": service.problem}
    finally:
        service.stop()
    assert service.state == "stopped"
    assert AsgiClient(create_health_app(service)).get("/healthz").status_code == 503


def test_web_health_is_cheap_and_readiness_names_database_schema_and_scheduler():
    runtime = _runtime(UNREACHABLE)
    service = create_scheduler(runtime, poll_seconds=0.2)
    service.first_retry_seconds = 0.01
    settings = load_settings(sandbox=True, SLACK_SIGNING_SECRET="s" * 20)
    web = AsgiClient(create_web_app(settings=settings, engine=runtime.engine, bolt_app=None,  # type: ignore[arg-type]
                                    scheduler=service))
    service.start()
    try:
        wait_until(lambda: service.failures >= 1, timeout=30, what="a failed look")
        health = web.get("/healthz")
        assert health.status_code == 200 and health.json()["scheduler"] == "retrying"
        ready = web.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable" and ready.json()["scheduler"] == "retrying"
    finally:
        service.stop()
    assert web.get("/healthz").status_code == 503  # the in-process scheduler is gone: restart the pod


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_serve_on_a_database_not_yet_migrated_waits_then_runs_jobs():
    """`govbot serve` on PostgreSQL before `govbot db upgrade`: up, not ready, no traceback; ready after it."""
    require_pg()
    url, name = new_pg_database()
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url, "GOVBOT_SECRET_KEY": KEY,
           "SLACK_BOT_TOKEN": "xoxb-recovery", "SLACK_SIGNING_SECRET": "recovery-signing-secret-0123",
           "SLACK_API_URL": "http://127.0.0.1:9/api/", "GOVBOT_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "govbot.cli", "serve", "--host", "127.0.0.1"], env=same_clock(env),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> requests.Response | None:
        try:
            return requests.get(base + path, timeout=3)
        except requests.ConnectionError:
            assert process.poll() is None, "govbot serve exited"
            return None

    try:
        # (a requests.Response is falsy when its status is an error: wrap it)
        [retrying] = wait_until(lambda: (r := get("/readyz")) is not None and r.json().get("scheduler") == "retrying"
                                and [r], timeout=60, what="serve to report the scheduler retrying")
        assert retrying.status_code == 503 and "govbot db upgrade" in retrying.json()["schema"]
        assert "govbot db upgrade" in retrying.json()["scheduler_problem"]
        assert get("/healthz").status_code == 200  # type: ignore[union-attr]

        upgraded = subprocess.run([sys.executable, "-m", "govbot.cli", "db", "upgrade"], env=same_clock(env),
                                  capture_output=True, text=True, timeout=60)
        assert upgraded.returncode == 0, upgraded.stderr
        [ready] = wait_until(lambda: (r := get("/readyz")) is not None and r.json().get("scheduler") == "leading"
                             and [r], timeout=90, what="serve's scheduler to lead", poll=0.2)
        assert ready.json() == {"status": "ok", "database": "ok", "schema": "current", "scheduler": "leading"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        drop_pg_database(name)
    assert process.returncode == 0
    assert "Traceback" not in stderr, stderr
    assert stderr.count("the scheduler cannot lead") == 1, stderr
