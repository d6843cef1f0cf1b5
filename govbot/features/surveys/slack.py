"""Pulse surveys on the Slack surface and in the scheduler (SPEC §5).

Jobs ``send-survey`` (on survey_rrule), ``remind-survey`` and ``close-survey`` (every 15 minutes, acting only
when something is due); `/govbot survey start|status|close|results`; the survey section of `/govbot status`
and App Home; the ``survey_open`` button and the ``survey_submit`` modal. The use cases live in
``govbot.features.surveys.service`` and the Block Kit in ``govbot.features.surveys.messages``; this module wires them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import Survey
from govbot.adapters.scheduler.context import JobContext, job
from govbot.adapters.scheduler.triggers import RRuleTrigger, every_minutes
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.slack.notifier import Notifier, SlackNotifier
from govbot.core import audit
from govbot.core import teams as repo
from govbot.core.commands import CommandContext
from govbot.core.registry import listeners, status_section, subcommand
from govbot.core.teams import StoredTeam
from govbot.domain.schedule import anchor_in
from govbot.domain.surveys import BLOCK_IDS as ANSWER_BLOCKS
from govbot.domain.surveys import active_items
from govbot.features.surveys import messages as ui
from govbot.features.surveys import service

if TYPE_CHECKING:
    from govbot.runtime import Runtime

# A fan-out of hundreds of DMs runs into Slack's rate limit on purpose and waits each 429 out; the shared
# client's budget (6 retries) is for single calls, so the fan-out gets a client of its own with more.
FANOUT_RATE_LIMIT_RETRIES = 30
# Errors Slack gives for one recipient that no retry can fix: the invitation is recorded as undeliverable.
UNDELIVERABLE_ERRORS = frozenset(
    {"user_not_found", "channel_not_found", "account_inactive", "user_disabled", "cannot_dm_bot"}
)
CLOSE_NOTE_WINDOW = timedelta(days=1)  # a close note later than this is stale news: not posted


# --- Slack sending ---


def fanout_client(client: WebClient) -> WebClient:
    """A copy of ``client`` whose rate-limit retry handler has the larger fan-out budget."""
    handlers = [
        RateLimitErrorRetryHandler(max_retry_count=FANOUT_RATE_LIMIT_RETRIES)
        if isinstance(handler, RateLimitErrorRetryHandler) else handler
        for handler in client.retry_handlers
    ]
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                     proxy=client.proxy, headers=dict(client.headers), retry_handlers=handlers)


def _fanout_notifier(notifier: Notifier) -> Notifier:
    return SlackNotifier(fanout_client(notifier.client)) if isinstance(notifier, SlackNotifier) else notifier


def invitation_sender(
    notifier: Notifier, *, survey: Survey, team: StoredTeam, reminder: bool = False
) -> service.Send:
    """A ``send(user_id)`` that DMs this survey's invitation (or reminder) with its ``survey_open`` button."""
    assert survey.id is not None
    text, blocks = ui.invitation_message(
        survey_id=survey.id, team_name=team.name, questions=len(active_items(survey.disabled_items)),
        closes=ui.when_text(survey.closes_at, team.spec.timezone), k=team.settings.anonymity_min_responses,
        reminder=reminder,
    )
    rendered = [block.to_dict() for block in blocks]

    def send(user_id: str) -> str | None:
        try:
            return notifier.dm(user=user_id, text=text, blocks=rendered)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if exc.response is not None and exc.response.status_code == 200 and error in UNDELIVERABLE_ERRORS:
                raise service.Undeliverable(str(error)) from None
            raise

    return send


def _results_text(team: StoredTeam, found: service.ClosedResults) -> ui.ResultsText:
    closed_at = found.survey.closed_at or found.survey.closes_at
    return ui.ResultsText(team_name=team.name, closed=ui.when_text(closed_at, team.spec.timezone),
                          shown=found.shown, deltas=found.deltas, flags=found.flags, k=found.k)


def _close_note(session: Session, team: StoredTeam, survey: Survey) -> str:
    found = service.closed_results(session=session, team=team, survey=survey)
    lines = ui.result_lines(_results_text(team, found), with_comments=False)[1:] if found else []
    return ui.close_message(team_name=team.name, lines=lines)


