"""The suite does not depend on the day it runs: the job's ``now`` decides, the wall clock only times leases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govbot.core import delivery as ledger
from tests.clock_lifecycle import EXPECTED, run_life_cycle

ROOT = Path(__file__).resolve().parent.parent
FAR_AWAY = {"future": datetime(2034, 6, 1, 12, 0, tzinfo=UTC), "past": datetime(2017, 2, 1, 12, 0, tzinfo=UTC)}


@pytest.mark.parametrize("when", sorted(FAR_AWAY))
def test_life_cycle_with_the_lease_clock_far_away(db_url, monkeypatch, when):
    monkeypatch.setattr(ledger, "wall_clock", lambda: FAR_AWAY[when])
    assert run_life_cycle(db_url) == EXPECTED


@pytest.mark.parametrize("when", sorted(FAR_AWAY))
def test_life_cycle_under_faketime(tmp_path, when):
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    stamp = FAR_AWAY[when].strftime("%Y-%m-%d %H:%M:%S")
    url = f"sqlite:///{tmp_path / 'govbot.db'}"
    # libfaketime also fakes the monotonic clock, but not the timed waits Python builds on it, so a timed wait
    # (a thread join, a server shutdown) would never end: only the wall clock is moved, which is what matters.
    # When the whole suite already runs under faketime (`make test-clock`), start this one from the true clock.
    outer = {name for name in os.environ if name.startswith("FAKETIME") or name == "LD_PRELOAD"}
    env = {**{k: v for k, v in os.environ.items() if k not in outer}, "TZ": "UTC", "DONT_FAKE_MONOTONIC": "1"}
    result = subprocess.run([faketime, stamp, sys.executable, "-m", "tests.clock_lifecycle", url], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome.pop("wall_clock").startswith(FAR_AWAY[when].strftime("%Y-%m-%d"))  # faketime took effect
    assert outcome == EXPECTED
