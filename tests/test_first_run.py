"""A new user's first steps on a fresh clone: each of these once ended in a traceback, a hang or a lost file."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import drop_pg_database, new_pg_database, require_pg

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"


def _cli(args, env, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


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
