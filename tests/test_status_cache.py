"""Status and App Home renders reuse what they read from Jira for a minute; govbot's own sprint writes show at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from govbot.core.render_cache import RenderCache
from tests.conftest import Ticks

MEMBER, CHANNEL = "U0SENIOR01", "C0PAYMENTS1"
BOARD = "/rest/agile/1.0/board/12"


def _status(bot, replies: int):
    assert bot.sim.slash_command("status", user_id=MEMBER, channel_id=CHANNEL).status == 200
    return bot.wait_for("response_url", replies, timeout=30)[-1]


def test_a_second_status_render_reads_neither_the_board_nor_the_tracks_from_jira(jira_bot, jira):
    first = _status(jira_bot, 1)
    board_reads, searches = len(jira.calls_to(BOARD)), len(jira.calls_to("/search"))
    assert board_reads >= 2 and searches >= 1  # configuration and sprints; the Tracks section's search

    second = _status(jira_bot, 2)

    assert len(jira.calls_to(BOARD)) == board_reads
    assert len(jira.calls_to("/search")) == searches
    assert second.body["blocks"] == first.body["blocks"]


def test_sprints_govbot_plans_show_in_the_next_render(jira_bot, jira):
    from govbot.runtime import run_job

    _status(jira_bot, 1)
    sprint_reads = len(jira.calls_to(f"{BOARD}/sprint"))
    run_job(jira_bot.runtime, "plan-sprints", "payments", now=datetime.now(UTC), echo=lambda _: None)
    assert jira.calls_to("/rest/agile/1.0/sprint", method="POST"), "the plan created sprints"
    after_plan = len(jira.calls_to(f"{BOARD}/sprint"))

    _status(jira_bot, 2)

    assert len(jira.calls_to(f"{BOARD}/sprint")) > after_plan >= sprint_reads


def test_entries_expire_after_the_ttl_and_a_failed_load_is_not_kept():
    clock = Ticks()
    cache = RenderCache(ttl_seconds=60, clock=clock)
    loads: list[int] = []
    assert cache.get(("board", 1), lambda: loads.append(1) or "a") == "a"
    clock.now = 59
    assert cache.get(("board", 1), lambda: loads.append(2) or "b") == "a"
    clock.now = 60
    assert cache.get(("board", 1), lambda: loads.append(3) or "c") == "c"
    assert loads == [1, 3]

    def fail() -> str:
        raise RuntimeError("Jira is down")

    with pytest.raises(RuntimeError):
        cache.get(("board", 2), fail)
    assert cache.get(("board", 2), lambda: "d") == "d"


def test_forgetting_a_board_drops_only_its_entries():
    cache = RenderCache()
    cache.get(("board", 1), lambda: "one")
    cache.get(("sprints", 1, ()), lambda: "one's sprints")
    cache.get(("board", 2), lambda: "two")
    cache.forget_board(1)
    assert cache.get(("board", 1), lambda: "one again") == "one again"
    assert cache.get(("sprints", 1, ()), lambda: "new sprints") == "new sprints"
    assert cache.get(("board", 2), lambda: "not read") == "two"
    cache.forget_kind("board")
    assert cache.get(("board", 2), lambda: "two again") == "two again"


def test_renders_missing_the_same_entry_at_once_read_jira_once():
    cache = RenderCache()
    started, release = threading.Event(), threading.Event()
    loads: list[int] = []

    def slow() -> str:
        loads.append(1)
        started.set()
        release.wait(10)
        return "board"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("board", 1), slow))) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["board"] * 8 and loads == [1]
