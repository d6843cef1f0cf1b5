"""Loaded only by `make test-clock` (PYTHONPATH), which runs the suite under libfaketime with the wall clock moved.

libfaketime 0.9.10 (Debian's) breaks ``time.sleep`` when it moves only the wall clock
(``FAKETIME_DONT_FAKE_MONOTONIC=1``): Python sleeps with ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``, which
the library rewrites into an invalid deadline (EINVAL). Moving the monotonic clock too instead makes timed waits
never return. So the monotonic clock stays true and ``time.sleep`` waits with ``select``, whose timeout is relative
and reads no clock: nothing that decides dates is changed.
"""

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


time.sleep = _sleep
