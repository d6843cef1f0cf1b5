"""`govbot demo`: the real bot against the built-in sandbox, start to finish, on the embedded SQLite default.

Everything runs on loopback: a Slack Web API sandbox, a Jira sandbox seeded with a team and 12 weeks of history,
and govbot's own HTTP server, to which the demo sends requests signed exactly as Slack signs them. Each feature
adds a step (``STEPS``); the transcript and the artefacts (audit export, digests, charts) are left in the output
folder.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import session_scope
from govbot.config import load_settings
from govbot.core import audit
from govbot.core.deps import Runtime
from govbot.demo import outdir
from govbot.demo.digest import demo_digest_step
from govbot.demo.staffing import demo_staffing_step
from govbot.demo.steps import demo_refactoring_step, demo_settings_step, demo_survey_step
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import build_runtime, create_bolt_app
from govbot.sandbox.harness import BotServer
from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import SlackRequestSimulator

# Package data, so `govbot demo` works from an installed copy; manifests/teams.example.yaml is the readers' copy.
EXAMPLE_TEAMS = Path(__file__).resolve().parent / "teams.example.yaml"
SIGNING_SECRET = "demo-signing-secret-0123456789abcdef"  # noqa: S105 - a loopback sandbox, not a real secret
BOT_TOKEN = "xoxb-sandbox-token"  # noqa: S105
ADMIN = "U0ADMIN001"
MANAGER = "U0MANAGER1"
TEAM = "payments"


@dataclass
class DemoContext:
    """What a demo step can use."""

    runtime: Runtime
    slack: SlackSandbox
    jira: Any  # govbot.sandbox.jira_api.JiraSandbox
    server: BotServer
    sim: SlackRequestSimulator
    out_dir: Path
    console: Console
    team: str = TEAM
    manager: str = MANAGER
    channel: str = "C0PAYMENTS1"
    artefacts: list[Path] = field(default_factory=list)

    @property
    def sandbox(self) -> SlackSandbox:
        """The Slack sandbox (the name the test fixtures use)."""
        return self.slack

    def say(self, text: str) -> None:
        """One line of the transcript."""
        self.console.print(text, highlight=False)

    def heading(self, text: str) -> None:
        """A step title."""
        self.console.rule(f"[bold]{text}")


Step = tuple[str, Callable[[DemoContext], Any]]


def step_import(ctx: DemoContext) -> None:
    """Import the example team file twice: the second import changes nothing."""
    specs = parse_team_file(EXAMPLE_TEAMS)
    for attempt in ("first", "second"):
        with session_scope(ctx.runtime.engine) as session:
            report = apply_specs(session=session, key=ctx.runtime.key, now=ctx.runtime.clock(), actor="cli:demo",
                                 specs=specs, source=f"import {EXAMPLE_TEAMS.name}")
        ctx.say(f"{attempt} import of {EXAMPLE_TEAMS.name}: created {report.created or '-'}, "
                f"updated {report.updated or '-'}, unchanged {report.unchanged or '-'}")


def step_help(ctx: DemoContext) -> None:
    """A signed `/govbot help` through the bot's HTTP endpoint."""
    response = ctx.sim.slash_command("help", user_id=ctx.manager, channel_id=ctx.channel)
    body = response.json() or {}
    if response.status != 200 or "/govbot" not in body.get("text", ""):
        raise RuntimeError(f"/govbot help answered {response.status}: {response.body[:200]}")
    ctx.say(f"/govbot help → HTTP {response.status} in {response.elapsed * 1000:.0f} ms, "
            f"{body.get('response_type')} reply:")
    for line in body["text"].splitlines():
        ctx.say(f"    {line}")
    forged = ctx.sim.post_raw(b"command=%2Fgovbot&text=help", content_type="application/x-www-form-urlencoded",
                              headers={"X-Slack-Signature": "v0=" + "0" * 64})
    ctx.say(f"the same request with a forged signature → HTTP {forged.status}")


