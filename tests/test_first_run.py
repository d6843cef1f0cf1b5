"""A new user's first steps on a fresh clone: each of these once ended in a traceback, a hang or a lost file."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import drop_pg_database, new_pg_database, require_pg, same_clock

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"


def _cli(args, env, cwd=None, timeout=120, preexec_fn=None):
    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], env=same_clock(env), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec_fn)


def _env(tmp_path, **extra):
    return {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'govbot.db'}",
            "GOVBOT_SECRET_KEY": "first-run-key-0123456789", **extra}


def test_version_prints_the_installed_version(tmp_path):
    result = _cli(["--version"], _env(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip() == f"govbot {version('govbot')}"


# --- a command on a database without govbot's schema


def _one_line_no_traceback(result):
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "no such table" not in result.stderr + result.stdout


@pytest.mark.parametrize("args,expected", [
    (["team", "list"], "no teams yet"),
    (["team", "show", "payments"], "no team is named 'payments'"),
    (["audit", "verify"], "audit chain intact: 0 events"),
    (["violations", "list", "--team", "payments"], "no team is named 'payments'"),
    (["digest", "show", "--team", "payments"], "no team is named 'payments'"),
    (["run-job", "plan-sprints", "--team", "payments"], "no team is named 'payments'"),
])
def test_a_command_on_a_new_sqlite_database_creates_the_schema(tmp_path, args, expected):
    result = _cli(args, _env(tmp_path))
    _one_line_no_traceback(result)
    assert expected in result.stdout + result.stderr


def test_team_import_on_a_new_sqlite_database(tmp_path):
    result = _cli(["team", "import", str(EXAMPLE)], _env(tmp_path))
    _one_line_no_traceback(result)
    assert result.returncode == 0 and "created 1" in result.stdout
    listed = _cli(["team", "list"], _env(tmp_path))
    assert listed.returncode == 0 and "payments" in listed.stdout


@pytest.mark.postgres
def test_a_command_on_postgres_without_schema_says_to_run_db_upgrade(tmp_path):
    require_pg()
    url, name = new_pg_database()
    try:
        env = _env(tmp_path, DATABASE_URL=url)
        for args in (["team", "list"], ["audit", "verify"], ["run-job", "send-survey", "--team", "payments"]):
            result = _cli(args, env)
            _one_line_no_traceback(result)
            assert result.returncode != 0
            assert "govbot db upgrade" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert _cli(["db", "upgrade"], env).returncode == 0
        listed = _cli(["team", "list"], env)
        assert listed.returncode == 0 and "no teams yet" in listed.stdout
    finally:
        drop_pg_database(name)


# --- team files: limits, encoding, and errors in the project's words

TEAM = """teams:
  - name: payments
    jira_board_id: 12
    jira_project: PAY
    digest_channel: C0PAYMENTS1
    timezone: Europe/Berlin
    managers: [U0MANAGER1]
    members:
      - {slack: U0SENIOR01, jira: 5b10ac8d82e05b22cc7d4ef5, seniority: senior}
