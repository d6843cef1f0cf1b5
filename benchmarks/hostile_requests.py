"""Benchmark: hostile Slack requests over HTTP, and how command parsing grows with the text.

The real bot runs over HTTP against the Slack sandbox on SQLite. For each kind of hostile request (an unknown
action or view id, a survey button whose value overflows the database's integers, JSON nested thousands deep, an
event with a number where an id belongs, an overlong slash-command text) it sends a few signed requests and prints
the answers' statuses and the slowest answer (Slack gives up after 3 s). Then it times the split of a slash-command
text of 10 KB, 40 KB and 200 KB and prints the time per KB against the 10 KB baseline (a ratio near 1 is linear
growth, a ratio that grows with the size is not), and the split of one long word against ``shlex.split``.

Run: ``.venv/bin/python benchmarks/hostile_requests.py [--quick]`` (about 20 s; ``--quick`` or BENCH_QUICK=1:
fewer requests, about 10 s). It exits 1 only when an answer was not the one promised, never because the machine
is slow.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.ids import ActionId
from govbot.config import load_settings
from govbot.core.commands import split_words
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import build_runtime, create_bolt_app
from govbot.sandbox.harness import BotServer
from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, SimResponse, SlackRequestSimulator

SIGNING_SECRET = "benchmark-signing-secret-0123456789"
BOT_TOKEN = "xoxb-benchmark-token"
KEY = "benchmark-secret-key-0123456789"
USER = "U0SOMEONE1"
TEAM_FILE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"


def _rows(sim: SlackRequestSimulator) -> list[tuple[str, set[int], Callable[[int], SimResponse]]]:
    """(what is sent, the statuses promised, how to send the n-th one)."""
    nested = '{"a":' * 5000 + "1" + "}" * 5000
    return [
        ("unknown action / view id", {200}, lambda n: (
            sim.block_action(user_id=USER, action_id=f"digest_preview_{n % 3}", value="1") if n % 2 else
            sim.view_submission(user_id=USER, callback_id=f"refactor_skip_{n % 3}", values={}))),
        ("survey_open value >= 2^63", {200}, lambda n: sim.block_action(
            user_id=USER, action_id=ActionId.SURVEY_OPEN, value=str(2**63 + n), channel_id="D0SOMEONE1")),
        ("JSON nested 5,000 deep", {400}, lambda n: sim.post_raw(
            ('{"type": "event_callback", "event": ' + nested + "}").encode(), content_type=JSON_CONTENT_TYPE)),
        ("event with a number for an id", {400}, lambda n: sim.event(
            {"type": "app_home_opened", "user": 12345 + n, "tab": "home"})),
        ("200 KB slash-command text", {200}, lambda n: sim.post_raw(urlencode({
            "command": "/govbot", "text": "status " + "x" * 200_000, "user_id": USER, "channel_id": "C0RANDOM01",
            "response_url": sim.sandbox.new_response_url() if sim.sandbox else ""}).encode(),
            content_type=FORM_CONTENT_TYPE)),
    ]


def _timed(work: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - started) / repeat


def _parse_seconds(size: int, repeat: int) -> float:
    piece = 'word --opt "a quoted \\" phrase" \\x '
    text = ("survey start " + piece * (size // len(piece) + 1))[:size]
    started = time.perf_counter()
    for _ in range(repeat):
        split_words(text)
    return (time.perf_counter() - started) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    args = parser.parse_args()
    per_row = 10 if args.quick else 40
    print(f"hostile_requests: {per_row} requests per row over HTTP, then command parsing "
          f"(about {10 if args.quick else 20} s)")
    workdir = Path(tempfile.mkdtemp(prefix="govbot-bench-hostile-"))
    sandbox = SlackSandbox(bot_token=BOT_TOKEN).start()
    failed = False
    try:
        url = f"sqlite:///{workdir / 'govbot.db'}"
        upgrade(url)
        settings = load_settings(sandbox=True, DATABASE_URL=url, SLACK_BOT_TOKEN=BOT_TOKEN,
                                 SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=sandbox.api_url,
                                 GOVBOT_SECRET_KEY=KEY)
        runtime = build_runtime(settings)
        with session_scope(runtime.engine) as session:
            apply_specs(session=session, key=runtime.key, now=datetime.now(UTC), actor="bench",
                        specs=parse_team_file(TEAM_FILE), source="bench")
        with BotServer(runtime, create_bolt_app(runtime)) as server:
            sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=sandbox)
            print(f"{'what was sent':34} {'answers':22} {'slowest':>8}")
            for label, promised, send in _rows(sim):
                statuses: Counter[int] = Counter()
                slowest = 0.0
                for n in range(per_row):
                    answer = send(n)
                    statuses[answer.status] += 1
                    slowest = max(slowest, answer.elapsed)
                ok = set(statuses) <= promised
                failed |= not ok
                shown = ", ".join(f"{count}x {status}" for status, count in sorted(statuses.items()))
                print(f"{label:34} {shown:22} {slowest:7.3f}s {'ok' if ok else 'NOT AS PROMISED'}")
        _parse_seconds(10_000, 5)  # warm up
        timed = {size: _parse_seconds(size, 20 if size < 100_000 else 5) for size in (10_000, 40_000, 200_000)}
        base = timed[10_000] / 10
        print("command parsing (split of the text), time per KB against 10 KB:")
        for size, seconds in timed.items():
            print(f"  {size // 1000:4} KB: {seconds * 1000:8.2f} ms  ({seconds / (size / 1000) / base:.2f}x per KB)")
        print("one long word, govbot's split against shlex.split (which grows a word by string concatenation):")
        for size in (10_000, 40_000, 200_000):
            word = "status " + "x" * size
            ours = _timed(lambda text=word: split_words(text), 3)
            theirs = _timed(lambda text=word: shlex.split(text), 1)
            print(f"  {size // 1000:4} KB: {ours * 1000:8.2f} ms against {theirs * 1000:8.1f} ms")
        if failed:
            print("some answers were not as promised")
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
