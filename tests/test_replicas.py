"""Several processes, one bot (PostgreSQL, real processes, loopback only).

Two `govbot serve --no-scheduler` and two `govbot scheduler` processes share one PostgreSQL database and the
Slack sandbox. Both schedulers start at the same instant (one leads), signed slash commands go round-robin to
the web replicas all along, and the leading scheduler is killed with SIGKILL in the middle of the scheduled
fan-out of 200 survey invitations: the standby must take over within GOVBOT_FAILOVER_SECONDS, finish the
fan-out, and every member must get exactly one invitation. The migration is run twice at once first.

The figures seen (failover time, web requests per second during the kill) are printed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import signature_headers
from tests.conftest import drop_pg_database, new_pg_database, require_pg

GOVBOT = str(Path(sys.executable).parent / "govbot")
SIGNING_SECRET = "replicas-signing-secret-0123456789"
BOT_TOKEN = "xoxb-replicas-token"
MEMBERS = [f"U{index:09d}" for index in range(200)]
MANAGER, CHANNEL = "U0MANAGER1", "C0PULSE0001"
FAILOVER_SECONDS = 15

pytestmark = pytest.mark.postgres


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


@pytest.fixture
def cluster(tmp_path):
    require_pg()
    made = Cluster(tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.timeout(600)
def test_two_web_and_two_scheduler_processes_act_as_one_bot_through_a_leader_kill(cluster, capsys):
    # The migration Job run twice, at once: both end well, the schema is at head once.
    migrations = [subprocess.Popen([GOVBOT, "db", "upgrade"], env=cluster.env(3000), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT) for _ in range(2)]
    for migration in migrations:
        output, _ = migration.communicate(timeout=180)
        assert migration.returncode == 0, output.decode()

    # The survey is due at the next minute that leaves the processes time to start.
    now = datetime.now(UTC)
    fire_at = (now + timedelta(seconds=40)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    imported = cluster.run("team", "import", str(survey_team_file(cluster.tmp, fire_at)))
    assert imported.returncode == 0, imported.stderr

    web_ports = [cluster.start("web-1", "serve", "--no-scheduler"), cluster.start("web-2", "serve", "--no-scheduler")]
    # Both schedulers at the same instant: exactly one leads.
    scheduler_ports = [cluster.start("scheduler-1", "scheduler"), cluster.start("scheduler-2", "scheduler")]
    for port in web_ports + scheduler_ports:
        wait_for(f"process on port {port} answering /healthz", lambda p=port: get(
            f"http://127.0.0.1:{p}/healthz")[0] == 200, timeout=60)
    wait_for("a scheduler leading", lambda: any(is_leader(p) for p in scheduler_ports), timeout=FAILOVER_SECONDS)
    leaders = [p for p in scheduler_ports if is_leader(p)]
    assert len(leaders) == 1, "both schedulers lead"
    leader_port = leaders[0]
    standby_port = next(p for p in scheduler_ports if p != leader_port)
    leader_name = next(n for n, (_, p) in cluster.processes.items() if p == leader_port)

    with Load(web_ports) as load:
        wait_for("the scheduled fan-out reaching a quarter of the team",
                 lambda: sum(invitations(cluster.slack).values()) >= 50,
                 timeout=(fire_at - datetime.now(UTC)).total_seconds() + 60, every=0.02)
        killed_at = time.monotonic()
        cluster.processes[leader_name][0].send_signal(signal.SIGKILL)
        sent_at_kill = sum(invitations(cluster.slack).values())
        takeover = wait_for("the standby leading", lambda: is_leader(standby_port), timeout=FAILOVER_SECONDS + 5)
        # The dead leader had at most its 4 sending workers' DMs in flight; more than that is the resumed run.
        resumed = takeover + wait_for("the interrupted fan-out resumed", lambda: sum(
            invitations(cluster.slack).values()) > sent_at_kill + 4, timeout=FAILOVER_SECONDS + 5, every=0.05)
        wait_for("every member invited", lambda: len(invitations(cluster.slack)) == len(MEMBERS),
                 timeout=FAILOVER_SECONDS + 120)
        done_at = time.monotonic()
        time.sleep(2)  # anything sent twice would show up now
    served = load.served(killed_at, done_at)

    sent = invitations(cluster.slack)
    assert sorted(sent) == MEMBERS
    assert [user for user, count in sent.items() if count != 1] == [], "members invited more than once"
    assert takeover <= FAILOVER_SECONDS and resumed <= FAILOVER_SECONDS
    assert sent_at_kill < len(MEMBERS), "the leader was killed after the fan-out had finished"
    answered = [status for _, _, status in served]
    assert answered and all(status == 200 for status in answered), Counter(answered)
    assert {port for _, port, _ in served} == set(web_ports), "a web replica served nothing"
    assert "resumed" in cluster.log(next(n for n, (_, p) in cluster.processes.items() if p == standby_port))
    window = done_at - killed_at
    with capsys.disabled():
        print(f"\n[replicas] leader killed after {sent_at_kill}/200 invitations; standby leading after "
              f"{takeover:.1f} s, fan-out resumed after {resumed:.1f} s, all 200 invited (each once) "
              f"{done_at - killed_at:.1f} s after the kill "
              f"(GOVBOT_FAILOVER_SECONDS={FAILOVER_SECONDS}); web replicas served {len(served)} signed commands "
              f"in those {window:.1f} s = {len(served) / window:.1f} requests/s, all 200 OK")
