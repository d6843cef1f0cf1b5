"""Managing teams from Slack (SPEC §2, §3): the settings modal, team setup, and the settings status section.

Authorisation is the router's for commands (``who`` on each subcommand); the modal submissions and the App Home
button are checked here again with the same rule (``authorise``), because anyone can post any payload: hiding a
button or signing the modal's metadata is never the check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.slack import inputs
from govbot.adapters.slack.blocks import escape, notice_view, unseal
from govbot.adapters.slack.failures import guarded
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.tracker.staffing import find_user
from govbot.config import ConfigError, is_slack_user
from govbot.core import audit, teams
from govbot.core.commands import CommandContext, StatusSection, Subcommand
from govbot.core.deps import Runtime
from govbot.core.lanes import BUSY
from govbot.core.teams import StoredTeam, authorise
from govbot.domain.schedule import ScheduleError, zone
from govbot.features.teams.messages import created_text, settings_summary_blocks, welcome_text
from govbot.features.teams.service import (
    StaleSettings,
    TeamExists,
    TeamNotFound,
    add_team,
    update_settings,
    with_jira_accounts,
)
from govbot.features.teams.settings_form import read_settings
from govbot.features.teams.settings_modal import SettingsMetadata, build_settings_view
from govbot.features.teams.setup_modal import build_setup_view, read_setup
from govbot.teamconfig import TeamSpec

log = logging.getLogger(__name__)

NOTHING_CHANGED = "Nothing was changed."


# ------------------------------------------------------------------------------------------------ settings


def settings_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """The team's settings in words (last in status and the App Home)."""
    return settings_summary_blocks(team)



def settings_view(runtime: Runtime, team: StoredTeam, *, notice: str | None = None) -> Any:
    """The settings modal of ``team`` as it is stored now."""
    return build_settings_view(team_name=team.name, timezone=team.spec.timezone, settings=team.settings,
                               version=team.settings_version, key=runtime.key, notice=notice, team_id=team.id)


def settings_command(ctx: CommandContext) -> None:
    """Open the settings modal (the trigger id is valid for 3 seconds, so nothing slow comes first)."""
    assert ctx.team is not None
    if not ctx.trigger_id:
        ctx.reply("Slack sent no trigger for a form with this command; try `/govbot settings` again.")
        return
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=settings_view(ctx.runtime, ctx.team))


def _refuse_in_modal(ack: Ack, text: str, *, user_id: str, what: str) -> None:
    log.warning("refused %s for user %s: %s", what, user_id, text)
    ack(response_action="update", view=notice_view("Not allowed", f"{text} {NOTHING_CHANGED}"))


def _last_settings_editor(session: Session, team: str) -> str | None:
    event = next((e for e in audit.recent(session=session, team=team, limit=20) if e.action == "settings.update"),
                 None)
    return event.actor if event else None


