"""Real govbot processes for the multi-process tests: a `Cluster` of `govbot serve` and `govbot scheduler`
processes on one PostgreSQL database with the Slack sandbox, a steady `Load` of signed requests, and small
helpers (free ports, GETs that never raise, waits that report how long they took)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import signature_headers
from tests.conftest import drop_pg_database, new_pg_database

GOVBOT = str(Path(sys.executable).parent / "govbot")
SIGNING_SECRET = "replicas-signing-secret-0123456789"
BOT_TOKEN = "xoxb-replicas-token"
MEMBERS = [f"U{index:09d}" for index in range(200)]
MANAGER, CHANNEL = "U0MANAGER1", "C0PULSE0001"
FAILOVER_SECONDS = 15



def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback only
            return answer.status, answer.read().decode()
    except OSError:
        return 0, ""


def is_leader(port: int) -> bool:
    status, body = get(f"http://127.0.0.1:{port}/metrics")
    return status == 200 and re.search(r"^govbot_scheduler_leader 1\.0$", body, re.M) is not None


def wait_for(what: str, condition, timeout: float, every: float = 0.1) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``condition()`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started


class Cluster:
    """The database, the sandboxes, and the govbot processes (each with its own port and log file)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.db_url, self.db_name = new_pg_database()
        self.slack = SlackSandbox(bot_token=BOT_TOKEN).start()
        # Slack's pace for DMs, so that the fan-out lasts long enough to be killed in the middle.
        self.slack.set_rate_limit("chat.postMessage", per_minute=600, burst=10)
        self.jira = JiraSandbox(mode="cloud", now=datetime.now(UTC)).start()
        self.processes: dict[str, tuple[subprocess.Popen[bytes], int]] = {}

    def env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVBOT_", "SLACK_", "JIRA_"))}
        env.update({
            "DATABASE_URL": self.db_url, "GOVBOT_SECRET_KEY": "replicas-secret-key-0123456789",
            "GOVBOT_FAILOVER_SECONDS": str(FAILOVER_SECONDS), "GOVBOT_PORT": str(port),
            "GOVBOT_LOG_FORMAT": "json", "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url, "JIRA_URL": self.jira.url, **{
                "JIRA_EMAIL": self.jira.credentials["email"], "JIRA_API_TOKEN": self.jira.credentials["api_token"]},
        })
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([GOVBOT, *args], env=self.env(3000), capture_output=True, text=True, timeout=180)

    def start(self, name: str, *args: str) -> int:
        port = free_port()
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen([GOVBOT, *args, "--host", "127.0.0.1"], env=self.env(port), stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes[name] = (process, port)
        return port

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for process, _ in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        self.slack.stop()
        self.jira.stop()
        drop_pg_database(self.db_name)


class Load:
    """Signed `/govbot help` commands, round-robin over the web replicas, from a few threads, until stopped."""

    def __init__(self, ports: list[int], threads: int = 4, limit_seconds: float = 600):
        self.ports = ports
        self.answers: list[tuple[float, int, int]] = []  # (when, port, status)
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_seconds
        self._lock = threading.Lock()
        self._turn = 0
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            with self._lock:
                port = self.ports[self._turn % len(self.ports)]
                self._turn += 1
            body = urlencode({"command": "/govbot", "text": "help", "user_id": MANAGER, "channel_id": CHANNEL,
                              "team_id": "T0SANDBOX", "trigger_id": f"t.{time.monotonic_ns()}",
                              "api_app_id": "A0GOVBOT"}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       **signature_headers(SIGNING_SECRET, body, int(time.time()))}
            request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback only
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            with self._lock:
                self.answers.append((time.monotonic(), port, status))

    def served(self, start: float, end: float) -> list[tuple[float, int, int]]:
        with self._lock:
            return [a for a in self.answers if start <= a[0] <= end]


def invitations(slack: SlackSandbox) -> Counter[str]:
    """Invitations Slack accepted, per member (the DM is posted to the user id)."""
    return Counter(call.body.get("channel") for call in slack.calls_of("chat.postMessage")
                   if not call.failed and str(call.body.get("channel", "")).startswith("U0000"))


def survey_team_file(tmp: Path, fire_at: datetime) -> Path:
    team = {
        "name": "pulse", "jira_board_id": 12, "jira_project": "PAY", "digest_channel": CHANNEL, "timezone": "UTC",
        "managers": [MANAGER],
        "members": [{"slack": user, "jira": f"acc-{user}", "seniority": "mid"} for user in MEMBERS],
        "settings": {"survey_rrule": f"FREQ=DAILY;BYHOUR={fire_at.hour};BYMINUTE={fire_at.minute}"},
    }
    path = tmp / "teams.yaml"
    path.write_text(yaml.safe_dump({"teams": [team]}))
    return path
