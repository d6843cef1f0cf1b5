"""The survey jobs (SPEC §5) and the DMs and posts they send.

``send-survey`` runs on survey_rrule; ``remind-survey`` and ``close-survey`` run every 15 minutes and act only
when something is due. The `/govbot survey` commands in ``slack.py`` send through the same helpers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.db.tables import Survey
from govbot.adapters.scheduler.triggers import RRuleTrigger, every_minutes
from govbot.adapters.slack.client import with_retry_handlers
from govbot.adapters.slack.ids import ActionId
from govbot.adapters.slack.notifier import Notifier, SlackNotifier
from govbot.core import audit
from govbot.core.jobs import JobContext, JobSpec
from govbot.core.teams import StoredTeam
from govbot.domain.schedule import anchor_in
from govbot.domain.surveys import active_items
from govbot.features.surveys import fanout, repo, service
from govbot.features.surveys import messages as ui

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
    return with_retry_handlers(client, handlers)


def fanout_notifier(notifier: Notifier) -> Notifier:
    return SlackNotifier(fanout_client(notifier.client)) if isinstance(notifier, SlackNotifier) else notifier


def invitation_sender(
    notifier: Notifier, *, survey: Survey, team: StoredTeam, reminder: bool = False
) -> fanout.Send:
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
                raise fanout.Undeliverable(str(error)) from None
            raise

    return send


def invitation_finder(notifier: Notifier, *, survey: Survey, team: StoredTeam) -> fanout.AlreadySent | None:
    """An ``already_sent(user_id, since)`` that looks for this survey's invitation in the member's DM, so that a
    run taking over a stopped one never sends an invitation twice (None where Slack cannot be asked)."""
    if not isinstance(notifier, SlackNotifier):
        return None
    assert survey.id is not None
    text, _ = ui.invitation_message(
        survey_id=survey.id, team_name=team.name, questions=len(active_items(survey.disabled_items)),
        closes=ui.when_text(survey.closes_at, team.spec.timezone), k=team.settings.anonymity_min_responses,
    )
    button_value = str(survey.id)

    def is_invitation(message: dict[str, Any]) -> bool:
        buttons = [element for block in message.get("blocks") or [] for element in block.get("elements") or []
                   if isinstance(element, dict)]
        return message.get("text") == text and any(
            b.get("action_id") == ActionId.SURVEY_OPEN and b.get("value") == button_value for b in buttons)

    def already_sent(user_id: str, since: datetime) -> str | None:
        return notifier.find_dm(user=user_id, since=since, matches=is_invitation)

    return already_sent


def results_text(team: StoredTeam, found: repo.ClosedResults) -> ui.ResultsText:
    closed_at = found.survey.closed_at or found.survey.closes_at
    return ui.ResultsText(team_name=team.name, closed=ui.when_text(closed_at, team.spec.timezone),
                          shown=found.shown, deltas=found.deltas, flags=found.flags, k=found.k)


def close_note(session: Session, team: StoredTeam, survey: Survey) -> str:
    found = repo.closed_results(session=session, team=team, survey=survey)
    lines = ui.result_lines(results_text(team, found), with_comments=False)[1:] if found else []
    return ui.close_message(team_name=team.name, lines=lines)


def announce(engine: Engine, notifier: Notifier, team: StoredTeam, survey: Survey, text: str,
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
        pending = repo.pending_invitees(session=ctx.session, survey_id=survey.id, team=ctx.team)
        send = invitation_sender(ctx.notifier, survey=survey, team=ctx.team)
        for user_id in pending:
            send(user_id)  # the dry-run notifier prints it
        return f"{len(pending)} invitations would be sent"
    # Commit first: the survey must exist before anyone can click its button, and on SQLite the fan-out's
    # ledger writes need the write lock this session holds.
    ctx.session.commit()
    notifier = fanout_notifier(ctx.notifier)
    report = service.invite_members(
        engine=ctx.runtime.engine, survey_id=survey.id, team=ctx.team, now=ctx.now,
        send=invitation_sender(notifier, survey=survey, team=ctx.team),
        already_sent=invitation_finder(notifier, survey=survey, team=ctx.team))
    return report.summary("invitations")


def not_due_text(team: StoredTeam, now: datetime) -> str:
    """"No survey is due", with when the next one starts and how to start one now."""
    upcoming = service.next_occurrence(team=team, now=now)
    when = f"the next starts {ui.when_text(upcoming, team.spec.timezone)}" if upcoming else "none is scheduled"
    return f"{service.NOT_DUE}: {when}; `govbot survey start --team {team.name}` starts one now"


def send_survey(ctx: JobContext) -> str:
    """Start the due occurrence's survey (once: the occurrence is unique per team) and invite the team."""
    survey, note = service.start_scheduled(session=ctx.session, key=ctx.key, team=ctx.team, now=ctx.now)
    if survey is None:
        return not_due_text(ctx.team, ctx.now) if note == service.NOT_DUE else note
    return f"{note}; {_invite(ctx, survey)}"


