"""The bolt app's shared part: event de-duplication, the `/govbot` command, the error handler, the catch-all.

``govbot.runtime.create_bolt_app`` calls ``new_bolt_app``, then each feature's ``register(app, runtime)``, then
``ignore_other_events`` last.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from prometheus_client import Counter
from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.slack import inputs
from govbot.adapters.slack.envelope import kind_of, request_id
from govbot.adapters.slack.failures import OOPS, guarded, log_failure, on_error
from govbot.adapters.slack.ids import COMMAND
from govbot.core import delivery
from govbot.core.commands import CommandContext, Surface, run_command
from govbot.core.deps import Runtime
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
    assert settings.slack_signing_secret is not None
    app = App(
        client=runtime.slack,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        # The token is the client's; verifying it with auth.test at start-up would make start depend on Slack.
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=False,
        # Unhandled requests go to the error handler, which acks them and logs each id once (failures.py).
        raise_error_for_unhandled_request=True,
    )

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

    @guarded
    def ack_command(ack: Ack, body: dict[str, Any]) -> None:
        # Help (and any problem with the command) is answered in the ack itself; everything else is acked empty
        # and answered after.
        parsed = surface.parse(body.get("text") or "")
        if not _readable(body):
            ack(text=UNREADABLE, response_type="ephemeral")
        elif parsed.name in (None, "help"):
            ack(text=parsed.problem or surface.help_text(), response_type="ephemeral")
        else:
            ack()

    def run_later(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        parsed = surface.parse(body.get("text") or "")
        if parsed.name in (None, "help") or not _readable(body):
            return  # already answered in the ack
        ctx = CommandContext(
            runtime=runtime, surface=surface, user_id=body["user_id"], channel_id=body["channel_id"], parsed=parsed,
            trigger_id=inputs.short_text(body.get("trigger_id")),
            client=client, respond=respond, now=runtime.clock(),
        )
        with log_context(slack_request=request_id(body)):  # this runs in a thread of its own, after the ack
            try:
                run_command(ctx)
            except Exception as error:
                log_failure(error, slack_request=request_id(body), what=f"/govbot {parsed.name}")
                ctx.reply(OOPS)

    app.command(COMMAND)(ack=ack_command, lazy=[run_later])

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
