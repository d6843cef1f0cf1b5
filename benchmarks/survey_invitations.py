"""Benchmark: a survey invitation fan-out to 2,000 members through the Slack sandbox at Slack's pace.

The real bot runs over HTTP against the sandbox; a manager's `/govbot survey start` is acked at once and the
invitations go out after the ack, one DM per member (posted to the user id). chat.postMessage is limited to
about one message per second *per channel*, but every DM is its own channel, so the limit that binds a
fan-out is the workspace-wide one. The sandbox emulates it as one token bucket on chat.postMessage: 600 per
minute with a burst of 100 (``--per-minute`` / ``--burst``). The floor for N invitations is
(N - burst) / (per_minute / 60) seconds.

Run: ``.venv/bin/python benchmarks/survey_invitations.py [--quick] [--count 2000] [--per-minute 600] [--burst 100]``
(about 3.5 minutes: the rate limit sets the pace; ``--quick`` or BENCH_QUICK=1: 300 members, about 25 s).
It exits 1 only when a member was not invited exactly once, never because the machine is slow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.tables import Survey
from govbot.config import load_settings
from govbot.features.surveys import repo
from govbot.features.teams.service import apply_specs
from govbot.runtime import build_runtime, create_bolt_app
from govbot.sandbox.harness import BotServer
from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import SlackRequestSimulator
from govbot.teamconfig import MemberSpec, TeamSpec

SIGNING_SECRET = "benchmark-signing-secret-0123456789"
BOT_TOKEN = "xoxb-benchmark-token"
MANAGER = "U0MANAGER1"
CHANNEL = "C0BENCHMARK"
COUNT = 2000
QUICK_COUNT = 300


def _team(count: int) -> TeamSpec:
    members = [MemberSpec(slack=f"U{index:09d}", jira=f"acc-{index}", seniority="mid")
               for index in range(count)]
    return TeamSpec(name="bench", jira_board_id=1, jira_project="BEN", digest_channel=CHANNEL, timezone="UTC",
                    managers=[MANAGER], members=members)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None,
                        help=f"members to invite (default {COUNT}; {QUICK_COUNT} with --quick)")
    parser.add_argument("--per-minute", type=int, default=600, help="workspace-wide chat.postMessage rate")
    parser.add_argument("--burst", type=int, default=100, help="bucket capacity (calls allowed at once)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help=f"invite {QUICK_COUNT} members instead of {COUNT} (also BENCH_QUICK=1)")
    args = parser.parse_args()
    args.count = args.count or (QUICK_COUNT if args.quick else COUNT)
    floor = max(0, args.count - args.burst) / (args.per_minute / 60)
    print(f"survey invitations to {args.count} members through the Slack sandbox; expect about {floor + 10:.0f} s")

    workdir = Path(tempfile.mkdtemp(prefix="govbot-bench-"))
    db_url = f"sqlite:///{workdir / 'govbot.db'}"
    upgrade(db_url)
    sandbox = SlackSandbox(bot_token=BOT_TOKEN).start()
    sandbox.set_rate_limit("chat.postMessage", per_minute=args.per_minute, burst=args.burst)
    settings = load_settings(sandbox=True, DATABASE_URL=db_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=sandbox.api_url)
    runtime = build_runtime(settings)
    with Session(runtime.engine) as session:
        apply_specs(session=session, key=runtime.key, now=datetime.now(UTC), actor="benchmark",
                    specs=[_team(args.count)], source="benchmark")
        session.commit()
    server = BotServer(runtime, create_bolt_app(runtime)).start()
    sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=sandbox)
    try:
        started = time.monotonic()
        ack = sim.slash_command("survey start", user_id=MANAGER, channel_id=CHANNEL)
        done_at = None
        while time.monotonic() - started < args.timeout:
            with Session(runtime.engine) as session:
                survey = session.exec(select(Survey)).first()
                done = repo.delivered_invitations(session=session, survey_id=survey.id) if survey else []
            invited = len(done)
            if invited >= args.count:
                done_at = time.monotonic()
                break
            time.sleep(0.2)
        if done_at is None:
            print(f"gave up after {args.timeout:.0f} s: {invited} of {args.count} invited", file=sys.stderr)
            return 1
        elapsed = done_at - started
        calls = sandbox.calls_of("chat.postMessage")
        accepted = Counter(c.body["channel"] for c in calls if not c.failed)
        limited = sum(1 for c in calls if c.status == 429)
        exactly_once = len(accepted) == args.count and set(accepted.values()) == {1}
        print(f"limit            chat.postMessage {args.per_minute}/min workspace-wide, burst {args.burst}")
        once = "each member exactly once" if exactly_once else "NOT exactly once"
        print(f"invitations      {args.count} ({once})")
        print(f"slash command    acked in {ack.elapsed * 1000:.0f} ms (HTTP {ack.status})")
        print(f"429 answers      {limited} (each waited out by the client's retry handler)")
        print(f"time             {elapsed:.1f} s")
        if floor:
            print(f"rate-limit floor {floor:.1f} s  → {elapsed / floor:.3f}× the floor")
        rate = args.per_minute / 60
        print(f"throughput       {args.count / elapsed:.1f} invitations/s (limit {rate:.1f}/s past burst)")
        return 0 if exactly_once else 1
    finally:
        server.stop()
        sandbox.stop()
        runtime.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
