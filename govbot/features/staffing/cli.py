"""`govbot violations list`: the staffing and zone violations from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from govbot.core import teams
from govbot.core.cli import engine, fail, out, settings
from govbot.features.staffing import messages, repo

app = typer.Typer(name="violations", help="The staffing and zone violations (rules R1–R6).", no_args_is_help=True)
STATUSES = ("open", "acknowledged", "resolved", "all")


@app.command("list")
def violations_list(
    team: Annotated[str, typer.Option(help="team name")],
    status: Annotated[str, typer.Option(help="open, acknowledged, resolved or all")] = "open",
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",  # noqa: A002
) -> None:
    """The team's violations, oldest first (JSON: a list of objects with id, rule, severity, issue, person,
    detail, status, opened_at, acknowledged_by, reason)."""
    if status not in STATUSES:
        raise fail("--status must be open, acknowledged, resolved or all")
    if format not in ("text", "json"):
        raise fail("--format must be text or json")
    with Session(engine(settings())) as session:
        stored = teams.get_team(session=session, name=team.strip().lower())
        if stored is None:
            raise fail(f"no team is named {team!r}: `govbot team list` shows the teams")
        rows = repo.listing(session=session, team_id=stored.id, status=status)
    if format == "json":
        typer.echo(json.dumps([messages.as_json(row) for row in rows], indent=2, ensure_ascii=False))
    else:
        out.print(messages.as_text(rows, team=stored.name, status=status), markup=False, highlight=False)
