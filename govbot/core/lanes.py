"""Lanes: bounded worker pools for the work that follows a Slack ack, so an ack never waits behind slow work.

Slack wants an answer to every request within 3 seconds. govbot acks on the request thread, doing only cheap
work there (parse, authorise nothing, pick a lane), and hands the rest to a lane: ``render`` (status, App Home,
most subcommands), ``jira`` (work dominated by Jira: digest preview/post, track labels, sprint overrides) and
``fanout`` (messages to a whole team, e.g. survey invitations to 2,000 members). Each lane has its own threads
and a bounded number of places for work waiting its turn; a full lane refuses at once (``submit`` returns
False) so the caller can tell the user "govbot is busy" in the ack instead of acking late.

``govbot.runtime`` builds the lanes with ``LANE_SIZES``; ``Lanes.shutdown`` drains them on SIGTERM.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

LANE_TASKS = Gauge("govbot_lane_tasks", "Work in a lane now (waiting + running), by lane", ["lane"])
LANE_REFUSED = Counter("govbot_lane_refused_total", "Work a full lane refused (the user was told govbot is busy), "
                       "by lane", ["lane"])

BUSY = "govbot is busy right now, so nothing was done: try again in a minute."


@dataclass(frozen=True)
class LaneSize:
    """How many tasks of a lane run at once, and how many more may wait for a thread."""

    workers: int
    waiting: int

    @property
    def capacity(self) -> int:
        return self.workers + self.waiting


# Sized for one web replica on 2 cores. A status render is ~6 ms of CPU once its Jira reads are cached, and Python
# runs one thread's bytecode at a time: more render threads would only take turns with the request threads that
# ack. Jira-bound work mostly waits on Jira (which rate-limits); a fan-out runs for minutes at Slack's pace.
LANE_SIZES: Mapping[str, LaneSize] = {
    "render": LaneSize(workers=2, waiting=98),
    "jira": LaneSize(workers=4, waiting=28),
    "fanout": LaneSize(workers=2, waiting=6),
}


class _Lane:
    def __init__(self, name: str, size: LaneSize) -> None:
        self.name = name
        self.size = size
        self.executor = ThreadPoolExecutor(max_workers=size.workers, thread_name_prefix=f"govbot-lane-{name}")
        self.count = 0  # waiting + running
        self.idle = threading.Condition()
        LANE_TASKS.labels(name).set(0)
        LANE_REFUSED.labels(name)


class Lanes:
    """The process's lanes, by name."""

    def __init__(self, sizes: Mapping[str, LaneSize] = LANE_SIZES) -> None:
        self._lanes = {name: _Lane(name, size) for name, size in sizes.items()}
        self._closed = False

    def names(self) -> list[str]:
        return list(self._lanes)

    def in_lane(self, name: str) -> int:
        """Tasks in the lane now (waiting + running)."""
        return self._lanes[name].count

    def submit(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run ``fn(*args, **kwargs)`` on lane ``name``; False (and nothing runs) when the lane is full or
        closed. The caller's context variables (the request id in the logs) go with it; an exception is logged."""
        lane = self._lanes[name]
        with lane.idle:
            if self._closed or lane.count >= lane.size.capacity:
                LANE_REFUSED.labels(name).inc()
                log.warning("lane %s is full (%d tasks): refused %s", name, lane.count,
                            getattr(fn, "__name__", "a task"))
                return False
            lane.count += 1
            LANE_TASKS.labels(name).inc()
        context = contextvars.copy_context()

        def run() -> None:
            try:
                context.run(fn, *args, **kwargs)
            except Exception:
                log.exception("a task on lane %s failed", name)
            finally:
                with lane.idle:
                    lane.count -= 1
                    LANE_TASKS.labels(name).dec()
                    lane.idle.notify_all()

        try:
            lane.executor.submit(run)
        except RuntimeError:  # shut down between the check and the submit
            with lane.idle:
                lane.count -= 1
                LANE_TASKS.labels(name).dec()
            return False
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every lane is empty (or ``timeout`` seconds); whether they are."""
        deadline = time.monotonic() + timeout
        for lane in self._lanes.values():
            with lane.idle:
                while lane.count > 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    lane.idle.wait(left)
        return True

    def shutdown(self, timeout: float = 8.0) -> None:
        """Refuse new work, give the work in the lanes up to ``timeout`` seconds to finish, then drop what has
        not started (logged). Work still running then is left to finish or to die with the process."""
        self._closed = True
        drained = self.wait_idle(timeout)
        if not drained:
            left = {name: lane.count for name, lane in self._lanes.items() if lane.count}
            log.warning("stopping with work still in the lanes (%s): what had not started is dropped",
                        ", ".join(f"{name} {count}" for name, count in left.items()))
        for lane in self._lanes.values():
            lane.executor.shutdown(wait=False, cancel_futures=True)
