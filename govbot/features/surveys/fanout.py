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


@dataclass
class FanOutReport:
    """What one pass of sending did."""

    sent: int = 0
    already_done: int = 0
    in_flight: int = 0  # claimed by another run still within its lease
    undeliverable: int = 0
    failed: int = 0  # transient: the claim was given back, the next run sends it
    skipped: int = 0  # no longer needed (e.g. the person answered meanwhile) or stopped

    def summary(self, noun: str) -> str:
        """One line for job summaries and replies."""
        others = (("already sent", self.already_done), ("being sent by another run", self.in_flight),
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
) -> FanOutReport:
    """Send to every (ledger key, user id) at most once: claim, send, complete (or give the claim back).

    A process killed between claim and complete leaves a claim that the next run takes over once its lease
    has expired; everyone never claimed is simply sent to by the next run. Rate limits are the client's job
    (its retry handler waits out each 429's Retry-After).
    """
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def deliver(claim_key: str, user_id: str) -> str:
        if stop.is_set():
            return "skipped"
        if not ledger.claim(engine=engine, kind=kind, key=claim_key, team_id=team_id):
            return "in_flight"
        try:
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
            # The process is going down (e.g. interrupted): stop claiming; the open claim waits for its lease.
            stop.set()
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
    return FanOutReport(sent=outcomes["sent"], in_flight=outcomes["in_flight"],
                        undeliverable=outcomes["undeliverable"], failed=outcomes["failed"],
                        skipped=outcomes["skipped"])
