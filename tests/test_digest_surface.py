"""The digest's surfaces over the wire: `/govbot digest preview|post` (signed requests into the real bolt app),
the `post-digest` job (with --as-of replays), and `govbot digest show|backfill`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.notifier import RecordingNotifier, SlackNotifier
from govbot.adapters.tracker import JiraTracker
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import run_job
from govbot.sandbox.jira_api import JiraSandbox
from tests.conftest import KEY, close_bot, make_bot, same_clock

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MANAGER, MEMBER, CHANNEL = "U0MANAGER1", "U0SENIOR01", "C0PAYMENTS1"


@pytest.fixture
def jira():
    sandbox = JiraSandbox(mode="cloud", now=NOW).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def bot(sqlite_url, jira):
    instance = make_bot(sqlite_url, clock=lambda: NOW,
                        tracker_factory=lambda: JiraTracker(url=jira.url, sleep=lambda _s: None, **jira.credentials))
    with session_scope(instance.engine) as session:
        apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=parse_team_file(EXAMPLE), source="test")
    yield instance
    instance.runtime.events.wait()
    close_bot(instance)


def command(bot, text: str, user: str = MANAGER) -> dict:
    seen = len([c for c in bot.sandbox.calls_of("response_url") if not c.failed])
    response = bot.sim.slash_command(text, user_id=user, channel_id=CHANNEL)
    assert response.status == 200 and response.elapsed < 3.0
    return bot.wait_for("response_url", seen + 1, timeout=30)[seen].body


def channel_posts(bot) -> list:
    return [c for c in bot.sandbox.calls_of("chat.postMessage") if not c.failed and c.body["channel"] == CHANNEL]


def test_preview_is_ephemeral_with_the_post_blocks(bot):
    body = command(bot, "digest preview")
    assert body["response_type"] == "ephemeral"
    assert body["blocks"][0]["text"]["text"] == "Weekly digest: payments, 2026-W48"
    assert channel_posts(bot) == []


def test_only_managers_may_preview_or_post(bot):
    for text in ("digest preview", "digest post"):
        body = command(bot, text, user=MEMBER)
        assert "manager" in body["text"].lower()
    assert channel_posts(bot) == []


def test_post_then_post_again_answers_with_a_link(bot):
    first = command(bot, "digest post")
    assert first["text"].startswith("Posted the digest of 2026-W48")
    assert len(channel_posts(bot)) == 1
    again = command(bot, "digest post")
    assert again["text"].startswith("The digest of 2026-W48 is already posted: https://sandbox.slack.com/archives/")
    assert len(channel_posts(bot)) == 1 and len(bot.sandbox.shared_files) == 1


def test_job_and_as_of_replays_post_once(bot):
    summary = run_job(bot.runtime, "post-digest", "payments", now=NOW, notifier=SlackNotifier(bot.runtime.slack))
    assert "posted" in summary
    for later in (NOW + timedelta(hours=5), NOW + timedelta(days=2)):  # --as-of the same week: already posted
        again = run_job(bot.runtime, "post-digest", "payments", now=later, notifier=SlackNotifier(bot.runtime.slack))
        assert "already posted" in again
    assert len(channel_posts(bot)) == 1
    # A replay far in the past posts that week's digest once, and only once.
    old = NOW - timedelta(weeks=30)
    assert "posted" in run_job(bot.runtime, "post-digest", "payments", now=old, notifier=SlackNotifier(bot.runtime.slack))
    assert "already" in run_job(bot.runtime, "post-digest", "payments", now=old, notifier=SlackNotifier(bot.runtime.slack))
    assert len(channel_posts(bot)) == 2


def test_dry_run_sends_and_keeps_nothing(bot):
    printed: list[str] = []
    summary = run_job(bot.runtime, "post-digest", "payments", now=NOW, dry_run=True,
                      notifier=RecordingNotifier(printed.append))
    assert "nothing sent" in summary and channel_posts(bot) == []
    assert any("Weekly digest: payments, 2026-W48" in line for line in printed)


# --- the command line (a real process, as a user runs it)


def _cli(args, env):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], env=same_clock(env), capture_output=True, text=True,
                          timeout=180)


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_cli_backfill_then_show_text_and_json(tmp_path, mode):
    from zoneinfo import ZoneInfo

    from govbot.domain.digest import last_full_week
    from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL, DC_PAT

    now = datetime.now(UTC)  # the CLI reads the clock; the sandbox is seeded relative to the same clock
    with JiraSandbox(mode=mode, now=now) as jira:
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
               "GOVBOT_SECRET_KEY": "cli-test-key-0123456789", "JIRA_URL": jira.url}
        env.update({"JIRA_EMAIL": CLOUD_EMAIL, "JIRA_API_TOKEN": CLOUD_API_TOKEN} if mode == "cloud"
                   else {"JIRA_PAT": DC_PAT})
        assert _cli(["db", "upgrade"], env).returncode == 0
        assert _cli(["team", "import", str(EXAMPLE)], env).returncode == 0
        first = _cli(["digest", "backfill", "--team", "payments", "--weeks", "4"], env)
        assert first.returncode == 0, first.stderr
        assert "4 week(s) filled, 0 already kept" in first.stdout
        again = _cli(["digest", "backfill", "--team", "payments", "--weeks", "4"], env)
        assert "0 week(s) filled, 4 already kept" in again.stdout
        week = last_full_week(now, ZoneInfo("Europe/Berlin"))
        shown = _cli(["digest", "show", "--team", "payments", "--format", "json"], env)
        assert shown.returncode == 0, shown.stderr
        data = json.loads(shown.stdout)
        assert data["team"] == "payments" and data["week"] == week.label
        assert data["review_queue"] is not None and data["velocity"]["unit"] == "points"
        older = _cli(["digest", "show", "--team", "payments", "--week", week.shifted(-2).label], env)
        assert older.stdout.startswith(f"Weekly digest: payments, {week.shifted(-2).label}")
        bad = _cli(["digest", "show", "--team", "payments", "--week", "2026-47"], env)
        assert bad.returncode == 1 and "YYYY-Www" in bad.stderr and "Traceback" not in bad.stderr
        future = _cli(["digest", "show", "--team", "payments", "--week", week.shifted(2).label], env)
        assert future.returncode == 1 and "has not ended yet" in future.stderr
        nobody = _cli(["digest", "backfill", "--team", "nobody"], env)
        assert nobody.returncode == 1 and "no team is named" in nobody.stderr


def test_cli_show_without_jira_names_what_is_missing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "GOVBOT_SECRET_KEY": "cli-test-key-0123456789"}
    assert _cli(["db", "upgrade"], env).returncode == 0
    assert _cli(["team", "import", str(EXAMPLE)], env).returncode == 0
    shown = _cli(["digest", "show", "--team", "payments", "--format", "json"], env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["velocity"] is None and "velocity" in data["missing"] and "refactoring" in data["missing"]
