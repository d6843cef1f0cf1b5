"""`govbot demo` plays every step against the sandbox and exits 0."""

from __future__ import annotations

from rich.console import Console

from govbot.demo import run_demo


def test_demo_runs_every_step(tmp_path):
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    code = run_demo(tmp_path / "out", console=console)
    transcript = console.export_text()
    assert code == 0, transcript
    assert "step failed" not in transcript
    assert "/govbot help → HTTP 200" in transcript
    assert "forged signature → HTTP 401" in transcript
    assert "chain intact" in transcript
    assert "settings.update: before {'refactor_every': 3} → after {'refactor_every': 4}" in transcript
    assert (tmp_path / "out" / "audit.jsonl").exists()
    # two-track staffing: one violation of each rule, nothing new on the second run, a nudge answered by a click,
    # an acknowledgement with a reason, and the relabelled violations resolved (lines may wrap in the transcript)
    flat = " ".join(transcript.split())
    assert "staffing rules: 6 violation(s) now (6 opened)" in flat
    assert "0 DMs on the second run" in flat
    assert "is now human-first (chosen by <@U0MIDLVL03>)" in flat
    assert "violation.acknowledge by U0MANAGER1" in flat
    assert "staffing rules: 3 violation(s) now (3 resolved)" in flat
    assert (tmp_path / "out" / "violations.json").exists()


def test_the_example_team_file_ships_with_the_package():
    """`govbot demo` reads its team file from the package, so an installed govbot needs no checkout."""
    import tomllib
    from pathlib import Path

    from govbot.demo import EXAMPLE_TEAMS

    root = Path(__file__).resolve().parent.parent
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert EXAMPLE_TEAMS.relative_to(root / "govbot").as_posix() in package_data["govbot"]
    # manifests/ keeps the readers' copy (`govbot team import manifests/teams.example.yaml`): the same file.
    assert (root / "manifests" / "teams.example.yaml").read_text() == EXAMPLE_TEAMS.read_text()
