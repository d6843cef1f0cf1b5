"""`govbot survey start`: start a pulse survey now from the command line, as `/govbot survey start` does."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.client import make_slack_client
from govbot.config import ConfigError
from govbot.core import teams
from govbot.core.cli import actor, engine, fail, now_or_as_of, out, settings
from govbot.features.surveys import messages as ui
from govbot.features.surveys import repo, service
from govbot.features.surveys.jobs import invite_now
from govbot.features.surveys.slack import disabled_option

app = typer.Typer(name="survey", help="Pulse surveys.", no_args_is_help=True)


@app.command("start")
def survey_start(
    team: Annotated[str, typer.Option("--team", help="the team's name")],
    disable: Annotated[str | None, typer.Option(help="items to leave out, e.g. review_hours,ai_share (or none)")]
    = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="start it as if the clock read this ISO time")]
    = None,
) -> None:
    """Start a survey now and invite every member by DM (run again, it invites only those not invited yet)."""
    s = settings()
    try:
        s.require("slack_bot_token")
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    when = now_or_as_of(as_of)
    eng = engine(s)
    with Session(eng) as session:
        stored = teams.get_team(session=session, name=team.strip().lower())
    if stored is None:
        raise fail(f"no team is named {team!r}: `govbot team list` shows the teams")
    tz = stored.spec.timezone
    try:
        with session_scope(eng) as session:
            survey = service.start_survey(session=session, key=s.secret_key_bytes(), team=stored, now=when,
                                          actor=actor(), disabled=disabled_option(disable))
        out.print(f"survey started for team {stored.name}: reminder {ui.when_text(survey.remind_at, tz)}, closes "
                  f"{ui.when_text(survey.closes_at, tz)}; inviting {len(stored.spec.members)} members by DM",
                  highlight=False)
    except service.SurveyAlreadyOpen as exc:
        with Session(eng) as session:
            found = repo.get_open_survey(session=session, team_id=stored.id)
        if found is None:  # closed in between
            raise fail(f"the survey of team {stored.name} closed just now: run the command again") from None
        survey = found
        out.print(f"a survey is already open for team {stored.name} until {ui.when_text(exc.closes_at, tz)}: "
                  "inviting only members not invited yet (`/govbot survey close` closes it early)", highlight=False)
    except service.SurveyRefused as exc:
        raise fail(str(exc)) from None
    report = invite_now(eng, make_slack_client(s), survey=survey, team=stored, now=when)
    out.print(f"invitations: {report.summary('invitations')}", highlight=False)
