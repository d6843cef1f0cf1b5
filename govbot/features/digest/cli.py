"""`govbot digest show|backfill`: a week's digest and the kept weekly figures, from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlmodel import Session

from govbot.adapters.tracker import TrackerError, tracker_from_settings
from govbot.config import ConfigError, Settings
from govbot.core import teams
from govbot.core.cli import engine, fail, now, out, settings
from govbot.core.teams import StoredTeam
from govbot.domain.digest import IsoWeek, WeekError, last_full_week, to_json
from govbot.features.digest import messages, service

app = typer.Typer(name="digest", help="The weekly velocity-versus-quality digest.", no_args_is_help=True)

MAX_BACKFILL_WEEKS = 104


class _NoJira:
    """Stands in for the tracker when Jira is not configured: every read fails, so the digest names it missing."""

    def __init__(self, reason: str):
        self.reason = reason

    def __getattr__(self, name: str) -> Any:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise TrackerError(self.reason)

        return unavailable


def _tracker(s: Settings) -> Any:
    try:
        return tracker_from_settings(s)
    except (ConfigError, ValueError) as error:
        return _NoJira(f"Jira is not configured ({error})")


def _team(s: Settings, name: str) -> StoredTeam:
    with Session(engine(s)) as session:
        team = teams.get_team(session=session, name=name.strip().lower())
    if team is None:
        raise fail(f"no team is named {name!r}: `govbot team list` shows the teams")
    return team


@app.command("show")
def digest_show(
    team: Annotated[str, typer.Option("--team", help="the team's name")],
    week: Annotated[
        str | None, typer.Option("--week", help="ISO week, e.g. 2026-W47 (default: the last full week)")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",  # noqa: A002
) -> None:
    """Print a week's digest (a kept week from the database; otherwise read from Jira). Writes nothing."""
    if format not in ("text", "json"):
        raise fail("--format must be text or json")
    s = settings()
    stored = _team(s, team)
    when = now()
    try:
        chosen = IsoWeek.parse(week) if week else last_full_week(when, service.zone_of(stored))
    except WeekError as error:
        raise fail(str(error)) from None
    if chosen > last_full_week(when, service.zone_of(stored)):
        raise fail(f"{chosen.label} has not ended yet: give a week up to "
                   f"{last_full_week(when, service.zone_of(stored)).label}")
    built = service.build(engine=engine(s), tracker=_tracker(s), team=stored, week=chosen, now=when,
                          prefer_kept=True)
    if format == "json":
        print(json.dumps(service_json(built), indent=2, ensure_ascii=False))
    else:
        print(messages.text(built.digest), end="")


def service_json(built: service.Built) -> dict[str, Any]:
    """The digest's JSON object."""
    return to_json(built.digest)


@app.command("backfill")
def digest_backfill(
    team: Annotated[str, typer.Option("--team", help="the team's name")],
    weeks: Annotated[int, typer.Option("--weeks", help="how many of the last full weeks to keep")] = 12,
) -> None:
    """Compute and keep the missing weekly figures of the last N full weeks (safe to re-run)."""
    if not 1 <= weeks <= MAX_BACKFILL_WEEKS:
        raise fail(f"--weeks must be between 1 and {MAX_BACKFILL_WEEKS}")
    s = settings()
    stored = _team(s, team)
    tracker = _tracker(s)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=out, transient=False) as progress:
        task = progress.add_task(f"backfilling {stored.name}", total=None)
        try:
            report = service.backfill(
                engine=engine(s), tracker=tracker, team=stored, now=now(), weeks=weeks,
                on_plan=lambda count: progress.update(task, total=count),
                on_week=lambda week: progress.update(task, advance=1, description=f"kept {week.label}"),
            )
        except TrackerError as error:
            raise fail(f"{error} Weeks already kept stay; run the backfill again to fill the rest.") from None
    out.print(f"{stored.name}: {report.summary()}")
