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
