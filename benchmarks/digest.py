"""Benchmark (not a test): the weekly digest's Jira reads for many teams against one Jira sandbox with latency.

Each team has its own project and board with ``--issues`` issues spread over 12 weeks, a review queue (some
issues with changelogs longer than Cloud embeds in search results) and incidents and rollbacks. For every team
it builds the last full week's digest figures (velocity, features, incidents, rollbacks, review queue) and counts
the Jira requests that took, against the goal of 3 + ⌈issues read/100⌉ per team; then it prints the wall-clock
seconds against the latency-bound minimum for the same requests (requests × latency ÷ workers).

    .venv/bin/python benchmarks/digest.py [--teams 200] [--issues 500] [--latency 0.05] [--workers 8]
                                          [--mode cloud|datacenter] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session  # noqa: E402

from govbot.adapters.db.migrate import upgrade  # noqa: E402
from govbot.adapters.db.session import make_engine, session_scope  # noqa: E402
from govbot.adapters.tracker import JiraTracker  # noqa: E402
from govbot.core import teams as team_repo  # noqa: E402
from govbot.domain.digest import last_full_week  # noqa: E402
from govbot.features.digest import service  # noqa: E402
from govbot.features.teams.service import apply_specs  # noqa: E402
from govbot.sandbox.jira_api import JiraSandbox  # noqa: E402
from govbot.sandbox.jira_seed import STORY_POINTS_FIELD, SandboxIssue, StatusChange  # noqa: E402
from govbot.teamconfig import TeamSpec  # noqa: E402

FIRST_BOARD_ID = 2000
KEY = b"benchmark-secret-key-0123456789"
WEEKS = 12
REVIEW_QUEUE = 10


def project_key(index: int) -> str:
    return f"T{index:03d}"


def seed(jira: JiraSandbox, *, teams: int, issues: int, now: datetime) -> None:
    """Per team: a board, ``issues`` issues over 12 weeks, and a review queue with long changelogs in places."""
    rng = random.Random(7)
    next_id = 500_000
    for index in range(teams):
        key = project_key(index)
        jira.add_board(id=FIRST_BOARD_ID + index, name=f"Team {index:03d}", project_key=key,
                       estimation_field=STORY_POINTS_FIELD)
        for number in range(1, issues + 1):
            next_id += 1
            created = now - timedelta(days=rng.uniform(0, WEEKS * 7), hours=rng.uniform(0, 23))
            kind = rng.choices(("Story", "Bug", "Task", "Incident"), weights=(60, 25, 10, 5))[0]
            labels = (["incident"] if kind == "Bug" and rng.random() < 0.2 else []) + (
                ["rollback"] if rng.random() < 0.03 else [])
            issue = SandboxIssue(key=f"{key}-{number}", id=next_id, project=key, issue_type=kind, status="To Do",
                                 labels=labels, points=float(rng.choice((1, 2, 3, 5, 8))), created=created,
                                 updated=created)
            history: list[StatusChange] = []
            if number <= REVIEW_QUEUE:
                # Every third one went back and forth more often than Cloud embeds in a search result.
                moves = 13 if number % 3 == 0 else 1
                at = created
                for _ in range(moves):
                    at += timedelta(hours=rng.uniform(1, 5))
                    history += [StatusChange(at, "To Do", "In Progress"), StatusChange(at, "In Progress", "In Review")]
                issue.status = "In Review"
            elif rng.random() < 0.75:
                done = created + timedelta(days=rng.uniform(0.5, 10))
                if done < now:
                    history = [StatusChange(created + timedelta(hours=2), "To Do", "In Progress"),
                               StatusChange(done, "In Progress", "Done")]
                    issue.status, issue.resolved = "Done", done
            issue.history = history
            jira.issues[issue.key] = issue


def specs(teams: int) -> list[TeamSpec]:
    return [
        TeamSpec(name=f"team-{index:03d}", jira_board_id=FIRST_BOARD_ID + index, jira_project=project_key(index),
                 digest_channel="C0BENCH0001", timezone="Europe/Berlin", managers=["U0MANAGER1"])
        for index in range(teams)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per request")
    parser.add_argument("--workers", type=int, default=8, help="teams read in parallel")
    parser.add_argument("--mode", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--quick", action="store_true", help="20 teams × 100 issues (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.teams, args.issues = 20, 100
    logging.basicConfig(level=logging.WARNING)
    print("benchmarks/digest.py: " + ("the quick run takes a few seconds" if args.quick else
                                       "the full run takes about a minute (seeding 100,000 issues included)"),
          flush=True)

    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    jira = JiraSandbox(mode=args.mode, now=now, seed=False).start()
    jira.page_size = 100  # what Jira serves per page
    seed(jira, teams=args.teams, issues=args.issues, now=now)
    with tempfile.TemporaryDirectory(prefix="govbot-bench-") as folder:
        url = f"sqlite:///{folder}/govbot.db"
        upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as session:
            apply_specs(session=session, key=KEY, now=now, actor="benchmark", specs=specs(args.teams),
                        source="benchmark")
        with Session(engine) as session:
            stored = [team_repo.get_team(session=session, name=spec.name) for spec in specs(args.teams)]

        # One tracker per team so that each counts its own requests; the per-process reads (server info, the
        # account's timezone) are made first and reported apart, as a running bot makes them once.
        trackers = [JiraTracker(url=jira.url, **jira.credentials) for _ in stored]
        jira.set_latency(0.0)
        setup_calls = 0
        for tracker in trackers:
            before = tracker.calls
            _ = tracker.deployment, tracker._zone()
            setup_calls = tracker.calls - before
        jira.set_latency(args.latency)
        week = last_full_week(now, service.zone_of(stored[0]))  # type: ignore[arg-type]
        results: list[tuple[int, int]] = []

        def one(index: int) -> tuple[int, int]:
            team, tracker = stored[index], trackers[index]
            assert team is not None
            before = tracker.calls
            built = service.build(engine=engine, tracker=tracker, team=team, week=week, now=now, sections=False)
            figures = built.fresh
            assert figures is not None and figures.review_queue is not None
            read = last_read[index]
            return tracker.calls - before, read

        # The issues each team's reads returned, for the goal (counted by the sandbox's answers).
        last_read = [0] * len(stored)
        original_search = JiraTracker.search

        def counting_search(self, jql, *, fields, expand=()):
            for raw in original_search(self, jql, fields=fields, expand=expand):
                last_read[trackers.index(self)] += 1
                yield raw

        JiraTracker.search = counting_search  # type: ignore[method-assign]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(one, range(len(stored))))
        elapsed = time.monotonic() - started
        JiraTracker.search = original_search  # type: ignore[method-assign]
        jira.stop()

    calls = [c for c, _ in results]
    goals = [3 + math.ceil(read / 100) for _, read in results]
    within = sum(1 for c, g in zip(calls, goals, strict=True) if c <= g)
    total = sum(calls)
    minimum = total * args.latency / args.workers
    print(f"digest benchmark: {args.teams} teams × {args.issues} issues, {args.mode}, "
          f"{args.latency * 1000:.0f} ms Jira latency, {args.workers} workers, week {week.label}")
    print(f"  Jira calls per team: mean {total / len(calls):.2f}, max {max(calls)} "
          f"(goal ≤ 3 + ⌈issues read/100⌉: mean goal {sum(goals) / len(goals):.2f}); "
          f"{within}/{len(calls)} teams within the goal")
    print(f"  per-process setup calls (once per running bot, not per team): {setup_calls}")
    print(f"  issues read per team: mean {sum(r for _, r in results) / len(results):.0f}")
    print(f"  seconds: {elapsed:.1f} (goal ≤ 30 s); latency-bound minimum for the same calls: {minimum:.1f} s "
          f"({total} calls × {args.latency * 1000:.0f} ms ÷ {args.workers} workers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