def _announce(engine: Engine, notifier: Notifier, team: StoredTeam, survey: Survey, text: str,
              now: datetime) -> bool:
    def send() -> str | None:
        return notifier.post(channel=team.spec.digest_channel, text=text)

    return service.announce_close(engine=engine, survey=survey, send=send, now=now)


# --- jobs ---


def _survey_schedule(team: StoredTeam) -> RRuleTrigger:
    tz = team.spec.timezone
    return RRuleTrigger(team.settings.survey_rrule, timezone=tz, anchor=anchor_in(tz))


def _invite(ctx: JobContext, survey: Survey) -> str:
    assert survey.id is not None
    if ctx.dry_run:
        pending = service.pending_invitees(session=ctx.session, survey_id=survey.id, team=ctx.team)
        send = invitation_sender(ctx.notifier, survey=survey, team=ctx.team)
        for user_id in pending:
            send(user_id)  # the dry-run notifier prints it
        return f"{len(pending)} invitations would be sent"
    # Commit first: the survey must exist before anyone can click its button, and on SQLite the fan-out's
    # ledger writes need the write lock this session holds.
    ctx.session.commit()
    send = invitation_sender(_fanout_notifier(ctx.notifier), survey=survey, team=ctx.team)
    report = service.invite_members(engine=ctx.runtime.engine, survey_id=survey.id, team=ctx.team, send=send,
                                    now=ctx.now)
    return report.summary("invitations")


@job("send-survey", "start the pulse survey on survey_rrule and DM every member its invitation",
     schedule=_survey_schedule)
def send_survey(ctx: JobContext) -> str:
    """Start the due occurrence's survey (once: the occurrence is unique per team) and invite the team."""
    survey, note = service.start_scheduled(session=ctx.session, key=ctx.key, team=ctx.team, now=ctx.now)
    if survey is None:
        return note
    return f"{note}; {_invite(ctx, survey)}"


@job("remind-survey", "finish unsent survey invitations; remind non-responders once when due",
     schedule=every_minutes(15))
def remind_survey(ctx: JobContext) -> str:
    """Resume an interrupted invitation fan-out, then (once due) remind those who have not answered."""
    survey = service.get_open_survey(session=ctx.session, team_id=ctx.team.id)
    if survey is None or survey.id is None:
        return "no open survey"
    if ctx.now >= survey.closes_at:
        return f"survey {survey.id} is due to close; nothing to send"
    due = ctx.now >= survey.remind_at
    if ctx.dry_run:
        pending = service.pending_invitees(session=ctx.session, survey_id=survey.id, team=ctx.team)
        targets = service.reminder_targets(session=ctx.session, key=ctx.key, survey=survey) if due else []
        # Counts only: a list of who would be reminded is a list of who has not answered.
        ctx.echo(f"[dry-run] would send {len(pending)} pending invitations and {len(targets)} reminders")
        return f"{len(pending)} invitations and {len(targets)} reminders would be sent"
    service.reshuffle_open_responses(session=ctx.session, survey_id=survey.id)
    ctx.session.commit()
    notifier = _fanout_notifier(ctx.notifier)
    invites = service.invite_members(
        engine=ctx.runtime.engine, survey_id=survey.id, team=ctx.team, now=ctx.now,
        send=invitation_sender(notifier, survey=survey, team=ctx.team),
    )
    if not due:
        return f"{invites.summary('invitations')}; reminder due {survey.remind_at.isoformat()}"
    reminders = service.remind_non_responders(
        engine=ctx.runtime.engine, key=ctx.key, survey_id=survey.id, now=ctx.now,
        send=invitation_sender(notifier, survey=survey, team=ctx.team, reminder=True),
    )
    return f"{invites.summary('invitations')}; {reminders.summary('reminders')}"


@job("close-survey", "close the open survey after survey_open_hours and compute its results",
     schedule=every_minutes(15))
