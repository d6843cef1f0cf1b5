"""`govbot team …`: manage governed teams without Slack (config as code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.core import teams
from govbot.core.cli import actor, engine, err, fail, now, out, settings
from govbot.features.teams.service import (
    TeamExists,
    TeamFileError,
    TeamNotFound,
    add_team,
    apply_specs,
    parse_team_file,
    remove_team,
)
from govbot.teamconfig import TeamSpec, error_sentence

app = typer.Typer(name="team", help="Manage governed teams without Slack (config as code).", no_args_is_help=True)


@app.command("import")
def team_import(
    file: Annotated[Path, typer.Argument(help="Team file (YAML), see manifests/teams.example.yaml")],
) -> None:
    """Create or update the teams of a file, all or nothing."""
    s = settings()
    try:
        specs = parse_team_file(file)
    except TeamFileError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        err.print("nothing was imported")
        raise typer.Exit(1) from None
    with session_scope(engine(s)) as session:
        report = apply_specs(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), specs=specs,
                             source=f"import {file.name}")
    out.print(f"created {len(report.created)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}"
              + (f": {', '.join(report.created + report.updated)}" if report.created or report.updated else ""))


@app.command("add")
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
        raise fail(error_sentence(dict(exc.errors()[0]))) from None
    try:
        with session_scope(engine(s)) as session:
            add_team(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), spec=spec)
    except TeamExists as exc:
        raise fail(str(exc)) from None
    out.print(f"team {name} created")


@app.command("list")
def team_list() -> None:
    """List the teams."""
    s = settings()
    with Session(engine(s)) as session:
        stored = teams.list_teams(session=session)
    table = Table("name", "board", "project", "channel", "timezone", "managers", "members")
    for team in stored:
        spec = team.spec
        table.add_row(spec.name, str(spec.jira_board_id), spec.jira_project, spec.digest_channel, spec.timezone,
                      str(len(spec.managers)), str(len(spec.members)))
    if not stored:
        out.print("no teams yet: `govbot team import FILE.yaml` or `govbot team add`")
        return
    # Every value whole (a timezone such as America/Argentina/Buenos_Aires, a long team name), even where the
    # terminal or a pipe is narrower than the table: names and ids are copied from here, so never cut them.
    needed = Measurement.get(out, out.options.update_width(1000), table).maximum
    (out if needed <= out.width else Console(width=needed)).print(table)


@app.command("show")
def team_show(name: str) -> None:
    """Show one team as YAML (the team-file format)."""


    s = settings()
    with Session(engine(s)) as session:
        team = teams.get_team(session=session, name=name)
    if team is None:
        raise fail(f"no team is named {name!r}: `govbot team list` shows the teams")
    out.print(yaml.safe_dump({"teams": [team.spec.model_dump(mode="json")]}, sort_keys=False), highlight=False)


@app.command("remove")
def team_remove(
    name: str,
    reason: Annotated[str | None, typer.Option(help="why (audited)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a team (its audit history stays)."""
    s = settings()
    if not yes and not typer.confirm(f"Remove team {name} and its data?"):
        raise typer.Exit(1)
    try:
        with session_scope(engine(s)) as session:
            remove_team(session=session, key=s.secret_key_bytes(), now=now(), actor=actor(), name=name,
                        reason=reason)
    except TeamNotFound as exc:
        raise fail(str(exc)) from None
    out.print(f"team {name} removed")