def handle_settings_submission(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Check who and what, validate the form as a whole, save with compare-and-swap, then confirm."""
    submitted = inputs.submission(body)
    if submitted is None:
        ack()  # Slack always says who submitted: this did not come from a Slack client
        return
    user_id = submitted.user_id
    metadata = unseal(submitted.private_metadata, SettingsMetadata, key=runtime.key, purpose=CallbackId.SETTINGS)
    if metadata is None:
        _refuse_in_modal(ack, "Sorry, this form could not be verified. Open it again with `/govbot settings`.",
                         user_id=user_id, what="a settings form with altered metadata")
        return
    now = runtime.clock()
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = teams.get_team(session=session, name=metadata.team)
    if team is None or (metadata.team_id is not None and team.id != metadata.team_id):
        _refuse_in_modal(ack, f"Sorry, team `{metadata.team}` no longer exists.", user_id=user_id,
                         what="settings of a removed team")
        return
    refusal = authorise("managers", user_id=user_id, team=team, admins=runtime.settings.admins)
    if refusal:
        _refuse_in_modal(ack, refusal, user_id=user_id, what=f"settings of team {team.name}")
        return
    settings, errors = read_settings(submitted.values, current=team.settings)
    if settings is None:
        ack(response_action="errors", errors=errors)
        return
    try:
        with session_scope(runtime.engine) as session:
            changed = update_settings(session=session, key=runtime.key, now=now, actor=user_id, team_name=team.name,
                                      settings=settings, expected_version=metadata.version,
                                      settings_changed=runtime.events.settings_changed)
    except StaleSettings as stale:
        with Session(runtime.engine, expire_on_commit=False) as session:
            current = teams.get_team(session=session, name=team.name) or team
            editor = _last_settings_editor(session, team.name)
        who = f"<@{editor}>" if editor and is_slack_user(editor) else "Someone"
        notice = (f"{who} saved these settings while you were editing, so yours were not saved. These are the "
                  f"values now (version {stale.version}): make your changes again and save.")
        ack(response_action="update", view=settings_view(runtime, current, notice=notice))
        return
    except TeamNotFound:
        _refuse_in_modal(ack, f"Sorry, team `{team.name}` no longer exists.", user_id=user_id,
                         what="settings of a removed team")
        return
    ack()
    if not changed:
        client.chat_postMessage(channel=user_id, text=f"The settings of team `{team.name}` were already like "
                                                      f"that: {NOTHING_CHANGED}")
        return
    lines = audit.changes_in_words(team.settings.as_json(), settings.as_json())
    client.chat_postMessage(channel=user_id, text=f"Saved the settings of team `{team.name}`:\n"
                                                  + "\n".join(f"• {escape(line)}" for line in lines))


def handle_open_settings(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The App Home button: the same check as the command, then the modal (or a polite refusal)."""
    ack()
    clicked = inputs.click(body)
    if clicked is None or clicked.trigger_id is None:
        return  # Slack always says who clicked and sends a trigger: this did not come from a Slack client
    user_id, name = clicked.user_id, inputs.team_name(clicked.value)
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = teams.get_team(session=session, name=name) if name else None
    if team is None:
        refusal: str | None = f"Sorry, there is no team named `{escape(clicked.value[:40])}`."
    else:
        refusal = authorise("managers", user_id=user_id, team=team, admins=runtime.settings.admins)
    if refusal or team is None:
        log.warning("refused opening the settings of %r for user %s", clicked.value[:40], user_id)
        client.views_open(trigger_id=clicked.trigger_id,
                          view=notice_view("Not allowed", f"{refusal} {NOTHING_CHANGED}"))
        return
    client.views_open(trigger_id=clicked.trigger_id, view=settings_view(runtime, team))


# ------------------------------------------------------------------------------------------------ setup


def _user_timezone(client: WebClient, user_id: str) -> str:
    """The Slack user's timezone as the form's starting value, UTC when Slack does not say."""
    try:
        name = client.users_info(user=user_id)["user"].get("tz") or "UTC"
        zone(name)
        return name
    except (SlackApiError, ScheduleError, KeyError, TypeError):
        return "UTC"


def _slack_emails(client: WebClient, user_ids: list[str]) -> dict[str, str | None]:
    emails: dict[str, str | None] = {}
    for user_id in user_ids:
        try:
            emails[user_id] = (client.users_info(user=user_id)["user"].get("profile") or {}).get("email")
        except (SlackApiError, KeyError, TypeError):
            emails[user_id] = None
    return emails


def setup_command(ctx: CommandContext) -> None:
    """Open the team setup modal."""
    if not ctx.trigger_id:
        ctx.reply("Slack sent no trigger for a form with this command; try `/govbot setup` again.")
        return
    view = build_setup_view(channel_id=ctx.channel_id, timezone=_user_timezone(ctx.client, ctx.user_id))
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def _user_finder(runtime: Runtime) -> Callable[[str], str | None] | None:
    """Jira's user search by e-mail, when govbot has a Jira connection."""
    if not runtime.has_jira():
        return None
    try:
        return partial(find_user, runtime.tracker())
    except ConfigError:
        return None


def handle_setup_submission(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Admins only; answer the form at once, then look up Jira accounts, create the team and welcome it."""
    submitted = inputs.submission(body)
    if submitted is None:
        ack()  # Slack always says who submitted: this did not come from a Slack client
        return
    user_id = submitted.user_id
    refusal = authorise("admins", user_id=user_id, team=None, admins=runtime.settings.admins)
    if refusal:
        _refuse_in_modal(ack, refusal, user_id=user_id, what="team setup")
        return
    draft, errors = read_setup(submitted.values)
    if draft is None:
        ack(response_action="errors", errors=errors)
        return
    with Session(runtime.engine) as session:
        taken = teams.get_team(session=session, name=draft.name) is not None
    if taken:
        ack(response_action="errors", errors={"name": f"A team named {draft.name} already exists: choose another "
                                                      "name."})
        return
    # Slow Slack and Jira look-ups come after the ack, on the jira lane: Slack closes a modal whose answer takes
    # more than 3 seconds.
    if not runtime.lanes.submit("jira", create_team, runtime, user_id, draft, client):
        ack(response_action="errors", errors={"name": BUSY})
        return
    ack()


def create_team(runtime: Runtime, user_id: str, draft: TeamSpec, client: WebClient) -> None:
    """Look up the members' Jira accounts, create the team, welcome it and tell the admin."""
    mapping = with_jira_accounts(draft, _slack_emails(client, [m.slack for m in draft.members]),
                                 _user_finder(runtime))
    spec = mapping.spec
    try:
        with session_scope(runtime.engine) as session:
            add_team(session=session, key=runtime.key, now=runtime.clock(), actor=user_id, spec=spec)
    except TeamExists as exc:
        client.chat_postMessage(channel=user_id, text=f"Team `{spec.name}` was not created: {exc}.")
        return
    confirmation = created_text(mapping)
    try:
        client.chat_postMessage(channel=spec.digest_channel, text=welcome_text(spec))
    except SlackApiError as exc:
        log.warning("welcome to %s failed: %s", spec.digest_channel, exc.response.get("error"))
        confirmation += (f" I could not post in <#{spec.digest_channel}> "
                         f"({exc.response.get('error')}): invite govbot to that channel.")
    client.chat_postMessage(channel=user_id, text=confirmation)


# ------------------------------------------------------------------------------------------------ wiring

SUBCOMMANDS = (
    Subcommand("settings", summary="change the team's settings in a form", who="managers", handler=settings_command),
    Subcommand("setup", summary="create a governed team in a form", who="admins", handler=setup_command,
               needs_team=False),
)
STATUS_SECTIONS = (StatusSection(order=900, title="Settings", render=settings_section),)


def register(app: App, runtime: Runtime) -> None:
    """The settings and setup modals and the App Home's settings button."""

    @app.view(CallbackId.SETTINGS)
    @guarded
    def on_settings_submission(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_settings_submission(runtime, ack, body, client)

    @app.view(CallbackId.TEAM_SETUP)
    @guarded
    def on_setup_submission(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_setup_submission(runtime, ack, body, client)

    @app.action(ActionId.OPEN_SETTINGS)
    @guarded
    def on_open_settings(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_open_settings(runtime, ack, body, client)
