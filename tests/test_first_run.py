"""A new user's first steps on a fresh clone: each of these once ended in a traceback, a hang or a lost file."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


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
