"""The bolt app's shared part: event de-duplication, the `/govbot` command, the error handler, the catch-all.

Every listener runs on the request thread and its ack is the HTTP answer (``process_before_response=True``): the
`/govbot` command acks help at once and hands any other subcommand to the lane it names (``govbot.core.lanes``),
answering "busy" in the ack when that lane is full.

``govbot.runtime.create_bolt_app`` calls ``new_bolt_app``, then each feature's ``register(app, runtime)``, then
``ignore_other_events`` last.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from prometheus_client import Counter
from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.slack import inputs
from govbot.adapters.slack.client import responder_for
from govbot.adapters.slack.envelope import kind_of, request_id
from govbot.adapters.slack.failures import OOPS, guarded, log_failure, on_error
from govbot.adapters.slack.ids import COMMAND
from govbot.core import delivery
from govbot.core.commands import CommandContext, ParsedCommand, Surface, run_command
from govbot.core.deps import Runtime
from govbot.core.lanes import BUSY
from govbot.core.status import register_home
from govbot.logs import log_context

log = logging.getLogger(__name__)

SLACK_REQUESTS = Counter("govbot_slack_requests_total", "Slack requests handled, by kind", ["kind"])
DUPLICATE_EVENTS = Counter("govbot_slack_duplicate_events_total", "Slack event retries ignored as duplicates")
UNREADABLE = ("This command came without the user, channel or reply address Slack sends with every command, so "
              "govbot did nothing: try it again from Slack.")


def _readable(body: dict[str, Any]) -> bool:
    """Whether a command says who sent it, where, and where to answer, as Slack always does."""
    return (inputs.user_id(body.get("user_id")) is not None and inputs.channel_id(body.get("channel_id")) is not None
            and inputs.short_text(body.get("response_url"), 2000) is not None)


def new_bolt_app(runtime: Runtime, surface: Surface) -> App:
    """A bolt App for this runtime with the `/govbot` command and the App Home of ``surface``."""
    settings = runtime.settings
    settings.require_slack()
    unknown = sorted({sub.lane for sub in surface.subcommands.values()} - set(runtime.lanes.names()))
    if unknown:
        raise ValueError(f"subcommands name lanes that do not exist: {', '.join(unknown)}")
    assert settings.slack_signing_secret is not None
    slack = runtime.slack
    # bolt gets the token and builds its client itself: given a client too, it would also read SLACK_BOT_TOKEN
    # from the environment and warn at every start that one of the two goes unused.
    app = App(
        token=slack.token,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        # Verifying the token with auth.test at start-up would make start depend on Slack.
        token_verification_enabled=False,
        request_verification_enabled=True,
        # The listener runs on the request thread and its ack is the HTTP answer; it only hands work to a
        # lane (govbot.core.lanes), so an ack never waits behind a render, a Jira read or a fan-out.
        process_before_response=True,
        # Unhandled requests go to the error handler, which acks them and logs each id once (failures.py).
        raise_error_for_unhandled_request=True,
    )
    # Each request's client is made from the app's: give it govbot's Web API URL (SLACK_API_URL), timeout and
    # retry handlers (429s, 5xx, connection errors, metrics), as every other govbot call to Slack has.
    for setting in ("base_url", "timeout", "ssl", "proxy", "retry_handlers"):
        setattr(app.client, setting, getattr(slack, setting))

    @app.middleware
    def drop_event_retries(body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        """Slack re-sends an event it thinks we missed; the event_id makes the second delivery a no-op."""
        if body.get("type") == "event_callback" and body.get("event_id"):
            with Session(runtime.engine) as session:
                first = delivery.mark_once(session=session, kind="slack_event", key=str(body["event_id"]),
                                           now=runtime.clock())
                session.commit()
            if not first:
                DUPLICATE_EVENTS.inc()
                return BoltResponse(status=200, body="")
        SLACK_REQUESTS.labels(kind_of(body)).inc()
        next()
        return None

    def run_later(parsed: ParsedCommand, body: dict[str, Any], respond: Respond, client: WebClient,
                  asked_at: float) -> None:
        ctx = CommandContext(
            runtime=runtime, surface=surface, user_id=body["user_id"], channel_id=body["channel_id"], parsed=parsed,
            trigger_id=inputs.short_text(body.get("trigger_id")),
            client=client, respond=responder_for(runtime.slack, body["response_url"]) or respond,
            now=runtime.clock(), asked_at=asked_at,
        )
        with log_context(slack_request=request_id(body)):  # this runs in a thread of its own, after the ack
            try:
                run_command(ctx)
            except Exception as error:
                log_failure(error, slack_request=request_id(body), what=f"/govbot {parsed.name}")
                ctx.reply(OOPS)

    @guarded
    def on_command(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """The ack, on the request thread: help (and any problem with the command) is answered in it; anything
        else goes to its lane and is acked empty (answered after, on the response_url), or "busy" when the lane
        is full."""
        if not _readable(body):
            ack(text=UNREADABLE, response_type="ephemeral")
            return
        parsed = surface.parse(body.get("text") or "")
        if parsed.name is None or parsed.name == "help":
            ack(text=parsed.problem or surface.help_text(), response_type="ephemeral")
            return
        lane = surface.subcommands[parsed.name].lane
        if runtime.lanes.submit(lane, run_later, parsed, body, respond, client, time.monotonic()):
            ack()
        else:
            ack(text=BUSY, response_type="ephemeral")

    app.command(COMMAND)(on_command)

    app.error(on_error)

    register_home(app, runtime, surface)
    return app


def ignore_other_events(app: App) -> None:
    """Acknowledge every event no feature handles (a 404 would make Slack retry an event govbot has no use for).

    Registered last, so it only sees what nothing else matched.
    """

    @app.event(re.compile(".*"))
    def ignore() -> None:
        return None
