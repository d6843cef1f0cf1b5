"""A process killed with SIGKILL leaves nothing that blocks the next one for longer than the failover time.

Real processes (`govbot run-job`) against the Jira sandbox on loopback: the first run is killed in the middle of
planning, and the next one — started at once, while the dead run's claim still looks fresh — finishes the plan
within GOVBOT_FAILOVER_SECONDS instead of answering "another run is planning", and creates no sprint twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import SCRUM_BOARD_ID

ROOT = Path(__file__).resolve().parent.parent
GOVBOT = str(Path(sys.executable).parent / "govbot")
EXAMPLE = ROOT / "manifests" / "teams.example.yaml"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # the Jira seed's time: runs use --as-of it
FAILOVER_SECONDS = 6


def govbot_env(db_url: str, jira: JiraSandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVBOT_", "SLACK_", "JIRA_"))}
    credentials = jira.credentials
    env.update({
        "DATABASE_URL": db_url,
        "GOVBOT_SECRET_KEY": "test-secret-key-0123456789",
        "GOVBOT_FAILOVER_SECONDS": str(FAILOVER_SECONDS),
        "SLACK_BOT_TOKEN": "xoxb-sandbox-token",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # nothing listens: no job here talks to Slack
        "JIRA_URL": jira.url,
        "JIRA_EMAIL": credentials["email"],
        "JIRA_API_TOKEN": credentials["api_token"],
    })
    return env


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVBOT, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def jira():
    sandbox = JiraSandbox(mode="cloud", now=NOW).start()
    yield sandbox
    sandbox.stop()


def future_sprint_names(jira: JiraSandbox) -> list[str]:
    with jira.lock:
        return [s.name for s in jira.sprints.values() if s.board_id == SCRUM_BOARD_ID and s.state == "future"]


def test_plan_sprints_killed_mid_run_does_not_block_the_next_run(db_url, jira):
    env = govbot_env(db_url, jira)
    assert run(env, "team", "import", str(EXAMPLE)).returncode == 0
    planning = ["run-job", "plan-sprints", "--team", "payments", "--as-of", NOW.isoformat()]
    before = len(jira.calls_to("/rest/agile/1.0/sprint", "POST"))
    jira.set_latency(0.4)  # slow enough to be caught between two sprint writes
    victim = subprocess.Popen([GOVBOT, *planning], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(jira.calls_to("/rest/agile/1.0/sprint", "POST")) == before:
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the first run never wrote a sprint"
            time.sleep(0.02)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
    jira.set_latency(0)
    assert len(future_sprint_names(jira)) < 3, "the first run was killed before it finished"

    started = time.monotonic()
    after = run(env, *planning)
    waited = time.monotonic() - started
    assert after.returncode == 0, after.stderr
    assert "skipped" not in after.stdout and "Another govbot run" not in after.stdout, after.stdout
    assert waited < FAILOVER_SECONDS + 10, f"the next run waited {waited:.1f} s for a dead run's claim"
    names = future_sprint_names(jira)
    assert len(names) == 3 and not [n for n, c in Counter(names).items() if c > 1], names
    again = run(env, *planning)
    assert again.returncode == 0 and "skipped" not in again.stdout, again.stdout
    assert sorted(future_sprint_names(jira)) == sorted(names)  # the plan holds: nothing created twice
