"""The bolt app: signature verification, event de-duplication, the `/govbot` command, feature listeners."""

from __future__ import annotations

import logging
import re
from typing import Any

from prometheus_client import Counter
from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from govbot.adapters.scheduler.context import load_features
from govbot.adapters.slack.ids import COMMAND
from govbot.core import delivery as ledger
from govbot.core.commands import CommandContext, help_text, parse, run_command
from govbot.core.registry import LISTENER_SETUPS
from govbot.runtime import Runtime

log = logging.getLogger(__name__)

SLACK_REQUESTS = Counter("govbot_slack_requests_total", "Slack requests handled, by kind", ["kind"])
DUPLICATE_EVENTS = Counter("govbot_slack_duplicate_events_total", "Slack event retries ignored as duplicates")
OOPS = ("Something went wrong on govbot's side and nothing was changed. Try again in a minute; if it keeps "
        "happening, tell your govbot admin (the details are in govbot's log).")


def create_app(runtime: Runtime) -> App:
    """Build the bolt App for this runtime, with every feature's listeners registered."""
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
        raise_error_for_unhandled_request=False,
    )
    load_features()

    @app.middleware
    def drop_event_retries(body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        """Slack re-sends an event it thinks we missed; the event_id makes the second delivery a no-op."""
        if body.get("type") == "event_callback" and body.get("event_id"):
            with Session(runtime.engine) as session:
                first = ledger.mark_once(session=session, kind="slack_event", key=str(body["event_id"]),
                                         now=runtime.clock())
                session.commit()
            if not first:
                DUPLICATE_EVENTS.inc()
                return BoltResponse(status=200, body="")
        SLACK_REQUESTS.labels(body.get("type") or ("command" if "command" in body else "other")).inc()
        next()
        return None

    def ack_command(ack: Ack, body: dict[str, Any]) -> None:
        # Help is answered in the ack itself; everything else is acked empty and answered after.
        if parse(body.get("text") or "").name in (None, "help"):
            ack(text=help_text(), response_type="ephemeral")
        else:
            ack()

    def run_later(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        parsed = parse(body.get("text") or "")
        if parsed.name in (None, "help"):
            return  # already answered in the ack
        ctx = CommandContext(
            runtime=runtime, user_id=body.get("user_id", ""), channel_id=body.get("channel_id", ""),
            parsed=parsed, trigger_id=body.get("trigger_id"), client=client, respond=respond, now=runtime.clock(),
        )
        try:
            run_command(ctx)
        except Exception:
            log.exception("/govbot %s failed", parsed.name)
            ctx.reply(OOPS)

    app.command(COMMAND)(ack=ack_command, lazy=[run_later])

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        logger.error("unhandled error in a Slack listener: %s", error.__class__.__name__, exc_info=error)

    for setup in LISTENER_SETUPS:
        setup(app, runtime)

    # Registered last, so it only sees events no feature handles: acknowledge them (a 404 would make Slack
    # retry an event govbot has no use for).
    @app.event(re.compile(".*"))
    def ignore_other_events() -> None:
        return None

    return app
