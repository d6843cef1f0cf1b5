"""Pulse surveys on Slack (SPEC §5): `/govbot survey start|status|close|results`, the survey status section,
the ``survey_open`` button and the ``survey_submit`` modal.

The jobs and the DMs they send are in ``jobs.py``, the use cases in ``service.py``, the Block Kit in
``messages.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import Survey
from govbot.adapters.slack import inputs
from govbot.adapters.slack.failures import guarded
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.slack.notifier import SlackNotifier
from govbot.core import teams
from govbot.core.commands import CommandContext, StatusSection, Subcommand
from govbot.core.deps import Runtime
from govbot.core.teams import StoredTeam
from govbot.domain.surveys import active_items
from govbot.features.surveys import messages as ui
from govbot.features.surveys import repo, service
from govbot.features.surveys.jobs import (
    announce,
    close_note,
    invite_now,
    results_text,
)


def disabled_option(value: str | bool | None) -> list[str] | None:
    if value is None:
        return None
    if value is True or not str(value).strip():
        raise service.SurveyRefused("Name the items to leave out, e.g. `--disable review_hours,ai_share` "
                                    "(or `--disable none`).")
    text = str(value).strip().lower()
    return [] if text == "none" else [part.strip() for part in text.split(",") if part.strip()]


def _asked_text(survey: Survey) -> str:
    asked = [item.block_id for item in active_items(survey.disabled_items)]
    left_out = f" (left out: {', '.join(survey.disabled_items)})" if survey.disabled_items else ""
    return f"asking {', '.join(asked)}{left_out}"


def _survey_start(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    tz = team.spec.timezone
    try:
        disabled = disabled_option(ctx.options.get("disable"))
        with session_scope(ctx.runtime.engine) as session:
            survey = service.start_survey(session=session, key=ctx.runtime.key, team=team, now=ctx.now,
                                          actor=ctx.user_id, disabled=disabled)
    except service.SurveyAlreadyOpen as exc:
        ctx.reply(f"A survey is already open for team `{team.name}` until {ui.when_text(exc.closes_at, tz)}. "
                  "`/govbot survey close` closes it early.")
        return
    except service.SurveyRefused as exc:
        ctx.reply(str(exc))
        return
    assert survey.id is not None
    ctx.reply(f"Survey started for team `{team.name}`, {_asked_text(survey)}: inviting "
              f"{len(team.spec.members)} members by DM now. Non-responders get one reminder "
              f"{ui.when_text(survey.remind_at, tz)}; it closes {ui.when_text(survey.closes_at, tz)}.")
    report = invite_now(ctx.runtime.engine, ctx.runtime.slack, survey=survey, team=team, now=ctx.now)
    ctx.reply(f"Survey invitations for team `{team.name}`: {report.summary('invitations')}.")


def status_lines(session: Session, team: StoredTeam) -> list[str]:
    """The survey state for `/govbot status`, `/govbot survey status` and App Home."""
    tz = team.spec.timezone
    lines: list[str] = []
    current = repo.open_status(session=session, team=team)
    if current is not None:
        survey = current.survey
        lines.append(ui.open_survey_line(
            opened=ui.when_text(survey.opened_at, tz), closes=ui.when_text(survey.closes_at, tz),
            remind=ui.when_text(survey.remind_at, tz), invited=current.invited, responses=current.responses,
            rate=current.rate, k=current.k,
        ))
    else:
        lines.append("No survey is open.")
    last = repo.closed_results(session=session, team=team)
    if last is not None:
        closed = ui.when_text(last.survey.closed_at or last.survey.closes_at, tz)
        lines.append(f"Last survey (closed {closed}): {ui.headline(last.shown, k=last.k)}.")
        lines.extend(f":warning: {flag.message}" for flag in last.flags)
    return lines


def _survey_status(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with Session(ctx.runtime.engine) as session:
        lines = [f"*Pulse survey — team {team.name}*", *status_lines(session, team)]
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))


def _survey_close(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with session_scope(ctx.runtime.engine) as session:
        survey = repo.get_open_survey(session=session, team_id=team.id)
        if survey is None or survey.id is None:
            ctx.reply(f"No survey is open for team `{team.name}`.")
            return
        try:
            closed = service.close_survey(session=session, key=ctx.runtime.key, survey_id=survey.id,
                                          now=ctx.now, actor=ctx.user_id)
        except service.SurveyRefused as exc:  # closed by someone else a moment ago
            ctx.reply(str(exc))
            return
        found = repo.closed_results(session=session, team=team, survey=closed)
        lines = ui.result_lines(results_text(team, found)) if found else []
        note = close_note(session, team, closed)
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))
    announce(ctx.runtime.engine, SlackNotifier(ctx.runtime.slack), team, closed, note, ctx.now)


def _survey_results(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with Session(ctx.runtime.engine) as session:
        found = repo.closed_results(session=session, team=team)
        current = repo.get_open_survey(session=session, team_id=team.id)
    if found is not None:
        lines = ui.result_lines(results_text(team, found))
    else:
        lines = [f"No survey of team `{team.name}` has closed yet."]
    if current is not None:
        # No live results: comparing two looks before and after one answer would reveal that answer.
        closes = ui.when_text(current.closes_at, team.spec.timezone)
        lines.append(f"A survey is open until {closes}: its results are computed when it closes.")
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))


def survey_status_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """The survey part of `/govbot status` and App Home: open survey and response rate, last indices."""
    return ui.text_blocks(status_lines(session, team))


# --- the button and the modal ---


def _modal_for(runtime: Runtime, *, user_id: str, value: str | None, now: datetime) -> Any:
    survey_id = inputs.row_id(value)
    if survey_id is None:
        return ui.notice_modal("This survey button is not valid any more.")
    with Session(runtime.engine) as session:
        checked = service.check_answerable(session=session, key=runtime.key, survey_id=survey_id,
                                           user_id=user_id, now=now)
        if isinstance(checked, service.Refused):
            return ui.notice_modal(checked.message)
        team = teams.get_team_by_id(session=session, team_id=checked.team_id)
    assert team is not None
    closes = ui.when_text(checked.closes_at, team.spec.timezone)
    return ui.survey_modal(survey_id=survey_id, team_id=team.id, team_name=team.name, closes=closes,
                           disabled=checked.disabled_items, k=team.settings.anonymity_min_responses)


def _submit(runtime: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    """Store the answers, then ack: once Slack has the ack, the answers are committed."""
    submitted = inputs.submission(body)
    metadata = ui.SurveyModalMetadata.load(submitted.private_metadata) if submitted else None
    if submitted is None or metadata is None:
        ack(response_action="update", view=ui.notice_modal("This form is not a current govbot survey, so "
                                                            "nothing was stored.").to_dict())
        return
    raw = ui.submitted_answers(submitted.values)
    with session_scope(runtime.engine) as session:
        outcome = service.submit_response(session=session, key=runtime.key, survey_id=metadata.survey_id,
                                          team_id=metadata.team_id, user_id=submitted.user_id, raw=raw,
                                          now=runtime.clock())
        team = teams.get_team_by_id(session=session, team_id=metadata.team_id)
    if isinstance(outcome, service.Refused):
        if outcome.errors:
            ack(response_action="errors", errors=dict(outcome.errors))
        else:
            ack(response_action="update", view=ui.notice_modal(outcome.message).to_dict())
        return
    k = team.settings.anonymity_min_responses if team else 5
    ack(response_action="update", view=ui.thanks_modal(k).to_dict())


def register(app: App, runtime: Runtime) -> None:
    """The invitation button opens the survey modal; the modal's submission stores the answers."""

    @app.action(ActionId.SURVEY_OPEN)
    @guarded
    def open_survey(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        clicked = inputs.click(body)
        if clicked is None or clicked.trigger_id is None:
            return  # Slack always says who clicked and sends a trigger: this did not come from a Slack client
        modal = _modal_for(runtime, user_id=clicked.user_id, value=clicked.value, now=runtime.clock())
        client.views_open(trigger_id=clicked.trigger_id, view=modal)

    @app.view(CallbackId.SURVEY_SUBMIT)
    @guarded
    def submit_survey(ack: Ack, body: dict[str, Any]) -> None:
        _submit(runtime, ack, body)


SUBCOMMANDS = (
    Subcommand("survey start", usage="survey start [--disable ITEM,ITEM]", who="managers", handler=_survey_start,
               summary="run a pulse survey now: every member gets a DM", lane="fanout"),
    Subcommand("survey status", who="managers", handler=_survey_status,
               summary="the open survey's response rate and the last results"),
    Subcommand("survey close", who="managers", handler=_survey_close,
               summary="close the open survey now and compute its results"),
    Subcommand("survey results", who="members", handler=_survey_results,
               summary="the last survey's results (anonymity applies)"),
)
STATUS_SECTIONS = (StatusSection(order=40, title="Pulse survey", render=survey_status_section),)
