"""`govbot violations list` and `govbot run-job check-policy --dry-run` as a user runs them: the real CLI in a
subprocess, Jira in the sandbox on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL, JiraSandbox
from govbot.sandbox.jira_staffing import SCENARIO_MANAGER, seed_staffing_sprint
from tests.conftest import same_clock

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
JSON_FIELDS = {"id", "rule", "severity", "issue", "person", "detail", "status", "opened_at", "acknowledged_by",
               "reason"}


def cli(args, env):
    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], env=same_clock(env), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def setup(tmp_path):
    jira = JiraSandbox(mode="cloud", now=NOW, seed=False).start()
    scenario = seed_staffing_sprint(jira)
    team_file = tmp_path / "teams.yaml"
    team_file.write_text(json.dumps({"teams": [scenario.team]}))  # JSON is YAML
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "GOVBOT_SECRET_KEY": "cli-test-key-0123456789", "JIRA_URL": jira.url, "JIRA_EMAIL": CLOUD_EMAIL,
           "JIRA_API_TOKEN": CLOUD_API_TOKEN, "SLACK_BOT_TOKEN": "xoxb-unused", "SLACK_SIGNING_SECRET": "unused",
           "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    assert cli(["db", "upgrade"], env).returncode == 0
    assert cli(["team", "import", str(team_file)], env).returncode == 0
    yield env, jira, scenario
    jira.stop()


def test_dry_run_prints_each_violation_it_would_open_and_the_list_stays_empty(setup):
    env, jira, _ = setup
    as_of = NOW.isoformat()
    result = cli(["run-job", "check-policy", "--team", "platform", "--dry-run", "--as-of", as_of], env)
    assert result.returncode == 0, result.stderr
    opened = [line for line in result.stdout.splitlines() if "would open R" in line]
    assert len(opened) == 6
    listed = cli(["violations", "list", "--team", "platform", "--format", "json"], env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert jira.calls_to("/issue/", method="PUT") == []


def test_violations_list_in_json_and_text(setup, monkeypatch):
    env, _, scenario = setup
    # a real run, with Slack unreachable: the violations are stored, their DMs wait for the next run
    result = cli(["run-job", "check-policy", "--team", "platform", "--as-of", NOW.isoformat()], env)
    said = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines
    assert "staffing rules: 6 violation(s) now (6 opened)" in said and "Traceback" not in said
    assert "refactoring capacity:" in said  # both checks in one run
    listed = json.loads(cli(["violations", "list", "--team", "platform", "--format", "json"], env).stdout)
    assert [(v["rule"], v["issue"], v["person"]) for v in listed] == scenario.expected
    assert all(set(v) >= JSON_FIELDS for v in listed)
    r3 = next(v for v in listed if v["rule"] == "R3")
    assert r3["severity"] == "critical" and r3["status"] == "open" and r3["acknowledged_by"] is None
    assert datetime.fromisoformat(r3["opened_at"]) == NOW
    text = cli(["violations", "list", "--team", "platform"], env).stdout
    assert text.count("\n") >= 5 and "R3 critical" in text
    assert json.loads(cli(["violations", "list", "--team", "platform", "--status", "resolved", "--format", "json"],
                          env).stdout) == []
    assert SCENARIO_MANAGER  # the managers are DM'd by the bot, not by the CLI


@pytest.mark.parametrize(("args", "message"), [
    (["--team", "nope"], "no team is named 'nope'"),
    (["--team", "platform", "--status", "closed"], "--status must be open, acknowledged, resolved or all"),
    (["--team", "platform", "--format", "yaml"], "--format must be text or json"),
])
def test_bad_input_is_one_clear_sentence(setup, args, message):
    env, _, _ = setup
    result = cli(["violations", "list", *args], env)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
