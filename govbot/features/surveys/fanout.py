"""Sending one message to many people at most once each (invitations and reminders), over the delivery ledger."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from govbot.core import delivery as ledger
from govbot.features.surveys.repo import FAILED_PREFIX

log = logging.getLogger(__name__)

FANOUT_WORKERS = 4  # concurrent sends: enough to keep up with Slack's pace despite each call's latency


class Undeliverable(Exception):
    """Slack will never deliver this one message (e.g. the account is deactivated): retrying cannot help."""


Send = Callable[[str], str | None]
# (user id, since when) -> the ts of the message a stopped run already delivered to that user, or None.
AlreadySent = Callable[[str, datetime], str | None]


@dataclass
class FanOutReport:
    """What one pass of sending did."""

    sent: int = 0
    already_done: int = 0
    in_flight: int = 0  # claimed by another run still within its lease
    undeliverable: int = 0
    failed: int = 0  # transient: the claim was given back, the next run sends it
    skipped: int = 0  # no longer needed (e.g. the person answered meanwhile) or stopped
    recovered: int = 0  # sent by a process that died before recording it: found in Slack, not sent again

    def summary(self, noun: str) -> str:
        """One line for job summaries and replies."""
        others = (("already sent", self.already_done), ("found sent by a stopped run", self.recovered),
                  ("being sent by another run", self.in_flight),
                  ("undeliverable", self.undeliverable), ("to retry on the next run", self.failed),
                  ("not needed any more", self.skipped))
        shown = [f"{value} {label}" for label, value in others if value]
        return ", ".join([f"{self.sent} {noun} sent", *shown])


def fan_out(
    *,
    engine: Engine,
    kind: str,
    targets: Sequence[tuple[str, str]],
    send: Send,
    now: datetime,
    team_id: int,
    workers: int,
    still_wanted: Callable[[str], bool] | None = None,
    already_sent: AlreadySent | None = None,
) -> FanOutReport:
    """Send to every (ledger key, user id) at most once: claim, send, complete (or give the claim back).

    A process killed between claim and complete leaves a claim that the next run takes over once the dead
    process's heartbeat is stale; everyone never claimed is simply sent to by the next run. Whether the dead
    process got its message out before it died, only Slack knows: for a claim taken over, ``already_sent``
    asks it (the DM's history since that claim) and records the message found instead of sending it again.
    Rate limits are the client's job (its retry handler waits out each 429's Retry-After).
    """
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def deliver(claim_key: str, user_id: str) -> str:
        if stop.is_set():
            return "skipped"
        held = ledger.claim(engine=engine, kind=kind, key=claim_key, team_id=team_id)
        if held is None:
            return "in_flight"
        try:
            if held.taken_over_from is not None and already_sent is not None:
                found = already_sent(user_id, held.taken_over_from)
                if found is not None:
                    ledger.complete(engine=engine, kind=kind, key=claim_key, now=now, ref=found)
                    return "recovered"
            if still_wanted is not None and not still_wanted(user_id):
                ledger.release(engine=engine, kind=kind, key=claim_key)
                return "skipped"
            ref = send(user_id)
        except Undeliverable as exc:
            failure = f"{FAILED_PREFIX}{exc}"[:255]
            ledger.complete(engine=engine, kind=kind, key=claim_key, now=now, ref=failure)
            return "undeliverable"
        except Exception as exc:
            # No user id in the log: for a reminder it would name someone who has not answered.
            log.warning("one %s could not be sent (%s); the next run retries it", kind, type(exc).__name__)
            ledger.release(engine=engine, kind=kind, key=claim_key)
            return "failed"
        except BaseException:
            # The process is going down (e.g. interrupted): stop claiming, and let the open claim go stale (the
            # message may or may not have reached Slack: the run that takes it over asks).
            stop.set()
            ledger.abandon(engine=engine, claim=held)
            raise
        ledger.complete(engine=engine, kind=kind, key=claim_key, now=now, ref=ref)
        return "sent"

    def one(target: tuple[str, str]) -> None:
        outcome = deliver(*target)
        with lock:
            outcomes[outcome] += 1

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"govbot-{kind}") as pool:
        futures = [pool.submit(one, target) for target in targets]
    for future in futures:
        future.result()  # re-raises what stopped a worker (e.g. an interrupt), after the others have finished
    return FanOutReport(sent=outcomes["sent"], in_flight=outcomes["in_flight"], recovered=outcomes["recovered"],
                        undeliverable=outcomes["undeliverable"], failed=outcomes["failed"],
                        skipped=outcomes["skipped"])
