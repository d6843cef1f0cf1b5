"""Two-track staffing on the Slack surface: the track nudge's buttons, the violation acknowledgement (button and
modal), `/govbot track KEY human-first|ai-heavy`, and the Tracks section of `/govbot status` and the App Home.

Every action is authorised on the server; a forged value, a click by someone who may not, or Jira trouble gets
one polite sentence and changes nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from sqlmodel import Session

from govbot.adapters.slack import inputs
from govbot.adapters.slack.blocks import notice_view, seal, text_value, unseal
from govbot.adapters.slack.failures import guarded
from govbot.adapters.slack.ids import COMMAND, ActionId, CallbackId
from govbot.adapters.tracker import TrackerError
from govbot.config import ConfigError
from govbot.core import delivery, teams
from govbot.core.commands import CommandContext, StatusSection, Subcommand
from govbot.core.deps import Runtime
from govbot.core.lanes import BUSY
from govbot.core.teams import StoredTeam
from govbot.domain.tracks import Track
from govbot.features.staffing import actions, messages, repo
from govbot.features.staffing.service import SprintRead, policy_of

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"([A-Z][A-Z0-9_]{0,9})-[1-9][0-9]{0,8}")
TRACK_USAGE = f"`{COMMAND} track ISSUE-KEY human-first|ai-heavy`, e.g. `{COMMAND} track PAY-123 human-first`"
CLICK_KIND = "track-click"
NO_JIRA = "govbot has no Jira connection configured: ask your govbot admin. Nothing was changed."


def issue_key_of(text: str, team: StoredTeam) -> str:
    """``text`` as an issue key of the team's project, else TrackRefused saying what a key looks like.

    Checked before any Jira call: nothing but a well-formed key of this project ever reaches JQL or a URL.
    """
    match = KEY_PATTERN.fullmatch(text or "")
    if match is None:
        raise actions.TrackRefused(f"That is not a Jira issue key. Usage: {TRACK_USAGE}.")
    if match.group(1) != team.spec.jira_project:
        raise actions.TrackRefused(f"{text} is not an issue of team `{team.name}`'s Jira project "
                                   f"{team.spec.jira_project}. Usage: {TRACK_USAGE}.")
    return text


def track_of_word(word: str, team: StoredTeam) -> Track | None:
    """`human-first` / `ai-heavy` (or the team's own label names), case-insensitively."""
    folded = (word or "").casefold()
    labels = team.settings.labels
    if folded in ("human-first", labels.human_first.casefold()):
        return "human-first"
    if folded in ("ai-heavy", labels.ai_heavy.casefold()):
        return "ai-heavy"
    return None


# --- /govbot track


def _track_command(ctx: CommandContext) -> None:
    team = ctx.team
    assert team is not None
    if len(ctx.args) != 2 or track_of_word(ctx.args[1], team) is None:
        ctx.reply(f"Usage: {TRACK_USAGE}.")
        return
    track = track_of_word(ctx.args[1], team)
    assert track is not None
    try:
        key = issue_key_of(ctx.args[0], team)
        tracker = ctx.runtime.tracker()
        result = actions.set_track(engine=ctx.runtime.engine, key=ctx.runtime.key, tracker=tracker, team=team,
                                   issue_key=key, track=track, actor=ctx.user_id, now=ctx.now)
        split = actions.split_after(tracker=tracker, team=team, result=result)
    except actions.TrackRefused as refused:
        ctx.reply(f"{refused} Nothing was changed.")
        return
    except ConfigError:
        ctx.reply(NO_JIRA)
        return
    except TrackerError as error:
        ctx.reply(f"Nothing was changed: {messages.escape(str(error))}")
        return
    finally:
        ctx.runtime.render_cache.forget_kind("tracks")  # a label may have changed the sprint's split
    how = "was already" if result.already else "is now"
    settings = team.settings
    ctx.reply(f"{result.key} {how} *{messages.escape(result.label)}*. " + messages.split_sentence(
        split, target_pct=settings.track_target_human_first_pct, tolerance_pct=settings.track_tolerance_pct))


# --- the nudge's buttons


def _team_for_issue(session: Session, user_id: str, key: str) -> StoredTeam | None:
    """The team this issue belongs to (by project) among the teams the user is in."""
    match = KEY_PATTERN.fullmatch(key or "")
    if match is None:
        return None
    mine = teams.teams_of_user(session=session, user_id=user_id)
    return next((t for t in mine if t.spec.jira_project == match.group(1)), None)


def on_track_click(runtime: Runtime, body: dict[str, Any], respond: Respond) -> None:
    """Write the chosen track label once (Slack may deliver the click twice), then replace the buttons."""
    clicked = inputs.click(body)
    track = messages.TRACK_OF_ACTION.get(clicked.action_id) if clicked else None
    if clicked is None or track is None or clicked.response_url is None:
        return  # Slack says who clicked which button in which message: this did not come from a Slack client
    key, user_id = clicked.value, clicked.user_id
    now = runtime.clock()
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = _team_for_issue(session, user_id, key)
        if team is None:
            respond(text="This button is not for an issue of one of your teams, so nothing was changed.",
                    response_type="ephemeral", replace_original=False)
            return
        first = delivery.mark_once(session=session, kind=CLICK_KIND, now=now, team_id=team.id,
                                   key=f"{user_id}:{key}:{clicked.action_ts or clicked.trigger_id}")
        session.commit()
    if not first:
        return  # Slack's retry of a click already handled
    try:
        result = actions.set_track(engine=runtime.engine, key=runtime.key, tracker=runtime.tracker(), team=team,
                                   issue_key=key, track=track, actor=user_id, now=now, assignee_or_manager=True)
    except actions.TrackRefused as refused:
        respond(text=f"{refused} Nothing was changed.", response_type="ephemeral", replace_original=False)
        return
    except (TrackerError, ConfigError) as error:
        respond(text=f"Jira could not be updated, so nothing was changed: {error} Try the button again later.",
                response_type="ephemeral", replace_original=False)
        return
    text, blocks = messages.track_chosen(key=key, label=result.label, user=user_id,
                                         jira_url=runtime.settings.jira_url, already=result.already)
    respond(text=text, blocks=[b.to_dict() for b in blocks], replace_original=True)


# --- acknowledging a violation


def ack_modal_for(runtime: Runtime, *, user_id: str, value: str | None) -> Any:
    """The acknowledgement modal, or a notice saying why there is nothing to acknowledge."""
    violation_id = inputs.row_id(value)
    if violation_id is None:
        return notice_view(messages.MODAL_TITLE, "This button is not valid any more.")
    with Session(runtime.engine) as session:
        row = repo.get(session=session, violation_id=violation_id)
        team = teams.get_team_by_id(session=session, team_id=row.team_id) if row else None
    if row is None or team is None:
        return notice_view(messages.MODAL_TITLE, "This violation does not exist any more.")
    if not team.is_manager(user_id):
        return notice_view(messages.MODAL_TITLE, f"Sorry, only the managers of team `{team.name}` can acknowledge "
                                                 "a violation.")
    if row.status != "open":
        state = "resolved: the rule holds again" if row.status == "resolved" else (
            f"acknowledged by <@{row.acknowledged_by}>: “{messages.escape(row.reason or '')}”")
        return notice_view(messages.MODAL_TITLE, f"{messages.rule_name(row.rule)} is already {state}.")
    sealed = seal(messages.AckMetadata(violation_id=violation_id), key=runtime.key, purpose=CallbackId.VIOLATION_ACK)
    return messages.ack_modal(row, metadata=sealed)


def on_ack_submit(runtime: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    """Acknowledge with the reason; a missing reason is answered on the field, a refusal in the modal."""
    submitted = inputs.submission(body)
    metadata = unseal(submitted.private_metadata, messages.AckMetadata, key=runtime.key,
                      purpose=CallbackId.VIOLATION_ACK) if submitted else None
    if submitted is None or metadata is None:
        notice = notice_view(messages.MODAL_TITLE, "This form is not a current govbot acknowledgement: nothing was "
                             "saved.")
        ack(response_action="update", view=notice.to_dict())
        return
    reason = text_value(submitted.values, messages.REASON_BLOCK)
    if len(reason) < 3:
        ack(response_action="errors", errors={messages.REASON_BLOCK: "Give a reason (at least 3 characters): it "
                                                                     "is kept in the audit trail."})
        return
    outcome = actions.acknowledge(engine=runtime.engine, key=runtime.key, violation_id=metadata.violation_id,
                                  user_id=submitted.user_id, reason=reason, now=runtime.clock())
    ack(response_action="update", view=notice_view(messages.MODAL_TITLE, outcome.message).to_dict())


def _click_then_forget(runtime: Runtime, body: dict[str, Any], respond: Respond) -> None:
    try:
        on_track_click(runtime, body, respond)
    finally:
        runtime.render_cache.forget_kind("tracks")  # a label may have changed a sprint's split


def register(app: App, runtime: Runtime) -> None:
    """The nudge's two buttons, the acknowledge button and its modal."""

    @guarded
    def track_clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        # The Jira write runs on the jira lane; the request thread only acks.
        if not runtime.lanes.submit("jira", _click_then_forget, runtime, body, respond):
            respond(text=BUSY, response_type="ephemeral", replace_original=False)

    app.action(ActionId.TRACK_HUMAN_FIRST)(track_clicked)
    app.action(ActionId.TRACK_AI_HEAVY)(track_clicked)

    @app.action(ActionId.VIOLATION_ACK)
    @guarded
    def ack_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        clicked = inputs.click(body)
        if clicked is None or clicked.trigger_id is None:
            return  # Slack always says who clicked and sends a trigger: this did not come from a Slack client
        modal = ack_modal_for(runtime, user_id=clicked.user_id, value=clicked.value)
        client.views_open(trigger_id=clicked.trigger_id, view=modal)

    @app.view(CallbackId.VIOLATION_ACK)
    @guarded
    def ack_submitted(ack: Ack, body: dict[str, Any]) -> None:
        on_ack_submit(runtime, ack, body)


# --- the Tracks section


def tracks_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """This sprint's split against the target, open violations by rule, the three oldest."""
    try:
        tracker = runtime.board_reads() if runtime.has_jira() else None
    except ConfigError:
        tracker = None
    board_id = team.spec.jira_board_id
    # The sprint as the rules see it, shared by renders for a minute; the key changes with the track settings.
    key = ("tracks", board_id, team.id, repr(policy_of(team.settings)), team.settings.reviewer_field)

    def read_sprint() -> SprintRead:
        reads: Any = tracker
        return runtime.render_cache.get(key, lambda: actions.current_read(tracker=reads, team=team))

    view = actions.tracks_view(session=session, team=team, tracker=tracker, read_sprint=read_sprint)
    return [SectionBlock(text="\n".join(messages.tracks_lines(view, jira_url=runtime.settings.jira_url))[:3000])]


SUBCOMMANDS = (
    Subcommand("track", usage="track ISSUE-KEY human-first|ai-heavy", who="members", handler=_track_command,
               summary="set an issue's or epic's track label in Jira", lane="jira"),
)
STATUS_SECTIONS = (StatusSection(order=20, title="Tracks", render=tracks_section),)
