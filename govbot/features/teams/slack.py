"""Managing teams from Slack (SPEC §2, §3): settings modal, team setup, status, App Home and the audit view.

Authorisation is the router's for commands (``who`` on each subcommand); the modal submissions and the App Home
button are checked here again with the same rule (``authorise``), because anyone can post any payload: hiding a
button or signing the modal's metadata is never the check.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent
from govbot.adapters.slack.blocks import SECTION_TEXT_LIMIT, initial_state, notice_view, unseal
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.core import audit
from govbot.core import teams as repo
from govbot.core.commands import CommandContext, authorise
from govbot.core.registry import SUBCOMMANDS, listeners, status_section, subcommand
from govbot.core.status import escape, home_view, settings_summary_blocks, status_message_blocks
from govbot.core.teams import StoredTeam
from govbot.domain.schedule import ScheduleError, zone
from govbot.features.teams.service import StaleSettings, TeamExists, TeamNotFound, add_team, update_settings
from govbot.features.teams.settings_modal import SettingsMetadata, build_settings_view, read_settings
from govbot.features.teams.setup import created_text, welcome_text, with_jira_accounts
from govbot.features.teams.setup_modal import build_setup_view, read_setup
from govbot.teamconfig import SLACK_USER

if TYPE_CHECKING:
    from govbot.runtime import Runtime

log = logging.getLogger(__name__)

AUDIT_DEFAULT, AUDIT_MAX = 10, 50
NOTHING_CHANGED = "Nothing was changed."


# ------------------------------------------------------------------------------------------------ status


@status_section(order=900, title="Settings")
def settings_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """The team's settings in words (last in status and the App Home)."""
    return settings_summary_blocks(team)


@subcommand("status", summary="where the team stands: sprints, tracks, surveys, settings", who="members")
def status_command(ctx: CommandContext) -> None:
    """Every registered status section for the team."""
    assert ctx.team is not None
    with Session(ctx.runtime.read_engine, expire_on_commit=False) as session:
        blocks = status_message_blocks(ctx.runtime, session, ctx.team, ctx.now)
    ctx.reply(f"Status of team {ctx.team.name}", blocks)


# ------------------------------------------------------------------------------------------------ settings


def settings_view(runtime: Runtime, team: StoredTeam, *, notice: str | None = None) -> Any:
    """The settings modal of ``team`` as it is stored now."""
    return build_settings_view(team_name=team.name, timezone=team.spec.timezone, settings=team.settings,
                               version=team.settings_version, key=runtime.key, notice=notice, team_id=team.id)


@subcommand("settings", summary="change the team's settings in a form", who="managers")
def settings_command(ctx: CommandContext) -> None:
    """Open the settings modal (the trigger id is valid for 3 seconds, so nothing slow comes first)."""
    assert ctx.team is not None
    if not ctx.trigger_id:
        ctx.reply("Slack sent no trigger for a form with this command; try `/govbot settings` again.")
        return
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=settings_view(ctx.runtime, ctx.team))