def close_survey(ctx: JobContext) -> str:
    """Close a survey whose time is up, store its results and post the close note to the team's channel."""
    survey = service.get_open_survey(session=ctx.session, team_id=ctx.team.id)
    if survey is not None and survey.id is not None and survey.closes_at <= ctx.now:
        service.close_survey(session=ctx.session, key=ctx.key, survey_id=survey.id, now=ctx.now,
                             actor=audit.SYSTEM)
        note = f"survey {survey.id} closed"
    elif survey is not None:
        note = f"survey {survey.id} closes {survey.closes_at.isoformat()}"
    else:
        note = "no open survey"
    last = service.get_closed_survey(session=ctx.session, team_id=ctx.team.id)
    if last is None or last.closed_at is None or ctx.now - last.closed_at > CLOSE_NOTE_WINDOW:
        return note
    text = _close_note(ctx.session, ctx.team, last)
    if ctx.dry_run:
        if last.id == (survey.id if survey else None):
            ctx.notifier.post(channel=ctx.team.spec.digest_channel, text=text)
        return note
    ctx.session.commit()
    if _announce(ctx.runtime.engine, ctx.notifier, ctx.team, last, text, ctx.now):
        note += "; close note posted"
    return note


# --- /govbot survey … ---


def _disabled_option(value: str | bool | None) -> list[str] | None:
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


@subcommand("survey start", usage="survey start [--disable ITEM,ITEM]",
            summary="run a pulse survey now: every member gets a DM", who="managers")
def _survey_start(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    tz = team.spec.timezone
    try:
        disabled = _disabled_option(ctx.options.get("disable"))
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
    send = invitation_sender(SlackNotifier(fanout_client(ctx.runtime.slack)), survey=survey, team=team)
    report = service.invite_members(engine=ctx.runtime.engine, survey_id=survey.id, team=team, send=send,
                                    now=ctx.now)
    ctx.reply(f"Survey invitations for team `{team.name}`: {report.summary('invitations')}.")


def status_lines(session: Session, team: StoredTeam) -> list[str]:
    """The survey state for `/govbot status`, `/govbot survey status` and App Home."""
    tz = team.spec.timezone
    lines: list[str] = []
    current = service.open_status(session=session, team=team)
    if current is not None:
        survey = current.survey
        lines.append(ui.open_survey_line(
            opened=ui.when_text(survey.opened_at, tz), closes=ui.when_text(survey.closes_at, tz),
            remind=ui.when_text(survey.remind_at, tz), invited=current.invited, responses=current.responses,
            rate=current.rate, k=current.k,
        ))
    else:
        lines.append("No survey is open.")
    last = service.closed_results(session=session, team=team)
    if last is not None:
        closed = ui.when_text(last.survey.closed_at or last.survey.closes_at, tz)
        lines.append(f"Last survey (closed {closed}): {ui.headline(last.shown, k=last.k)}.")
        lines.extend(f":warning: {flag.message}" for flag in last.flags)
    return lines


@subcommand("survey status", summary="the open survey's response rate and the last results", who="managers")
def _survey_status(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with Session(ctx.runtime.engine) as session:
        lines = [f"*Pulse survey — team {team.name}*", *status_lines(session, team)]
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))


@subcommand("survey close", summary="close the open survey now and compute its results", who="managers")
def _survey_close(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with session_scope(ctx.runtime.engine) as session:
        survey = service.get_open_survey(session=session, team_id=team.id)
        if survey is None or survey.id is None:
            ctx.reply(f"No survey is open for team `{team.name}`.")
            return
        try:
            closed = service.close_survey(session=session, key=ctx.runtime.key, survey_id=survey.id,
                                          now=ctx.now, actor=ctx.user_id)
        except service.SurveyRefused as exc:  # closed by someone else a moment ago
            ctx.reply(str(exc))
            return
        found = service.closed_results(session=session, team=team, survey=closed)
        lines = ui.result_lines(_results_text(team, found)) if found else []
        note = _close_note(session, team, closed)
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))
    _announce(ctx.runtime.engine, SlackNotifier(ctx.runtime.slack), team, closed, note, ctx.now)


