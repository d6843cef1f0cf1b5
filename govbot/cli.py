"""The `govbot` command line (Typer): wiring only — every command calls a feature or the runtime.

The feature sub-apps (`govbot team …`, `govbot audit …`) are added from ``govbot.runtime.FEATURES``.
"""

from __future__ import annotations

import signal
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer

from govbot.adapters.scheduler.health import HealthServer, create_health_app
from govbot.adapters.slack.server import serve
from govbot.config import ConfigError
from govbot.core.board import USER_FACING_ERRORS
from govbot.core.cli import engine, fail, now_or_as_of, out, settings, upgrade_schema
from govbot.core.jobs import UnknownJob, UnknownTeam
from govbot.demo import run_demo
from govbot.demo.outdir import OutDirRefused
from govbot.logs import setup_logging
from govbot.runtime import add_feature_commands, build_runtime, create_bolt_app, create_scheduler, run_job

app = typer.Typer(help="govbot: guard rails for AI-assisted delivery, in Slack and Jira.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
add_feature_commands(app)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"govbot {version('govbot')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option("--version", help="print govbot's version and exit",
                                               callback=_print_version, is_eager=True)] = False,
) -> None:
    """govbot: guard rails for AI-assisted delivery, in Slack and Jira."""


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    s = settings()
    upgrade_schema(s)
    out.print("database is at the latest schema")


# ----------------------------------------------------------------------------------------------------------- runtime


@app.command("run-job")
def run_job_command(
    kind: Annotated[str, typer.Argument(help="e.g. plan-sprints, check-policy, send-survey, post-digest")],
    team: Annotated[str, typer.Option(help="team name")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="run as if the clock read this ISO time")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be done; write nothing")] = False,
) -> None:
    """Run one scheduled job now."""
    s = settings()
    when = now_or_as_of(as_of)
    engine(s)  # the schema is in place (SQLite: made now)
    runtime = build_runtime(s, clock=lambda: when)

    def echo(line: str) -> None:
        out.print(line, highlight=False, markup=False)

    try:
        summary = run_job(runtime, kind, team, now=when, dry_run=dry_run, echo=echo)
    except (UnknownJob, UnknownTeam) as exc:
        raise fail(str(exc)) from None
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    except USER_FACING_ERRORS as exc:  # Jira down, a board without sprints, …: one clear sentence
        raise fail(f"{kind} for team {team} did not finish: {exc}") from None
    out.print(("[dry-run] " if dry_run else "") + summary, highlight=False, markup=False)


@app.command("serve")
def serve_command(
    socket: Annotated[bool, typer.Option("--socket", help="use Socket Mode (needs SLACK_APP_TOKEN)")] = False,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="do not run scheduled jobs here")] = False,
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",  # noqa: S104
) -> None:
    """Run the bot (HTTP on GOVBOT_PORT, or Socket Mode) with the scheduler in-process."""
    s = settings()
    setup_logging(s.log_format)
    try:
        s.require_slack(socket=socket)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if s.database_url.startswith("sqlite"):
        upgrade_schema(s)
    runtime = build_runtime(s)
    bolt_app = create_bolt_app(runtime)
    scheduler = None
    if not no_scheduler:
        scheduler = create_scheduler(runtime)
        scheduler.start()
    try:
        if socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert s.slack_app_token is not None
            SocketModeHandler(bolt_app, s.slack_app_token.get_secret_value()).start()
        else:
            # govbot's command listener acks without blocking (govbot.core.app), so commands may be dispatched
            # on the event loop (govbot.adapters.slack.server).
            serve(settings=s, engine=runtime.engine, bolt_app=bolt_app, host=host, port=s.port, scheduler=scheduler,
                  inline_commands=True)
    finally:
        # The work the lanes hold (replies to requests already acked) gets a few seconds to finish.
        runtime.lanes.shutdown()
        if scheduler:
            scheduler.stop()


@app.command("scheduler")
def scheduler_command(
    host: Annotated[str, typer.Option(help="address of /healthz and /metrics")] = "0.0.0.0",  # noqa: S104
) -> None:
    """Run only the scheduler (for deployments with separate web and scheduler processes).

    One scheduler process leads (runs the jobs), the others stand by; /healthz and /metrics are on GOVBOT_PORT.
    SIGTERM releases the lead at once and hands the running job back.
    """
    s = settings()
    setup_logging(s.log_format)
    if s.database_url.startswith("sqlite"):
        upgrade_schema(s)
    service = create_scheduler(build_runtime(s))
    http = HealthServer(create_health_app(service), host=host,
                        port=s.port).start()
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
        http.stop()


@app.command("demo")
def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="a new or empty folder (or one the demo made) for the "
                                          "digests and charts")] = Path("govbot-demo"),
) -> None:
    """Run the real bot against the built-in sandbox and play governance (what `make demo` runs).

    --out must be a new or empty folder, or one an earlier `govbot demo` made: a re-run deletes only the files
    the demo wrote there (listed in its .govbot-demo file), never a file someone else put there.
    """
    try:
        code = run_demo(out_dir)
    except OutDirRefused as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
