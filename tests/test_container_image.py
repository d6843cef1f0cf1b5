"""The container image, checked without a container engine: what the Dockerfile promises (a pinned base, a
non-root user, govbot as entrypoint, no secret baked in, only the package in the build context), and the build
itself as the Dockerfile does it: wheels of govbot and its dependencies, installed into a clean virtualenv with
no index, give a working `govbot --version`."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from govbot.config import ENV_NAMES
from tests.conftest import FAKED_CLOCK

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
SECRET_VARIABLES = {"DATABASE_URL", "GOVBOT_SECRET_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                    "SLACK_APP_TOKEN", "JIRA_API_TOKEN", "JIRA_PAT"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in lines if line and not line.startswith("#")]


def build_args() -> dict[str, str]:
    return dict(arg.split("=", 1) for kind, arg in instructions() if kind == "ARG" and "=" in arg)


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for kind, args in instructions():
        if kind == "FROM":
            result.append([])
        if result:
            result[-1].append((kind, args))
    return result


def test_the_base_image_is_pinned_by_version_or_digest():
    args = build_args()
    froms = [args_ for kind, args_ in instructions() if kind == "FROM"]
    assert len(froms) >= 2, "a multi-stage build: wheels first, then the runtime"
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert image.startswith("python:3.11"), image
        pinned_version = re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image)
        assert pinned_version, f"{image} is not pinned to a full Python version (or a digest)"


def test_the_runtime_stage_runs_govbot_as_a_non_root_user_without_secrets():
    final = stages()[-1]
    users = [args for kind, args in final if kind == "USER"]
    assert users, "the final stage must switch to an unprivileged user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    assert user.isdigit(), "a numeric user lets Kubernetes' runAsNonRoot check it"
    (entrypoint,) = [args for kind, args in final if kind == "ENTRYPOINT"]
    assert entrypoint == '["govbot"]'
    # Only the wheels reach the runtime stage, never the source tree or a pip cache.
    assert not [args for kind, args in final if kind in ("COPY", "ADD") and "--from" not in args]
    everything = " ".join(args for _, args in instructions())
    for name in SECRET_VARIABLES:
        assert not re.search(rf"\b{name}\s*=", everything), f"{name} must come from the environment at run time"
    env = " ".join(args for kind, args in final if kind == "ENV")
    assert "HOME=/tmp" in env and "PYTHONDONTWRITEBYTECODE=1" in env, "the root filesystem stays read-only"
    assert set(SECRET_VARIABLES) <= set(ENV_NAMES.values())


def test_the_build_context_leaves_local_state_out():
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "an allow-list: anything not named stays out of the context"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for kind, args in stages()[0]:
        if kind == "COPY" and "--from" not in args:
            copied.update(part.rstrip("/") for part in shlex.split(args)[:-1])
    assert copied == allowed, "the build stage copies exactly what the context lets in"


@pytest.mark.timeout(600)
@pytest.mark.skipif(bool(FAKED_CLOCK), reason="building the wheel fetches its build tools from the package index, "
                    "whose TLS certificates are not valid at a faked date")
def test_the_wheel_installs_into_a_clean_virtualenv_and_runs(tmp_path):
    """What the two stages run, outside a container (pip may reuse its local cache)."""
    (build_run,) = [args for kind, args in stages()[0] if kind == "RUN"]
    assert "pip wheel --wheel-dir /wheels ." in build_run
    install_runs = [args for kind, args in stages()[-1] if kind == "RUN"]
    assert any("pip install --no-index --find-links /wheels govbot" in run for run in install_runs)

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), str(ROOT)],
                   check=True, cwd=tmp_path, timeout=600)
    assert list(wheels.glob("govbot-*.whl"))
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    subprocess.run([target / "bin" / "pip", "install", "--quiet", "--no-compile", "--no-index", "--find-links",
                    str(wheels), "govbot"], check=True, timeout=600)
    # Run from an empty folder with HOME there too: nothing of the source tree or the developer's home is used.
    env = {"PATH": f"{target / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    version = subprocess.run([target / "bin" / "govbot", "--version"], capture_output=True, text=True,
                             cwd=tmp_path, env=env, timeout=60)
    assert version.returncode == 0, version.stderr
    assert re.search(r"\b\d+\.\d+\.\d+\b", version.stdout), version.stdout
    help_text = subprocess.run([target / "bin" / "govbot", "db", "--help"], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=60)
    assert help_text.returncode == 0 and "upgrade" in help_text.stdout, help_text.stderr


