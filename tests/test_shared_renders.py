"""One status render serves every request that arrived before it began; nothing older is ever shared."""

from __future__ import annotations

import threading

import pytest

from govbot.core.shared_renders import SharedRenders
from govbot.demo.steps import wait_until
from tests.conftest import Ticks


def test_a_request_that_arrived_before_a_render_began_shares_it():
    clock = Ticks()
    shared = SharedRenders(clock)
    clock.now = 10.0
    assert shared.get("team", asked_at=9.0, render=lambda: "first") == "first"  # began at 10
    assert shared.get("team", asked_at=10.0, render=lambda: "second") == "first"  # asked at 10: the render is as new
    assert shared.get("team", asked_at=10.5, render=lambda: "third") == "third"  # asked after it began: a new one
    assert shared.get("other team", asked_at=1.0, render=lambda: "its own") == "its own"
    assert shared.renders == 3


def test_waiters_get_the_render_in_progress_and_a_failed_render_is_not_shared():
    clock = Ticks()
    shared = SharedRenders(clock)
    release = threading.Event()
    results: list[str] = []

    def slow() -> str:
        release.wait(10)
        return "slow render"

    first = threading.Thread(target=lambda: results.append(shared.get("team", asked_at=0.0, render=slow)))
    first.start()
    wait_until(lambda: shared.renders == 1, timeout=10, what="the first render to begin")
    waiter = threading.Thread(target=lambda: results.append(
        shared.get("team", asked_at=0.0, render=lambda: "never")))
    waiter.start()
    release.set()
    first.join(10)
    waiter.join(10)
    assert results == ["slow render", "slow render"] and shared.renders == 1

    def broken() -> str:
        raise RuntimeError("the database went away")

    clock.now = 5.0
    with pytest.raises(RuntimeError):
        shared.get("team", asked_at=4.0, render=broken)
    assert shared.get("team", asked_at=4.0, render=lambda: "rendered again") == "rendered again"
