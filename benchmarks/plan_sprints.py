"""Benchmark (not a test): `plan-sprints` for many teams against one Jira sandbox with network-like latency.

Each team gets its own Scrum board with an active sprint. The first run plans every board (reads it, anchors
the cadence, creates the horizon's sprints); the second run finds every board in line and writes nothing. For
each run it prints the Jira requests (counted by the tracker, and by the sandbox as a cross-check), the writes,
and the wall-clock seconds.

    .venv/bin/python benchmarks/plan_sprints.py [--quick] [--teams 200] [--latency 0.05]
                                                [--mode cloud|datacenter] [--workers 1 --workers 10]

It runs with 1 and with 10 workers (about 2 minutes in all; ``--quick`` or BENCH_QUICK=1: 20 teams, about 15 s).
The baseline is measured in the same run: a bare Jira round trip (serverInfo), so "1.2x the round-trip floor"
means planning spent 20% more than the Jira calls it made would take back to back on their own.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govbot.adapters.db.migrate import upgrade  # noqa: E402
from govbot.adapters.db.session import session_scope  # noqa: E402
from govbot.adapters.slack.notifier import RecordingNotifier  # noqa: E402
from govbot.adapters.tracker import JiraTracker  # noqa: E402
from govbot.config import load_settings  # noqa: E402
from govbot.features.teams.service import apply_specs  # noqa: E402
from govbot.runtime import (
    build_runtime,  # noqa: E402
    run_job,  # noqa: E402
)
from govbot.sandbox.jira_api import JiraSandbox  # noqa: E402
from govbot.sandbox.jira_seed import STORY_POINTS_FIELD  # noqa: E402
from govbot.teamconfig import TeamSpec  # noqa: E402

FIRST_BOARD_ID = 1000
TEAMS = 200
QUICK_TEAMS = 20
KEY = "benchmark-secret-key-0123456789"


def seed_boards(jira: JiraSandbox, teams: int, now: datetime) -> None:
    """One Scrum board per team, each with a closed and an active two-week sprint."""
    start = (now - timedelta(days=4)).replace(hour=9, minute=0, second=0, microsecond=0)
    for index in range(teams):
        board_id = FIRST_BOARD_ID + index
        jira.add_board(id=board_id, name=f"Team {index:03d}", estimation_field=STORY_POINTS_FIELD)
        jira.add_sprint(board_id=board_id, name=f"T{index:03d} Sprint 9", state="closed",
                        start=start - timedelta(days=14), end=start, complete=start)
        jira.add_sprint(board_id=board_id, name=f"T{index:03d} Sprint 10", state="active", start=start,
                        end=start + timedelta(days=14))


def team_specs(teams: int) -> list[TeamSpec]:
    """The governed teams, one per board."""
    return [
        TeamSpec(name=f"team-{index:03d}", jira_board_id=FIRST_BOARD_ID + index, jira_project="PAY",
                 digest_channel="C0BENCH0001", timezone="Europe/Berlin", managers=["U0MANAGER1"])
        for index in range(teams)
    ]


def bare_round_trip(jira: JiraSandbox, samples: int = 20) -> float:
    """Seconds one bare Jira request takes (serverInfo on a kept-alive connection): the per-call floor."""
    with requests.Session() as http:
        http.get(f"{jira.url}/rest/api/2/serverInfo", timeout=10)
        started = time.perf_counter()
        for _ in range(samples):
            http.get(f"{jira.url}/rest/api/2/serverInfo", timeout=10)
        return (time.perf_counter() - started) / samples


def run_once(args: argparse.Namespace, workers: int) -> None:
    """Plan every board twice with ``workers`` threads, on a fresh sandbox and database; print each run."""
    now = datetime.now(UTC)
    jira = JiraSandbox(mode=args.mode, now=now).start()
    seed_boards(jira, args.teams, now)
    with tempfile.TemporaryDirectory(prefix="govbot-bench-") as folder:
        url = f"sqlite:///{folder}/govbot.db"
        upgrade(url)
        settings = load_settings(sandbox=True, DATABASE_URL=url, GOVBOT_SECRET_KEY=KEY,
                                 SLACK_API_URL="http://127.0.0.1:9/api/")
        tracker = JiraTracker(url=jira.url, **jira.credentials)
        runtime = build_runtime(settings, clock=lambda: now, tracker_factory=lambda: tracker)
        specs = team_specs(args.teams)
        with session_scope(runtime.engine) as session:
            apply_specs(session=session, key=runtime.key, now=now, actor="benchmark", specs=specs,
                        source="benchmark")
        jira.set_latency(args.latency)
        baseline = bare_round_trip(jira)
        notifier = RecordingNotifier(echo=lambda _line: None)

        def plan(spec: TeamSpec) -> str:
            return run_job(runtime, "plan-sprints", spec.name, now=now, notifier=notifier, echo=lambda _l: None)

        print(f"{workers} worker(s): a bare Jira round trip takes {baseline * 1000:.1f} ms (measured now)")
        for label in ("first run", "second run (no-op)"):
            calls, served = tracker.calls, len(jira.calls)
            writes = len(jira.calls_to("/rest/agile/1.0/sprint", "POST"))
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                summaries = list(pool.map(plan, specs))
            seconds = time.perf_counter() - started
            made = tracker.calls - calls
            wrote = len(jira.calls_to("/rest/agile/1.0/sprint", "POST")) - writes
            unchanged = sum("nothing to change" in s for s in summaries)
            floor = made * baseline / workers
            print(f"  {label:<19} {made:>6} Jira calls ({len(jira.calls) - served} served, "
                  f"{made / args.teams:.2f}/team), {wrote:>4} writes, {seconds:7.2f} s = "
                  f"{seconds / floor if floor else 0:.2f}x the round-trip floor of {floor:.2f} s, "
                  f"{unchanged} team(s) unchanged")
        tracker.close()
        runtime.engine.dispose()
    jira.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=None, help=f"default {TEAMS} ({QUICK_TEAMS} with --quick)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per request")
    parser.add_argument("--mode", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--workers", type=int, action="append",
                        help="teams planned in parallel; repeatable (default: 1 and 10)")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help=f"{QUICK_TEAMS} teams instead of {TEAMS} (also BENCH_QUICK=1)")
    args = parser.parse_args(argv)
    args.teams = args.teams or (QUICK_TEAMS if args.quick else TEAMS)
    workers = args.workers or [1, 10]
    logging.basicConfig(level=logging.WARNING)

    # Each team costs 9 calls over both runs; one worker waits for every one of them.
    expected = sum(9 * args.teams * args.latency / w for w in workers) * 1.1
    print(f"plan-sprints for {args.teams} teams, Jira sandbox ({args.mode}) with {args.latency * 1000:.0f} ms "
          f"latency per request, SQLite; expect about {expected:.0f} s")
    started = time.perf_counter()
    for count in workers:
        run_once(args, count)
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