"""


def _import_text(tmp_path, text, **kwargs):
    path = tmp_path / "teams.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return _cli(["team", "import", str(path)], _env(tmp_path), **kwargs)


def _refused(result, expected):
    _one_line_no_traceback(result)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "nothing was imported" in result.stderr


def _limited_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a missing cap fails here instead of eating RAM


@pytest.mark.timeout(60)
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    lines = ['bomb0: &b0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):  # 10**9 values once expanded
        lines.append(f"bomb{level}: &b{level} [" + ", ".join([f"*b{level - 1}"] * 10) + "]")
    text = "\n".join(lines) + "\n" + TEAM + "    settings:\n      zones: {1: *b8}\n"
    result = _import_text(tmp_path, text, timeout=30, preexec_fn=_limited_memory)
    _refused(result, "more than 100,000 values once its YAML aliases are expanded")


@pytest.mark.timeout(60)
def test_a_deeply_nested_team_file_is_refused(tmp_path):
    text = TEAM + "    settings:\n      zones: {1: " + "[" * 60 + "]" * 60 + "}\n"
    _refused(_import_text(tmp_path, text, timeout=30, preexec_fn=_limited_memory), "nests more than 50 levels")


def test_a_team_file_over_2_mb_is_refused(tmp_path):
    text = TEAM + "# " + "x" * (2 * 1024 * 1024) + "\n"
    _refused(_import_text(tmp_path, text), "larger than 2 MB")


def test_a_binary_team_file_is_not_utf8_text(tmp_path):
    _refused(_import_text(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"), "is not a UTF-8 text file")


@pytest.mark.parametrize("change,expected", [
    (("managers: [U0MANAGER1]", "managers: U0MANAGER1"),
     "`managers` must be a list of Slack user ids like U0123ABCD"),
    (("managers: [U0MANAGER1]", "managers: [U0MANAGER1, [x]]"),
     "`managers` entry 2 must be a Slack user id like U0123ABCD"),
    (("managers: [U0MANAGER1]", "managers: []"), "`managers` must list at least one Slack user id like U0123ABCD"),
    (("seniority: senior", "seniority: principal"), "in `members` entry 1, `seniority` must be junior, mid or senior"),
    (("jira_board_id: 12", "jira_board_id: twelve"), "`jira_board_id` must be a Jira board id, a whole number"),
    (("jira: 5b10ac8d82e05b22cc7d4ef5", "jira: ''"), "in `members` entry 1, `jira` must be the member's Jira account"),
    (("members:", "members: {}\n    old_members:"), "`members` must be a list of members like"),
    (("timezone: Europe/Berlin", "timezone: Europe/Berlin\n    settings: {jira_comments: maybe}"),
     "`settings.jira_comments` must be true or false"),
])
def test_validation_errors_read_as_sentences_about_the_yaml(tmp_path, change, expected):
    old, new = change
    result = _import_text(tmp_path, TEAM.replace(old, new, 1))
    _one_line_no_traceback(result)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr
    for pydantic_words in ("Input should be", "valid list", "managers.0", "members.0"):
        assert pydantic_words not in result.stderr


# --- govbot demo --out: never deletes what it did not write


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.md").write_text("my notes")
    result = _cli(["demo", "--out", str(out)], _env(tmp_path))
    _one_line_no_traceback(result)
    assert result.returncode != 0 and "is not empty and was not made by `govbot demo`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.md"] and (out / "notes.md").read_text() == "my notes"


def test_demo_out_dot_keeps_the_working_directory(tmp_path):
    (tmp_path / "README.md").write_text("a project")
    result = _cli(["demo", "--out", "."], _env(tmp_path), cwd=tmp_path)
    assert result.returncode != 0 and "was not made by `govbot demo`" in result.stderr
    assert (tmp_path / "README.md").read_text() == "a project"


def test_demo_rerun_deletes_only_the_files_it_wrote(tmp_path):
    out = tmp_path / "govbot-demo"
    first = _cli(["demo", "--out", str(out)], _env(tmp_path))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    marker = out / ".govbot-demo"
    written = marker.read_text().splitlines()
    assert "demo.txt" in written and "govbot.db" in written
    (out / "notes.md").write_text("mine")  # the user's, next to govbot's
    (out / "stale.txt").write_text("from an older run")  # govbot's, listed in its marker
    (tmp_path / "outside.txt").write_text("not in the folder")
    marker.write_text(marker.read_text() + "stale.txt\n../outside.txt\n")
    second = _cli(["demo", "--out", str(out)], _env(tmp_path))
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr
    assert (out / "notes.md").read_text() == "mine"
    assert not (out / "stale.txt").exists()
    assert (tmp_path / "outside.txt").read_text() == "not in the folder"
    assert "notes.md" not in marker.read_text().splitlines() and (out / "demo.txt").exists()


# --- plan-sprints --dry-run: dates a person reads


def test_plan_sprints_dry_run_prints_readable_dates(tmp_path):
    from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL, JiraSandbox

    now = datetime(2026, 11, 25, 10, 0, 30, 123456, tzinfo=UTC)
    jira = JiraSandbox(mode="cloud", now=now).start()
    try:
        env = _env(tmp_path, JIRA_URL=jira.url, JIRA_EMAIL=CLOUD_EMAIL, JIRA_API_TOKEN=CLOUD_API_TOKEN)
        assert _cli(["team", "import", str(EXAMPLE)], env).returncode == 0
        result = _cli(["run-job", "plan-sprints", "--team", "payments", "--dry-run", "--as-of", now.isoformat()], env)
    finally:
        jira.stop()
    _one_line_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "would call Jira create_sprint" in result.stdout
    assert re.search(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Nov|Dec|Jan) 202[67]", result.stdout), result.stdout
    assert "datetime.datetime" not in result.stdout and not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", result.stdout)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", result.stdout), result.stdout


# --- govbot team list shows each value whole


def test_team_list_shows_a_long_timezone_whole(tmp_path):
    env = _env(tmp_path, COLUMNS="80")
    text = TEAM.replace("timezone: Europe/Berlin", "timezone: America/Argentina/Buenos_Aires")
    path = tmp_path / "teams.yaml"
    path.write_text(text.replace("name: payments", "name: payments-and-billing-platform"), encoding="utf-8")
    assert _cli(["team", "import", str(path)], env).returncode == 0
    listed = _cli(["team", "list"], env)
    assert listed.returncode == 0
    assert "America/Argentina/Buenos_Aires" in listed.stdout, listed.stdout
    assert "payments-and-billing-platform" in listed.stdout, listed.stdout


# --- govbot serve starts without warnings about its own wiring


@pytest.mark.timeout(90)
def test_serve_starts_without_a_token_warning(tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path, SLACK_BOT_TOKEN="xoxb-first-run", SLACK_SIGNING_SECRET="first-run-signing-secret-0123",
               GOVBOT_PORT=str(port), SLACK_API_URL="http://127.0.0.1:9/api/")
    process = subprocess.Popen([sys.executable, "-m", "govbot.cli", "serve", "--no-scheduler", "--host", "127.0.0.1"],
                               env=same_clock(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    output = stdout + stderr
    assert "Application startup complete" in output or "Uvicorn running" in output or process.returncode == 0, output
    assert "will be unused" not in output and "will be ignored" not in output, output
    assert "WARNING" not in output, output


# --- govbot audit verify with another GOVBOT_SECRET_KEY


def test_audit_verify_with_another_key_says_the_key_may_be_wrong(tmp_path):
    assert _cli(["team", "import", str(EXAMPLE)], _env(tmp_path)).returncode == 0
    result = _cli(["audit", "verify"], _env(tmp_path, GOVBOT_SECRET_KEY="another-key-9876543210abcdef"))
    _one_line_no_traceback(result)
    assert result.returncode == 1
    assert "event 1 was signed with key" in result.stderr and "GOVBOT_VERIFY_SECRET_KEYS" in result.stderr
    assert "edited" not in result.stderr, result.stderr


# --- surveys from the command line: the next occurrence, and `govbot survey start`

NOT_DUE = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday: the fortnightly Thursday survey is not due


@pytest.fixture
def slack_env(tmp_path):
    from govbot.sandbox.slack_api import SlackSandbox

    sandbox = SlackSandbox(bot_token="xoxb-first-run").start()
    env = _env(tmp_path, SLACK_BOT_TOKEN="xoxb-first-run", SLACK_SIGNING_SECRET="first-run-signing-secret-0123",
               SLACK_API_URL=sandbox.api_url)
    assert _cli(["team", "import", str(EXAMPLE)], env).returncode == 0
    yield sandbox, env
    sandbox.stop()


def _invitations(sandbox) -> dict[str, int]:
    """How many survey invitations each member got."""
    sent: dict[str, int] = {}
    for call in sandbox.calls_of("chat.postMessage"):
        if not call.failed and "survey_open" in str(call.body.get("blocks")):
            sent[call.body["channel"]] = sent.get(call.body["channel"], 0) + 1
    return sent


def test_send_survey_when_none_is_due_names_the_next_and_the_command(slack_env):
    from govbot.domain.schedule import anchor_in, next_after
    from govbot.features.surveys.messages import when_text
    from govbot.teamconfig import DEFAULT_SURVEY_RRULE

    sandbox, env = slack_env
    result = _cli(["run-job", "send-survey", "--team", "payments", "--as-of", NOT_DUE.isoformat()], env)
    _one_line_no_traceback(result)
    assert result.returncode == 0, result.stderr
    upcoming = next_after(DEFAULT_SURVEY_RRULE, tz="Europe/Berlin", after=NOT_DUE, anchor=anchor_in("Europe/Berlin"))
    flat = " ".join(result.stdout.split())
    assert "no survey is due" in flat and when_text(upcoming, "Europe/Berlin") in flat, flat
    assert "govbot survey start --team payments" in flat
    assert _invitations(sandbox) == {}


def test_survey_start_invites_each_member_once_when_run_twice(slack_env):
    sandbox, env = slack_env
    first = _cli(["survey", "start", "--team", "payments"], env)
    _one_line_no_traceback(first)
    assert first.returncode == 0, first.stderr
    assert "8 invitations sent" in " ".join(first.stdout.split()), first.stdout
    second = _cli(["survey", "start", "--team", "payments"], env)
    _one_line_no_traceback(second)
    assert "already open" in second.stdout + second.stderr
    sent = _invitations(sandbox)
    assert len(sent) == 8 and set(sent.values()) == {1}, sent


def test_survey_start_after_the_job_sends_no_second_invitation(slack_env):
    from govbot.domain.schedule import anchor_in, next_after
    from govbot.teamconfig import DEFAULT_SURVEY_RRULE

    sandbox, env = slack_env
    due = next_after(DEFAULT_SURVEY_RRULE, tz="Europe/Berlin", after=NOT_DUE, anchor=anchor_in("Europe/Berlin"))
    job = _cli(["run-job", "send-survey", "--team", "payments", "--as-of", due.isoformat()], env)
    assert job.returncode == 0 and "started" in job.stdout, job.stdout + job.stderr
    from govbot.features.surveys.messages import when_text

    flat = " ".join(job.stdout.split())
    assert when_text(due, "Europe/Berlin") in flat and "rrule:" not in flat, "the occurrence as the team reads it"
    again = _cli(["survey", "start", "--team", "payments"], env)
    _one_line_no_traceback(again)
    assert "already open" in again.stdout + again.stderr
    sent = _invitations(sandbox)
    assert len(sent) == 8 and set(sent.values()) == {1}, sent


def test_survey_start_as_of_records_that_time_and_refuses_a_time_that_is_not_one(slack_env):
    from sqlalchemy import create_engine, text

    sandbox, env = slack_env
    bad = _cli(["survey", "start", "--team", "payments", "--as-of", "next thursday"], env)
    _one_line_no_traceback(bad)
    assert bad.returncode == 1 and "is not an ISO time such as" in bad.stderr
    assert _invitations(sandbox) == {}, "nothing was sent on a bad --as-of"

    result = _cli(["survey", "start", "--team", "payments", "--as-of", "2027-03-04T10:00:00+01:00"], env)
    _one_line_no_traceback(result)
    assert result.returncode == 0, result.stderr
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        opened = connection.execute(text("SELECT opened_at FROM survey")).scalar_one()
    engine.dispose()
    assert str(opened).startswith("2027-03-04 09:00:00"), opened  # stored in UTC
    assert len(_invitations(sandbox)) == 8
