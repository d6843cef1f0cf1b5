"""SPEC §1: a missing or malformed variable stops start-up with one line naming it; secrets never printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from govbot.config import ConfigError, load_settings
from tests.conftest import same_clock

GOOD_KEY = "k" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ["DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
                 "JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT", "GOVBOT_SECRET_KEY", "GOVBOT_ADMINS",
                 "GOVBOT_PORT", "GOVBOT_LOG_FORMAT"]:
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    s = load_settings()
    assert s.database_url == "sqlite:///govbot.db"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.port == 3000 and s.log_format == "text" and s.admins == ()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GOVBOT_PORT", "abc", "GOVBOT_PORT is malformed"),
        ("GOVBOT_PORT", "70000", "GOVBOT_PORT is malformed"),
        ("SLACK_BOT_TOKEN", "not-a-token", "SLACK_BOT_TOKEN is malformed"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN is malformed"),
        ("GOVBOT_ADMINS", "U0123ABC,not an id", "GOVBOT_ADMINS is malformed"),
        ("GOVBOT_LOG_FORMAT", "xml", "GOVBOT_LOG_FORMAT is malformed"),
        ("SLACK_API_URL", "ftp://x", "SLACK_API_URL is malformed"),
        ("DATABASE_URL", "not a url", "DATABASE_URL is malformed"),
        ("GOVBOT_SECRET_KEY", "changeme", "GOVBOT_SECRET_KEY is a placeholder"),
    ],
)
def test_malformed_variable_is_named(monkeypatch, name, value, expected):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message
    if name != "GOVBOT_SECRET_KEY":
        assert value not in message or len(value) < 6


def test_secret_key_required_outside_sandbox_only():
    with pytest.raises(ConfigError, match="GOVBOT_SECRET_KEY is not set"):
        load_settings()
    assert load_settings(sandbox=True).secret_key is not None


def test_secrets_are_never_printed(monkeypatch):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret-value")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    s = load_settings()
    shown = repr(s) + str(s) + s.model_dump_json()
    for secret in ("xoxb-very-secret-value", "signing-very-secret", GOOD_KEY):
        assert secret not in shown


def test_require_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    s = load_settings()
    with pytest.raises(ConfigError, match="^SLACK_BOT_TOKEN is not set"):
        s.require_slack()
    with pytest.raises(ConfigError, match="^JIRA_URL is not set"):
        s.require_jira()


def test_slack_api_url_gets_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    assert load_settings().slack_api_url == "http://127.0.0.1:9/api/"


def test_cli_stops_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "GOVBOT_SECRET_KEY": GOOD_KEY, "GOVBOT_PORT": "nope",
           "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run([sys.executable, "-m", "govbot.cli", "team", "list"], env=same_clock(env), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "GOVBOT_PORT is malformed" in lines[0]


def test_database_password_not_in_repr(monkeypatch):
    monkeypatch.setenv("GOVBOT_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://govbot:hunter2-db-password@db:5432/govbot")
    assert "hunter2-db-password" not in repr(load_settings())