def invite_now(engine: Engine, client: WebClient, *, survey: Survey, team: StoredTeam,
               now: datetime) -> fanout.FanOutReport:
    """DM the survey's invitation to every member not invited yet (each member once, however often this runs)."""
    assert survey.id is not None
    notifier = SlackNotifier(fanout_client(client))
    return service.invite_members(
        engine=engine, survey_id=survey.id, team=team, now=now,
        send=invitation_sender(notifier, survey=survey, team=team),
        already_sent=invitation_finder(notifier, survey=survey, team=team))


def remind_survey(ctx: JobContext) -> str:
    """Resume an interrupted invitation fan-out, then (once due) remind those who have not answered."""
    survey = repo.get_open_survey(session=ctx.session, team_id=ctx.team.id)
    if survey is None or survey.id is None:
        return "no open survey"
    if ctx.now >= survey.closes_at:
        return f"survey {survey.id} is due to close; nothing to send"
    due = ctx.now >= survey.remind_at
    if ctx.dry_run:
        pending = repo.pending_invitees(session=ctx.session, survey_id=survey.id, team=ctx.team)
        targets = repo.reminder_targets(session=ctx.session, key=ctx.key, survey=survey) if due else []
        # Counts only: a list of who would be reminded is a list of who has not answered.
        ctx.echo(f"[dry-run] would send {len(pending)} pending invitations and {len(targets)} reminders")
        return f"{len(pending)} invitations and {len(targets)} reminders would be sent"
    service.reshuffle_open_responses(session=ctx.session, survey_id=survey.id)
    ctx.session.commit()
    notifier = fanout_notifier(ctx.notifier)
    invites = service.invite_members(
        engine=ctx.runtime.engine, survey_id=survey.id, team=ctx.team, now=ctx.now,
        send=invitation_sender(notifier, survey=survey, team=ctx.team),
        already_sent=invitation_finder(notifier, survey=survey, team=ctx.team),
    )
    if not due:
        return (f"{invites.summary('invitations')}; reminder due "
                f"{ui.when_text(survey.remind_at, ctx.team.spec.timezone)}")
    reminders = service.remind_non_responders(
        engine=ctx.runtime.engine, key=ctx.key, survey_id=survey.id, now=ctx.now,
        send=invitation_sender(notifier, survey=survey, team=ctx.team, reminder=True),
    )
    return f"{invites.summary('invitations')}; {reminders.summary('reminders')}"


def close_survey(ctx: JobContext) -> str:
    """Close a survey whose time is up, store its results and post the close note to the team's channel."""
    survey = repo.get_open_survey(session=ctx.session, team_id=ctx.team.id)
    if survey is not None and survey.id is not None and survey.closes_at <= ctx.now:
        service.close_survey(session=ctx.session, key=ctx.key, survey_id=survey.id, now=ctx.now,
                             actor=audit.SYSTEM)
        note = f"survey {survey.id} closed"
    elif survey is not None:
        note = f"survey {survey.id} closes {ui.when_text(survey.closes_at, ctx.team.spec.timezone)}"
    else:
        note = "no open survey"
    last = repo.get_closed_survey(session=ctx.session, team_id=ctx.team.id)
    if last is None or last.closed_at is None or ctx.now - last.closed_at > CLOSE_NOTE_WINDOW:
        return note
    text = close_note(ctx.session, ctx.team, last)
    if ctx.dry_run:
        if last.id == (survey.id if survey else None):
            ctx.notifier.post(channel=ctx.team.spec.digest_channel, text=text)
        return note
    ctx.session.commit()
    if announce(ctx.runtime.engine, ctx.notifier, ctx.team, last, text, ctx.now):
        note += "; close note posted"
    return note


JOBS = (
    JobSpec("send-survey", "start the pulse survey on survey_rrule and DM every member its invitation",
            run=send_survey, schedule=_survey_schedule),
    JobSpec("remind-survey", "finish unsent survey invitations; remind non-responders once when due",
            run=remind_survey, schedule=every_minutes(15)),
    JobSpec("close-survey", "close the open survey after survey_open_hours and compute its results",
            run=close_survey, schedule=every_minutes(15)),
)
