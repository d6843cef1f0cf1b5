"""The `govbot` command line (Typer): wiring only — every command calls a service."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from govbot.config import ConfigError, Settings, load_settings

app = typer.Typer(help="govbot: guard rails for AI-assisted delivery, in Slack and Jira.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
team_app = typer.Typer(help="Manage governed teams without Slack (config as code).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(team_app, name="team")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"govbot {version('govbot')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option("--version", help="print govbot's version and exit",
                                               callback=_print_version, is_eager=True)] = False,
) -> None:
    """govbot: guard rails for AI-assisted delivery, in Slack and Jira."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr and exit."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    """Load settings or stop with the one line that names the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def actor() -> str:
    """Who is acting from the command line (recorded in the audit trail)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def now() -> datetime:
    """The clock, read at the entry point only."""
    return datetime.now(UTC)


def _engine(s: Settings):  # type: ignore[no-untyped-def]
    from govbot.adapters.db.session import engine_for

    return engine_for(s.database_url)


def _upgrade(s: Settings) -> None:
    from govbot.adapters.db.migrate import upgrade

    upgrade(s.database_url)


# ----------------------------------------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    s = settings()
    _upgrade(s)
    out.print("database is at the latest schema")


# ----------------------------------------------------------------------------------------------------------- teams


@team_app.command("import")
def team_import(
    file: Annotated[Path, typer.Argument(help="Team file (YAML), see manifests/teams.example.yaml")],
) -> None:
    """Create or update the teams of a file, all or nothing."""
    from govbot.features.teams.service import TeamFileError, apply_specs, parse_team_file

    s = settings()
    try:
        specs = parse_team_file(file)
    except TeamFileError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        err.print("nothing was imported")
        raise typer.Exit(1) from None
    from govbot.adapters.db.session import session_scope

    with session_scope(_engine(s)) as session:
        report = apply_specs(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), specs=specs,
                             source=f"import {file.name}")
    out.print(f"created {len(report.created)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}"
              + (f": {', '.join(report.created + report.updated)}" if report.created or report.updated else ""))


@team_app.command("add")
def team_add(
    name: Annotated[str, typer.Option(help="lowercase letters, digits and -")],
    board: Annotated[int, typer.Option(help="Jira scrum board id")],
    project: Annotated[str, typer.Option(help="Jira project key, e.g. PAY")],
    channel: Annotated[str, typer.Option(help="digest channel id, e.g. C0123456789")],
    manager: Annotated[list[str], typer.Option(help="manager Slack user id (repeatable)")],
    timezone: Annotated[str, typer.Option(help="IANA timezone")] = "UTC",
    member: Annotated[list[str] | None, typer.Option(help="SLACK:JIRA:SENIORITY (repeatable)")] = None,
    anchor: Annotated[int | None, typer.Option(help="board sprint id counted as sprint 1")] = None,
) -> None:
    """Create one team."""
    from pydantic import ValidationError

    from govbot.adapters.db.session import session_scope
    from govbot.features.teams.service import TeamExists, add_team
    from govbot.teamconfig import TeamSpec, describe_error

    s = settings()
    members = []
    for item in member or []:
        parts = item.split(":")
        if len(parts) != 3:
            raise fail(f"--member {item!r} must be SLACK:JIRA:SENIORITY, e.g. U0AAAAAAA1:5b10ac8d:senior")
        members.append({"slack": parts[0], "jira": parts[1], "seniority": parts[2]})
    try:
        spec = TeamSpec(name=name, jira_board_id=board, jira_project=project, digest_channel=channel,
                        timezone=timezone, managers=manager, members=members, cadence_anchor_sprint_id=anchor)
    except ValidationError as exc:
        field, message = describe_error(exc.errors()[0])  # type: ignore[arg-type]
        raise fail(f"{field}: {message}") from None
    try:
        with session_scope(_engine(s)) as session:
            add_team(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), spec=spec)
    except TeamExists as exc:
        raise fail(str(exc)) from None
    out.print(f"team {name} created")


@team_app.command("list")
def team_list() -> None:
    """List the teams."""
    from govbot.core import teams as repo

    s = settings()
    with Session(_engine(s)) as session:
        teams = repo.list_teams(session=session)
    table = Table("name", "board", "project", "channel", "timezone", "managers", "members")
    for team in teams:
        spec = team.spec
        table.add_row(spec.name, str(spec.jira_board_id), spec.jira_project, spec.digest_channel, spec.timezone,
                      str(len(spec.managers)), str(len(spec.members)))
    out.print(table if teams else "no teams yet: `govbot team import FILE.yaml` or `govbot team add`")


@team_app.command("show")
def team_show(name: str) -> None:
    """Show one team as YAML (the team-file format)."""
    import yaml

    from govbot.core import teams as repo

    s = settings()
    with Session(_engine(s)) as session:
        team = repo.get_team(session=session, name=name)
    if team is None:
        raise fail(f"no team is named {name!r}: `govbot team list` shows the teams")
    out.print(yaml.safe_dump({"teams": [team.spec.model_dump(mode="json")]}, sort_keys=False), highlight=False)


