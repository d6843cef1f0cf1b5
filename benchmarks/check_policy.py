"""Benchmark (not a test): `check-policy` (refactoring capacity + staffing rules R1–R6) for many teams with big
sprints, against a Jira sandbox with network-like latency.

Each team has its own Scrum board with an active sprint of ``--issues`` issues (a mix of tracks, zones, epics,
reviewers and juniors, so every rule has work to do). The first run opens the violations and sends their DMs
(recorded, not sent to Slack); the second run finds nothing new and sends nothing. For each run it prints the
Jira requests per team (goal: at most 8 with 500 issues: board, sprints, ⌈500/100⌉ sprint pages, one epic
search), the wall-clock seconds, and the latency-bound minimum (requests × latency, what one worker cannot beat).

    .venv/bin/python benchmarks/check_policy.py [--quick] [--teams 200] [--issues 500] [--latency 0.05]
                                                [--mode cloud|datacenter]

About 6 minutes (200 teams); ``--quick`` or BENCH_QUICK=1: 10 teams, about 25 s. The baseline is measured in the
same run: a bare Jira round trip (serverInfo), so the latency-bound minimum is calls × round trip. The sandbox
answers `sprint = N` and `key in (...)` from an index (a real Jira's search is indexed too); everything else goes
through its full JQL evaluator.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from govbot.adapters.db.migrate import upgrade  # noqa: E402
from govbot.adapters.db.session import session_scope  # noqa: E402
from govbot.adapters.slack.notifier import RecordingNotifier  # noqa: E402
from govbot.adapters.tracker import JiraTracker  # noqa: E402
from govbot.config import load_settings  # noqa: E402
from govbot.features.teams.service import apply_specs  # noqa: E402
from govbot.runtime import build_runtime, run_job  # noqa: E402
from govbot.sandbox.jira_api import JiraSandbox  # noqa: E402
from govbot.sandbox.jira_seed import REVIEWER_FIELD, SEED_MEMBERS, STORY_POINTS_FIELD, SandboxIssue  # noqa: E402
from govbot.teamconfig import TeamSpec  # noqa: E402

FIRST_BOARD_ID = 2000
KEY = "benchmark-secret-key-0123456789"
COMPONENTS = ("auth", "payments", "ui", "reporting", "search", "ledger", "")
SPRINT_QUERY = re.compile(r"sprint = (\d+) ORDER BY key ASC")
KEYS_QUERY = re.compile(r"key in \(([^)]*)\)")


class IndexedSandbox(JiraSandbox):
    """The sandbox, with an index for the two searches check-policy makes at scale."""

    by_sprint: dict[int, list[SandboxIssue]]

    def _run_jql(self, jql: str) -> list[SandboxIssue]:
        if match := SPRINT_QUERY.fullmatch(jql):
            return list(self.by_sprint.get(int(match.group(1)), []))
        if match := KEYS_QUERY.fullmatch(jql):
            keys = [k.strip() for k in match.group(1).split(",")]
            return [self.issues[k] for k in sorted(keys, key=_key_order) if k in self.issues]
        return super()._run_jql(jql)


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number)


def seed(jira: IndexedSandbox, teams: int, issues: int, now: datetime) -> list[TeamSpec]:
    """One board, closed + active sprint and ``issues`` issues (plus 10 epics) per team; the governed teams."""
    rng = random.Random(7)
    jira.by_sprint = {}
    start = (now - timedelta(days=4)).replace(hour=9, minute=0, second=0, microsecond=0)
    people = [m.jira_account_id for m in SEED_MEMBERS]
    seniors = [m.jira_account_id for m in SEED_MEMBERS if m.seniority == "senior"]
    specs = []
    next_id = 500000
    for index in range(teams):
        board_id, project = FIRST_BOARD_ID + index, f"T{index:03d}"
        jira.add_board(id=board_id, name=f"Team {index:03d}", project_key=project,
                       estimation_field=STORY_POINTS_FIELD)
        jira.add_sprint(board_id=board_id, name=f"{project} Sprint 9", state="closed",
                        start=start - timedelta(days=14), end=start, complete=start)
        sprint = jira.add_sprint(board_id=board_id, name=f"{project} Sprint 10", state="active", start=start,
                                 end=start + timedelta(days=14))
        epics = []
        for number in range(1, 11):
            key = f"{project}-{number}"
            jira.issues[key] = SandboxIssue(key=key, id=next_id, project=project, issue_type="Epic", status="To Do",
                                            labels=[rng.choice(("human-first", "ai-heavy", "refactor"))],
                                            created=start, updated=start)
            epics.append(key)
            next_id += 1
        work = []
        for number in range(11, 11 + issues):
            key = f"{project}-{number}"
            # A team that mostly follows its rules: a few unlabelled issues, zone-1 work nearly always
            # human-first, most ai-heavy work reviewed by a senior; a handful of violations per sprint.
            labels = rng.choices([["human-first"], ["ai-heavy"], [], ["refactor", "human-first"]],
                                 weights=(56, 40, 1, 3))[0]
            component = rng.choice(COMPONENTS)
            if component in ("auth", "payments") and labels == ["ai-heavy"] and rng.random() < 0.98:
                labels = ["human-first"]
            ai = labels == ["ai-heavy"]
            issue = SandboxIssue(
                key=key, id=next_id, project=project, issue_type=rng.choice(("Story", "Bug", "Task")),
                status="To Do", summary=f"Work item {number}", labels=list(labels),
                components=[component] if component else [], points=float(rng.choice((1, 2, 3, 5, 8))),
                parent_key=rng.choice(epics) if rng.random() < 0.4 else None, assignee=rng.choice(people),
                reviewer=rng.choice(seniors) if ai and rng.random() < 0.95 else None, created=start, updated=start,
                sprint_ids=[sprint.id])
            jira.issues[key] = issue
            work.append(issue)
            next_id += 1
        jira.by_sprint[sprint.id] = work
        specs.append(TeamSpec.model_validate({
            "name": f"team-{index:03d}", "jira_board_id": board_id, "jira_project": project,
            "digest_channel": "C0BENCH0001", "timezone": "Europe/Berlin", "managers": ["U0MANAGER1"],
            "members": [{"slack": m.slack_id, "jira": m.jira_account_id, "seniority": m.seniority}
                        for m in SEED_MEMBERS],
            "settings": {"reviewer_field": REVIEWER_FIELD, "senior_review_cap": 80,
                         "zones": {1: ["auth", "payments"], 2: ["reporting", "ledger"], 3: []}},
        }))
    return specs


def bare_round_trip(jira: JiraSandbox, samples: int = 20) -> float:
    """Seconds one bare Jira request takes (serverInfo on a kept-alive connection): the per-call floor."""
    with requests.Session() as http:
        http.get(f"{jira.url}/rest/api/2/serverInfo", timeout=10)
        started = time.perf_counter()
        for _ in range(samples):
            http.get(f"{jira.url}/rest/api/2/serverInfo", timeout=10)
        return (time.perf_counter() - started) / samples


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--issues", type=int, default=500, help="issues in each team's active sprint")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per request")
    parser.add_argument("--mode", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help="10 teams (also BENCH_QUICK=1)")
    args = parser.parse_args(argv)
    if args.quick:
        args.teams = min(args.teams, 10)
    print(f"check-policy benchmark: {args.teams} teams, about {args.teams * 1.9 + 5:.0f} s")
    logging.basicConfig(level=logging.WARNING)

    now = datetime.now(UTC)
    jira = IndexedSandbox(mode=args.mode, now=now, seed=False).start()
    jira.page_size = 100  # what Jira gives a search asking for 100 issues with a few fields
    specs = seed(jira, args.teams, args.issues, now)
    with tempfile.TemporaryDirectory(prefix="govbot-bench-") as folder:
        url = f"sqlite:///{folder}/govbot.db"
        upgrade(url)
        settings = load_settings(sandbox=True, DATABASE_URL=url, GOVBOT_SECRET_KEY=KEY,
                                 SLACK_API_URL="http://127.0.0.1:9/api/")
        tracker = JiraTracker(url=jira.url, **jira.credentials)
        runtime = build_runtime(settings, clock=lambda: now, tracker_factory=lambda: tracker)
        with session_scope(runtime.engine) as session:
            apply_specs(session=session, key=runtime.key, now=now, actor="benchmark", specs=specs,
                        source="benchmark")
        tracker.deployment  # noqa: B018 - read once per process, not per team: kept out of the per-team figures
        tracker._fields()
        jira.set_latency(args.latency)
        baseline = bare_round_trip(jira)
        notifier = RecordingNotifier(echo=lambda _line: None)
        print(f"check-policy for {args.teams} teams × {args.issues} sprint issues, Jira sandbox ({args.mode}) "
              f"with {args.latency * 1000:.0f} ms latency per request, one worker, SQLite; a bare Jira round trip "
              f"takes {baseline * 1000:.1f} ms (measured now)")
        for label in ("first run", "second run (no change)"):
            calls, sent = tracker.calls, len(notifier.sent)
            started = time.perf_counter()
            summaries, per_team = [], []
            for spec in specs:
                before = tracker.calls
                summaries.append(run_job(runtime, "check-policy", spec.name, now=now, notifier=notifier,
                                         echo=lambda _l: None))
                per_team.append(tracker.calls - before)
            seconds = time.perf_counter() - started
            made = tracker.calls - calls
            floor = made * baseline
            found = sum(int(m.group(1)) for s in summaries if (m := re.search(r"(\d+) violation\(s\) now", s)))
            worst = max(per_team) if per_team else 0
            print(f"{label:<24} {made / args.teams:5.2f} Jira calls/team (most {worst}; goal ≤ 8), {seconds:7.2f} s "
                  f"({seconds / args.teams * 1000:6.1f} ms/team) against a latency-bound minimum of {floor:6.2f} s "
                  f"({seconds / floor if floor else 0:4.2f}×); {found} violations, "
                  f"{len(notifier.sent) - sent} DMs")
        tracker.close()
        runtime.engine.dispose()
    jira.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