@subcommand("survey results", summary="the last survey's results (anonymity applies)", who="members")
def _survey_results(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    with Session(ctx.runtime.engine) as session:
        found = service.closed_results(session=session, team=team)
        current = service.get_open_survey(session=session, team_id=team.id)
    if found is not None:
        lines = ui.result_lines(_results_text(team, found))
    else:
        lines = [f"No survey of team `{team.name}` has closed yet."]
    if current is not None:
        # No live results: comparing two looks before and after one answer would reveal that answer.
        closes = ui.when_text(current.closes_at, team.spec.timezone)
        lines.append(f"A survey is open until {closes}: its results are computed when it closes.")
    ctx.reply("\n".join(lines), blocks=ui.text_blocks(lines))


@status_section(40, "Pulse survey")
def survey_status_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """The survey part of `/govbot status` and App Home: open survey and response rate, last indices."""
    return ui.text_blocks(status_lines(session, team))


# --- the button and the modal ---


def _modal_for(runtime: Runtime, *, user_id: str, value: str | None, now: datetime) -> Any:
    try:
        survey_id = int(value or "")
    except ValueError:
        return ui.notice_modal("This survey button is not valid any more.")
    with Session(runtime.engine) as session:
        checked = service.check_answerable(session=session, key=runtime.key, survey_id=survey_id,
                                           user_id=user_id, now=now)
        if isinstance(checked, service.Refused):
            return ui.notice_modal(checked.message)
        team = repo.get_team_by_id(session=session, team_id=checked.team_id)
    assert team is not None
    closes = ui.when_text(checked.closes_at, team.spec.timezone)
    return ui.survey_modal(survey_id=survey_id, team_id=team.id, team_name=team.name, closes=closes,
                           disabled=checked.disabled_items, k=team.settings.anonymity_min_responses)


def _submit(runtime: Runtime, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Store the answers, then ack: once Slack has the ack, the answers are committed."""
    metadata = ui.SurveyModalMetadata.load(view.get("private_metadata"))
    if metadata is None:
        ack(response_action="update", view=ui.notice_modal("This form is not a current govbot survey, so "
                                                            "nothing was stored.").to_dict())
        return
    raw = ui.submitted_answers((view.get("state") or {}).get("values") or {})
    with session_scope(runtime.engine) as session:
        outcome = service.submit_response(session=session, key=runtime.key, survey_id=metadata.survey_id,
                                          team_id=metadata.team_id, user_id=body["user"]["id"], raw=raw,
                                          now=runtime.clock())
        team = repo.get_team_by_id(session=session, team_id=metadata.team_id)
    if isinstance(outcome, service.Refused):
        if outcome.errors:
            ack(response_action="errors", errors=dict(outcome.errors))
        else:
            ack(response_action="update", view=ui.notice_modal(outcome.message).to_dict())
        return
    k = team.settings.anonymity_min_responses if team else 5
    ack(response_action="update", view=ui.thanks_modal(k).to_dict())


@listeners
def survey_listeners(app: App, runtime: Runtime) -> None:
    """The invitation button opens the survey modal; the modal's submission stores the answers."""

    @app.action(ActionId.SURVEY_OPEN)
    def open_survey(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        user_id = body["user"]["id"]
        modal = _modal_for(runtime, user_id=user_id, value=action.get("value"), now=runtime.clock())
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view(CallbackId.SURVEY_SUBMIT)
    def submit_survey(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        _submit(runtime, ack, body, view)


# --- the demo ---

_DEMO_WEIGHTS: dict[str, list[int]] = {
    "burnout": [3, 4, 2, 1, 0],
    "review_drain": [1, 2, 3, 3, 1],
    "review_hours": [1, 3, 3, 2, 1],
    "learning": [0, 1, 2, 4, 2],
    "comprehension": [0, 2, 2, 3, 1],
    "ai_share": [2, 3, 2, 1],
}
_DEMO_COMMENTS = [
    "Reviewing AI-generated PRs takes longer than writing the code myself.",
    "The refactoring sprint helped: I finally understand the payments flow.",
    "Too many large diffs land on Friday afternoons.",
    "Pairing on the ledger changes was the best part of this sprint.",
]


def _wait_until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo survey step timed out waiting for {what}")
        time.sleep(0.05)


def _simulated_answers(rng: random.Random, block_ids: list[str]) -> dict[str, int | str | None]:
    answers: dict[str, int | str | None] = {}
    for block_id in block_ids:
        if block_id == "comment":
            answers[block_id] = rng.choice(_DEMO_COMMENTS) if rng.random() < 0.5 else None
        elif block_id in _DEMO_WEIGHTS:
            weights = _DEMO_WEIGHTS[block_id]
            answers[block_id] = rng.choices(range(1, len(weights) + 1), weights=weights)[0]
    return answers


class RunningBot(Protocol):
    """What the demo step drives: the running bot's runtime, the Slack sandbox and the request simulator."""

    runtime: Runtime
    sandbox: Any  # govbot.sandbox.slack_api.SlackSandbox
    sim: Any  # govbot.sandbox.slack_client.SlackRequestSimulator


def demo_survey_step(
    bot: RunningBot, *, team_name: str = "payments", respondents: int | None = None, seed: int = 2026,
    timeout: float = 30.0,
) -> list[str]:
    """Run one survey through the real Slack surface and return its results as printable lines.

    A manager runs `/govbot survey start`; each responding member clicks the invitation's button (the modal
    opens through the sandbox's views.open) and submits simulated answers through the ``survey_submit`` modal;
    the manager runs `/govbot survey close`. ``respondents`` defaults to all members but one.
    """
    from govbot.sandbox.slack_api import dm_channel_id

    runtime, sandbox, sim = bot.runtime, bot.sandbox, bot.sim
    with Session(runtime.engine) as session:
        team = repo.get_team(session=session, name=team_name)
    if team is None:
        raise RuntimeError(f"the demo needs team {team_name!r}")
    manager, channel = team.spec.managers[0], team.spec.digest_channel
    members = [m.slack for m in team.spec.members]
    sim.slash_command(f"survey start --team {team_name}", user_id=manager, channel_id=channel)

    def invited() -> Survey | None:
        with Session(runtime.engine) as session:
            survey = service.get_open_survey(session=session, team_id=team.id)
            if survey is None or survey.id is None:
                return None
            done = service.delivered_invitations(session=session, survey_id=survey.id)
            return survey if len(done) == len(members) else None

    survey = _wait_until(invited, timeout=timeout, what="the invitations")
    rng = random.Random(seed)
    count = len(members) - 1 if respondents is None else respondents
    for user_id in members[:count]:
        click = sim.block_action(user_id=user_id, action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                                 channel_id=dm_channel_id(user_id))

        def opened(trigger: str | None = click.trigger_id) -> dict[str, Any] | None:
            calls = [c for c in sandbox.calls_of("views.open")
                     if c.body.get("trigger_id") == trigger and not c.failed]
            return calls[-1].body["view"] if calls else None

        modal = _wait_until(opened, timeout=timeout, what="the survey modal")
        block_ids = [b["block_id"] for b in modal["blocks"] if b.get("type") == "input"]
        answers = _simulated_answers(rng, block_ids)
        metadata = modal["private_metadata"]
        answer = sim.view_submission(user_id=user_id, callback_id=CallbackId.SURVEY_SUBMIT,
                                     values=ui.state_values(answers), private_metadata=metadata)
        if "Thank you" not in answer.body:
            raise RuntimeError(f"a demo answer was not stored: {answer.status} {answer.body[:200]}")
    again = sim.view_submission(user_id=members[0], callback_id=CallbackId.SURVEY_SUBMIT,
                                values=ui.state_values(_simulated_answers(rng, list(ANSWER_BLOCKS))),
                                private_metadata=modal["private_metadata"])
    refused = service.ALREADY_ANSWERED if service.ALREADY_ANSWERED in again.body else "NOT REFUSED"
    lines = [
        f"{manager}: /govbot survey start → {len(members)} invitations, one DM per member, with a button",
        f"{count} members clicked it (views.open → survey_submit modal) and answered, none linked to a name",
        f"{members[0]} answering a second time → {refused}",
        f"{manager}: /govbot survey close → results (shown because {count} ≥ anonymity_min_responses "
        f"{team.settings.anonymity_min_responses}):",
    ]
    sim.slash_command(f"survey close --team {team_name}", user_id=manager, channel_id=channel)

    def closed() -> service.ClosedResults | None:
        with Session(runtime.engine) as session:
            row = session.get(Survey, survey.id)
            if row is None or row.status != "closed":
                return None
            return service.closed_results(session=session, team=team, survey=row)

    found = _wait_until(closed, timeout=timeout, what="the survey to close")
    return [*lines, *("  " + line.replace("*", "") for line in ui.result_lines(_results_text(team, found)))]