@team_app.command("remove")
def team_remove(
    name: str,
    reason: Annotated[str | None, typer.Option(help="why (audited)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a team (its audit history stays)."""
    from govbot.adapters.db.session import session_scope
    from govbot.features.teams.service import TeamNotFound, remove_team

    s = settings()
    if not yes and not typer.confirm(f"Remove team {name} and its data?"):
        raise typer.Exit(1)
    try:
        with session_scope(_engine(s)) as session:
            remove_team(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), name=name,
                        reason=reason)
    except TeamNotFound as exc:
        raise fail(str(exc)) from None
    out.print(f"team {name} removed")


# ----------------------------------------------------------------------------------------------------------- audit


@audit_app.command("export")
def audit_export(
    format: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",  # noqa: A002
    output: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
) -> None:
    """Export every audit event."""
    from govbot.core import audit

    if format not in ("csv", "jsonl"):
        raise fail("--format must be csv or jsonl")
    s = settings()
    with Session(_engine(s)) as session:
        chunks = audit.export(audit.iter_events(session=session), fmt=format)
        if output:
            with output.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(chunks)
        else:
            sys.stdout.writelines(chunks)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 naming the first bad event."""
    from govbot.core import audit

    s = settings()
    with Session(_engine(s)) as session:
        report = audit.verify(session=session, key=s.secret_key_bytes())
    if not report.ok:
        raise fail(f"audit chain broken after {report.checked} good events: {report.problem}")
    out.print(f"audit chain intact: {report.checked} events verified")


# ----------------------------------------------------------------------------------------------------------- runtime


@app.command("run-job")
def run_job_command(
    kind: Annotated[str, typer.Argument(help="e.g. plan-sprints, check-policy, send-survey, post-digest")],
    team: Annotated[str, typer.Option(help="team name")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="run as if the clock read this ISO time")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be done; write nothing")] = False,
) -> None:
    """Run one scheduled job now."""
    from govbot.core.jobs import UnknownJob, UnknownTeam, run_job
    from govbot.runtime import build_runtime

    s = settings()
    when = now()
    if as_of:
        try:
            when = datetime.fromisoformat(as_of)
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not an ISO time such as 2026-11-23T09:00:00+01:00") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    runtime = build_runtime(s, clock=lambda: when)

    def echo(line: str) -> None:
        out.print(line, highlight=False, markup=False)

    try:
        summary = run_job(runtime, kind, team, now=when, dry_run=dry_run, echo=echo)
    except (UnknownJob, UnknownTeam) as exc:
        raise fail(str(exc)) from None
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    except Exception as exc:
        from govbot.features.refactoring.service import USER_FACING_ERRORS

        if isinstance(exc, USER_FACING_ERRORS):  # Jira down, a board without sprints, …: one clear sentence
            raise fail(f"{kind} for team {team} did not finish: {exc}") from None
        raise
    out.print(("[dry-run] " if dry_run else "") + summary, highlight=False, markup=False)


@app.command("serve")
def serve_command(
    socket: Annotated[bool, typer.Option("--socket", help="use Socket Mode (needs SLACK_APP_TOKEN)")] = False,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="do not run scheduled jobs here")] = False,
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",  # noqa: S104
) -> None:
    """Run the bot (HTTP on GOVBOT_PORT, or Socket Mode) with the scheduler in-process."""
    from govbot.core.app import create_app
    from govbot.logs import setup_logging
    from govbot.runtime import build_runtime

    s = settings()
    setup_logging(s.log_format)
    try:
        s.require_slack(socket=socket)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if s.database_url.startswith("sqlite"):
        _upgrade(s)
    runtime = build_runtime(s)
    bolt_app = create_app(runtime)
    scheduler = None
    if not no_scheduler:
        from govbot.adapters.scheduler.runner import SchedulerService

        scheduler = SchedulerService(runtime)
        scheduler.start()
    try:
        if socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert s.slack_app_token is not None
            SocketModeHandler(bolt_app, s.slack_app_token.get_secret_value()).start()
        else:
            from govbot.adapters.slack.server import serve

            serve(runtime, bolt_app, host=host, port=s.port)
    finally:
        if scheduler:
            scheduler.stop()


@app.command("scheduler")
def scheduler_command() -> None:
    """Run only the scheduler (for deployments with separate web and scheduler processes)."""
    import signal
    import threading

    from govbot.adapters.scheduler.runner import SchedulerService
    from govbot.logs import setup_logging
    from govbot.runtime import build_runtime

    s = settings()
    setup_logging(s.log_format)
    if s.database_url.startswith("sqlite"):
        _upgrade(s)
    service = SchedulerService(build_runtime(s))
    service.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()


@app.command("demo")
def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="where to leave digests and charts")] = Path("govbot-demo"),
) -> None:
    """Run the real bot against the built-in sandbox and play governance (what `make demo` runs)."""
    from govbot.demo import run_demo

    raise typer.Exit(run_demo(out_dir))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