def step_audit(ctx: DemoContext) -> None:
    """Verify the audit chain and export it."""
    from sqlmodel import Session

    path = ctx.out_dir / "audit.jsonl"
    with Session(ctx.runtime.engine) as session:
        report = audit.verify(session=session, key=ctx.runtime.key)
        path.write_text("".join(audit.export(audit.iter_events(session=session), fmt="jsonl")), encoding="utf-8")
        events = audit.recent(session=session, team=None, limit=100)
    if not report.ok:
        raise RuntimeError(f"audit chain broken: {report.problem}")
    ctx.say(f"govbot audit verify: chain intact, {report.checked} events verified; exported to {path}")
    for event in reversed(events[:12]):
        ctx.say(f"    #{event.id} {event.at:%Y-%m-%d %H:%M} {event.actor:<12} {event.action:<20} {event.target or ''}")
    ctx.artefacts.append(path)


# Each feature's step, in the order the demo plays them (each may print with ctx.say or return lines to print).
FEATURE_STEPS: list[Step] = [
    ("Refactoring sprints: plan-sprints in the Jira sandbox, then a postpone", demo_refactoring_step),
    ("Settings: a manager changes a setting in the modal", demo_settings_step),
    ("Pulse survey: invitations, anonymous answers through the modal, close, results", demo_survey_step),
    ("Weekly digest: backfill 12 weeks, post once with its chart, keep text, JSON and PNG", demo_digest_step),
    ("Two-track staffing: a sprint breaking each rule once, a nudge answered, an acknowledgement, relabels",
     demo_staffing_step),
]


def _start_jira(now: datetime) -> Any:
    try:
        from govbot.sandbox.jira_api import JiraSandbox
    except ImportError:
        return None
    return JiraSandbox(mode="cloud", now=now).start()


def run_demo(out_dir: Path, *, console: Console | None = None) -> int:
    """Play the demo; return the process exit code.

    ``out_dir`` must be new, empty or the demo's own (raises OutDirRefused otherwise): a re-run deletes only the
    files the last run wrote there, as listed in its marker file.
    """
    console = console or Console(width=120, record=True)
    kept = outdir.prepare(out_dir)  # raises OutDirRefused for a folder govbot did not make
    database = out_dir / "govbot.db"
    url = f"sqlite:///{database}"
    now = datetime.now(UTC)
    slack = SlackSandbox(bot_token=BOT_TOKEN).start()
    jira = _start_jira(now)
    overrides: dict[str, str] = {
        "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url, "GOVBOT_ADMINS": ADMIN,
    }
    if jira is not None:
        from govbot.sandbox.jira_api import CLOUD_API_TOKEN, CLOUD_EMAIL

        overrides.update({"JIRA_URL": jira.url, "JIRA_EMAIL": CLOUD_EMAIL, "JIRA_API_TOKEN": CLOUD_API_TOKEN})
    settings = load_settings(sandbox=True, **overrides)
    upgrade(url)
    runtime = build_runtime(settings)
    server = BotServer(runtime, create_bolt_app(runtime)).start()
    sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=slack)
    ctx = DemoContext(runtime=runtime, slack=slack, jira=jira, server=server, sim=sim, out_dir=out_dir,
                      console=console)
    steps: list[Step] = [
        ("Teams as code: govbot team import (twice)", step_import),
        ("Slack round trip: a signed /govbot help", step_help),
        *FEATURE_STEPS,
        ("Audit trail: govbot audit verify + export", step_audit),
    ]
    failed = 0
    try:
        console.print(f"[bold]govbot demo[/bold] — Slack sandbox {slack.base_url}, "
                      f"Jira sandbox {jira.url if jira else '(not available)'}, bot {server.base_url}, "
                      f"database {database}")
        for title, step in steps:
            ctx.heading(title)
            try:
                lines = step(ctx)
                for line in lines or []:
                    ctx.say(str(line))
            except Exception:
                failed += 1
                console.print(f"[red]step failed:[/red] {title}")
                console.print(traceback.format_exc(), highlight=False, markup=False)
        console.rule("[bold]done")
        console.print(f"{len(steps) - failed}/{len(steps)} steps ran; {len(slack.calls)} Slack Web API calls, "
                      f"{len(jira.calls) if jira else 0} Jira calls; artefacts in {out_dir}/")
        if console.record:
            (out_dir / "demo.txt").write_text(console.export_text(clear=False), encoding="utf-8")
    finally:
        server.stop()
        slack.stop()
        if jira is not None:
            jira.stop()
        runtime.engine.dispose()
        outdir.record(out_dir, kept)
    return 1 if failed else 0