def _show(value: Any) -> str:
    """A setting value in a few words."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items())
    return str(value)


def _changes(before: Any, after: Any) -> list[str]:
    """`name: old → new` for every key that differs."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [f"{_show(before)} → {_show(after)}"]
    return [f"{key}: {_show(before.get(key))} → {_show(after.get(key))}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def _refuse_in_modal(ack: Ack, text: str, *, user_id: str, what: str) -> None:
    log.warning("refused %s for user %s: %s", what, user_id, text)
    ack(response_action="update", view=notice_view("Not allowed", f"{text} {NOTHING_CHANGED}"))


def _last_settings_editor(session: Session, team: str) -> str | None:
    event = next((e for e in audit.recent(session=session, team=team, limit=20) if e.action == "settings.update"),
                 None)
    return event.actor if event else None


def handle_settings_submission(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Check who and what, validate the form as a whole, save with compare-and-swap, then confirm."""
    user_id = body["user"]["id"]
    view = body.get("view") or {}
    metadata = unseal(view.get("private_metadata"), SettingsMetadata, key=runtime.key, purpose=CallbackId.SETTINGS)
    if metadata is None:
        _refuse_in_modal(ack, "Sorry, this form could not be verified. Open it again with `/govbot settings`.",
                         user_id=user_id, what="a settings form with altered metadata")
        return
    now = runtime.clock()
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = repo.get_team(session=session, name=metadata.team)
    if team is None or (metadata.team_id is not None and team.id != metadata.team_id):
        _refuse_in_modal(ack, f"Sorry, team `{metadata.team}` no longer exists.", user_id=user_id,
                         what="settings of a removed team")
        return
    refusal = authorise(SUBCOMMANDS["settings"], user_id=user_id, team=team, admins=runtime.settings.admins)
    if refusal:
        _refuse_in_modal(ack, refusal, user_id=user_id, what=f"settings of team {team.name}")
        return
    settings, errors = read_settings((view.get("state") or {}).get("values") or {}, current=team.settings)
    if settings is None:
        ack(response_action="errors", errors=errors)
        return
    try:
        with session_scope(runtime.engine) as session:
            changed = update_settings(session=session, key=runtime.key, now=now, actor=user_id, team_name=team.name,
                                      settings=settings, expected_version=metadata.version)
    except StaleSettings as stale:
        with Session(runtime.engine, expire_on_commit=False) as session:
            current = repo.get_team(session=session, name=team.name) or team
            editor = _last_settings_editor(session, team.name)
        who = f"<@{editor}>" if editor and re.match(SLACK_USER, editor) else "Someone"
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
    lines = _changes(team.settings.as_json(), settings.as_json())
    client.chat_postMessage(channel=user_id, text=f"Saved the settings of team `{team.name}`:\n"
                                                  + "\n".join(f"• {escape(line)}" for line in lines))


def handle_open_settings(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The App Home button: the same check as the command, then the modal (or a polite refusal)."""
    ack()
    user_id = body["user"]["id"]
    name = str((body.get("actions") or [{}])[0].get("value") or "")
    with Session(runtime.engine, expire_on_commit=False) as session:
        team = repo.get_team(session=session, name=name)
    if team is None:
        refusal: str | None = f"Sorry, there is no team named `{escape(name)}`."
    else:
        refusal = authorise(SUBCOMMANDS["settings"], user_id=user_id, team=team, admins=runtime.settings.admins)
    if refusal or team is None:
        log.warning("refused opening the settings of %r for user %s", name, user_id)
        client.views_open(trigger_id=body["trigger_id"],
                          view=notice_view("Not allowed", f"{refusal} {NOTHING_CHANGED}"))
        return
    client.views_open(trigger_id=body["trigger_id"], view=settings_view(runtime, team))


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


@subcommand("setup", summary="create a governed team in a form", who="admins", needs_team=False)
def setup_command(ctx: CommandContext) -> None:
    """Open the team setup modal."""
    if not ctx.trigger_id:
        ctx.reply("Slack sent no trigger for a form with this command; try `/govbot setup` again.")
        return
    view = build_setup_view(channel_id=ctx.channel_id, timezone=_user_timezone(ctx.client, ctx.user_id))
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def handle_setup_submission(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Admins only; answer the form at once, then look up Jira accounts, create the team and welcome it."""
    user_id = body["user"]["id"]
    refusal = authorise(SUBCOMMANDS["setup"], user_id=user_id, team=None, admins=runtime.settings.admins)
    if refusal:
        _refuse_in_modal(ack, refusal, user_id=user_id, what="team setup")
        return
    draft, errors = read_setup(((body.get("view") or {}).get("state") or {}).get("values") or {})
    if draft is None:
        ack(response_action="errors", errors=errors)
        return
    with Session(runtime.engine) as session:
        taken = repo.get_team(session=session, name=draft.name) is not None
    if taken:
        ack(response_action="errors", errors={"name": f"A team named {draft.name} already exists: choose another "
                                                      "name."})
        return
    ack()
    # Slow Slack look-ups come after the ack: Slack closes a modal whose answer takes more than 3 seconds.
    spec, placeholders = with_jira_accounts(draft, _slack_emails(client, [m.slack for m in draft.members]))
    try:
        with session_scope(runtime.engine) as session:
            add_team(session=session, key=runtime.key, now=runtime.clock(), actor=user_id, spec=spec)
    except TeamExists as exc:
        client.chat_postMessage(channel=user_id, text=f"Team `{spec.name}` was not created: {exc}.")
        return
    confirmation = created_text(spec, placeholders)
    try:
        client.chat_postMessage(channel=spec.digest_channel, text=welcome_text(spec))
    except SlackApiError as exc:
        log.warning("welcome to %s failed: %s", spec.digest_channel, exc.response.get("error"))
        confirmation += (f" I could not post in <#{spec.digest_channel}> "
                         f"({exc.response.get('error')}): invite govbot to that channel.")
    client.chat_postMessage(channel=user_id, text=confirmation)


# ------------------------------------------------------------------------------------------------ audit


def _actor(actor: str) -> str:
    return f"<@{actor}>" if re.match(SLACK_USER, actor) else escape(actor)


def audit_line(event: AuditEvent, tz: ZoneInfo) -> str:
    """One audit event in a line: when, who, what, and what changed."""
    when = event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if event.before is None and event.after is not None:
        change = "created"
    elif event.after is None and event.before is not None:
        change = "removed"
    else:
        change = "; ".join(_changes(event.before, event.after)) if (event.before or event.after) else ""
    text = f"`{when}` {_actor(event.actor)} *{escape(event.action)}*"
    if event.target:
        text += f" {escape(event.target)}"
    if change:
        text += f" — {escape(change)}"
    if event.reason:
        text += f" _(reason: {escape(event.reason)})_"
    return text[:500]


def _chunks(lines: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + len(line) + 1 <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


@subcommand("audit", usage="audit [N]", summary=f"the last N audit events (default {AUDIT_DEFAULT}, at most "
            f"{AUDIT_MAX})", who="managers")
def audit_command(ctx: CommandContext) -> None:
    """The team's last N audit events, newest first, in the team's timezone."""
    assert ctx.team is not None
    wanted = ctx.args[0] if ctx.args else str(AUDIT_DEFAULT)
    if not (wanted.isascii() and wanted.isdigit()) or int(wanted) < 1:
        ctx.reply(f"`/govbot audit [N]`: N is how many events to show, 1 to {AUDIT_MAX} (default {AUDIT_DEFAULT}).")
        return
    count = min(int(wanted), AUDIT_MAX)
    with Session(ctx.runtime.engine) as session:
        events = audit.recent(session=session, team=ctx.team.name, limit=count)
    tz = ZoneInfo(ctx.team.spec.timezone)
    title = f"Last {len(events)} audit event(s) of team `{ctx.team.name}`, newest first ({ctx.team.spec.timezone})"
    if int(wanted) > AUDIT_MAX:
        title += f" — at most {AUDIT_MAX} are shown; `govbot audit export` has them all"
    if not events:
        ctx.reply(f"Team `{ctx.team.name}` has no audit events yet.")
        return
    chunks = _chunks([audit_line(e, tz) for e in events], SECTION_TEXT_LIMIT)
    ctx.reply(title, [SectionBlock(text=title + ":"), *[SectionBlock(text=c) for c in chunks]])


# ------------------------------------------------------------------------------------------------ listeners


@listeners
def register(app: App, runtime: Runtime) -> None:
    """The settings and setup modals, the App Home and its settings button."""

    @app.view(CallbackId.SETTINGS)
    def on_settings_submission(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_settings_submission(runtime, ack, body, client)

    @app.view(CallbackId.TEAM_SETUP)
    def on_setup_submission(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_setup_submission(runtime, ack, body, client)

    @app.action(ActionId.OPEN_SETTINGS)
    def on_open_settings(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        handle_open_settings(runtime, ack, body, client)

    @app.event("app_home_opened")
    def on_app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        with Session(runtime.read_engine, expire_on_commit=False) as session:
            view = home_view(runtime, session, event["user"], runtime.clock())
        client.views_publish(user_id=event["user"], view=view)


# ------------------------------------------------------------------------------------------------ demo


class DemoBot(Protocol):
    """What the demo step needs: the running bot's runtime, the Slack sandbox and the request simulator."""

    runtime: Runtime
    sandbox: Any
    sim: Any


def _wait_for_view(sandbox: Any, seen: int, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [c for c in sandbox.calls_of("views.open") if not c.failed]
        if len(calls) > seen:
            return calls[seen].body["view"]
        time.sleep(0.02)
    raise RuntimeError("the settings modal did not open")


def demo_settings_step(ctx: DemoBot, *, team_name: str = "payments") -> list[str]:
    """As the team's first manager, change refactor_every through the settings modal and back; show the audit."""
    with Session(ctx.runtime.engine, expire_on_commit=False) as session:
        team = repo.get_team(session=session, name=team_name)
    if team is None:
        raise TeamNotFound(f"no team is named {team_name!r}")
    manager, original = team.spec.managers[0], team.settings.refactor_every
    changed = original + 1 if original < 12 else original - 1
    lines = [f"Settings: {manager} changes refactor_every of team {team_name} in the settings modal"]
    for value in (changed, original):
        seen = len([c for c in ctx.sandbox.calls_of("views.open") if not c.failed])
        ctx.sim.slash_command(f"settings --team {team_name}", user_id=manager, channel_id=team.spec.digest_channel)
        view = _wait_for_view(ctx.sandbox, seen)
        values = initial_state(view)
        next(iter(values["refactor_every"].values()))["value"] = str(value)
        answer = ctx.sim.view_submission(user_id=manager, callback_id=CallbackId.SETTINGS, values=values,
                                         private_metadata=view["private_metadata"])
        if answer.status != 200 or answer.body.strip():
            raise RuntimeError(f"the settings modal did not save: {answer.status} {answer.body[:200]}")
        with Session(ctx.runtime.engine) as session:
            event = audit.recent(session=session, team=team_name, limit=1)[0]
        lines.append(f"  audit #{event.id} {event.at:%Y-%m-%d %H:%M} UTC {event.actor} {event.action}: "
                     f"before {event.before} → after {event.after} (hash {event.hash[:12]}…)")
    return lines
