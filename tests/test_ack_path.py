"""Acks never wait behind slow work (over the wire, with Jira hanging), and a full lane answers "busy".

The bot is the real bolt app behind the real HTTP server; Jira is the sandbox, stalled (every request hangs until
released). These are structural tests: they assert what was answered, never how fast.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import REGISTRY

from govbot.core.lanes import BUSY, Lanes, LaneSize
from govbot.demo.steps import wait_until

MEMBER, CHANNEL = "U0SENIOR01", "C0PAYMENTS1"


def _status_requests(bot, count: int):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: bot.sim.slash_command("status", user_id=MEMBER, channel_id=CHANNEL),
                             range(count)))


def test_fifty_status_requests_are_acked_while_jira_hangs_and_answered_once_it_is_back(jira_bot, jira):
    jira.stall()
    answers = _status_requests(jira_bot, 50)

    assert [a.status for a in answers] == [200] * 50
    assert all(a.body == "" for a in answers), "acked empty: the status follows on the response_url"
    assert jira.stalled > 0, "the renders are waiting on Jira"
    assert jira_bot.sandbox.calls_of("response_url") == [], "no reply can be ready while Jira hangs"

    jira.release()
    replies = jira_bot.wait_for("response_url", 50, timeout=60)
    assert sorted(c.path for c in replies) == sorted("/response_url/" + a.response_url.rsplit("/", 1)[1]
                                                     for a in answers)
    assert all(c.body.get("text") == "Status of team payments" for c in replies)
    assert all(c.body.get("blocks") == replies[0].body.get("blocks") for c in replies)
    # The requests queued behind the first renders share the next one instead of each rendering: a render
    # per free worker while Jira hangs, then one for all those that asked before it began.
    assert jira_bot.runtime.shared_renders.renders <= 4


def test_app_home_opened_is_acked_while_jira_hangs_and_published_after(jira_bot, jira):
    jira.stall()
    response = jira_bot.sim.app_home_opened(MEMBER)
    assert response.status == 200
    assert jira_bot.sandbox.calls_of("views.publish") == []
    jira.release()
    jira_bot.wait_for("views.publish", 1, timeout=30)


def _refused(lane: str) -> float:
    return REGISTRY.get_sample_value("govbot_lane_refused_total", {"lane": lane}) or 0.0


def test_a_full_lane_answers_busy_in_the_ack_and_runs_nothing(jira_bot, jira):
    jira_bot.runtime.lanes = Lanes({"render": LaneSize(workers=1, waiting=1), "jira": LaneSize(1, 0),
                                    "fanout": LaneSize(1, 0)})
    jira.stall()
    first = _status_requests(jira_bot, 2)
    assert [a.body for a in first] == ["", ""]
    wait_until(lambda: jira.stalled > 0 or None, timeout=10, what="a render waiting on Jira")
    refused_before = _refused("render")

    busy = jira_bot.sim.slash_command("status", user_id=MEMBER, channel_id=CHANNEL)

    assert busy.status == 200
    assert busy.json() == {"text": BUSY, "response_type": "ephemeral"}
    assert _refused("render") == refused_before + 1
    jira.release()
    replies = jira_bot.wait_for("response_url", 2, timeout=30)
    assert busy.response_url.rsplit("/", 1)[1] not in {c.path.rsplit("/", 1)[1] for c in replies}


def test_lanes_refuse_when_full_and_after_shutdown():
    lanes = Lanes({"render": LaneSize(workers=1, waiting=1)})
    gate = threading.Event()
    ran: list[int] = []
    assert lanes.submit("render", gate.wait)
    assert lanes.submit("render", ran.append, 1)
    assert not lanes.submit("render", ran.append, 2)
    assert lanes.in_lane("render") == 2
    gate.set()
    assert lanes.wait_idle(10)
    assert ran == [1] and lanes.in_lane("render") == 0
    lanes.shutdown(timeout=1)
    assert not lanes.submit("render", ran.append, 3)


def test_a_failing_task_is_logged_and_frees_its_place(caplog):
    lanes = Lanes({"render": LaneSize(workers=1, waiting=0)})

    def boom() -> None:
        raise ValueError("nope")

    assert lanes.submit("render", boom)
    assert lanes.wait_idle(10)
    assert lanes.submit("render", lambda: None)
    assert "a task on lane render failed" in caplog.text
    lanes.shutdown(timeout=1)


def test_a_subcommand_naming_an_unknown_lane_fails_at_start_up(sqlite_url):
    from govbot.config import load_settings
    from govbot.core.app import new_bolt_app
    from govbot.core.commands import HELP, Subcommand, Surface
    from govbot.runtime import build_runtime
    from tests.conftest import BOT_TOKEN, KEY, SIGNING_SECRET

    settings = load_settings(sandbox=True, DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_SIGNING_SECRET=SIGNING_SECRET, GOVBOT_SECRET_KEY=KEY.decode())
    runtime = build_runtime(settings)
    odd = Subcommand("odd", summary="x", who="anyone", handler=lambda ctx: None, lane="slow")
    with pytest.raises(ValueError, match="slow"):
        new_bolt_app(runtime, Surface.of([HELP, odd], []))


def test_commands_are_dispatched_on_the_event_loop_once_bolt_knows_the_bot(bot, monkeypatch):
    """bolt's first request calls auth.test, which must not run on the event loop: commands go to a worker
    thread until bolt has its answer, then are dispatched on the loop; events always go to a worker thread."""
    bolt_app = bot.server.bolt_app
    threads: list[str] = []
    dispatch = bolt_app.dispatch

    def recording(request):
        threads.append(threading.current_thread().name)
        return dispatch(request)

    monkeypatch.setattr(bolt_app, "dispatch", recording)
    bot.sandbox.fail_next("auth.test", error="internal_error")  # bolt does not learn who the bot is yet
    answers = [bot.sim.slash_command("help", user_id=MEMBER, channel_id=CHANNEL) for _ in range(4)]
    assert [a.status for a in answers] == [200] * 4
    assert all("/govbot help" in a.json()["text"] for a in answers[1:])
    assert [c.failed for c in bot.sandbox.calls_of("auth.test")] == [True, False], "asked again, then known"
    loop_thread = bot.server._thread.name
    assert loop_thread not in threads[:2], "until auth.test has answered, commands run on worker threads"
    assert threads[2:] == [loop_thread, loop_thread]
    assert bot.sim.app_home_opened(MEMBER).status == 200
    assert threads[-1] != loop_thread, "events are de-duplicated in the database: never on the loop"


def test_the_router_is_the_only_slash_command_listener(bot):
    """Slash commands run on the event loop (their ack must never block), so every feature adds subcommands to
    the `/govbot` router instead of a command listener of its own."""
    from urllib.parse import urlencode

    from slack_bolt import BoltRequest, BoltResponse

    from govbot.sandbox.slack_client import FORM_CONTENT_TYPE

    bolt_app = bot.server.bolt_app

    def listeners_for(command: str) -> list:
        body = urlencode({"command": command, "text": "status", "user_id": MEMBER, "channel_id": CHANNEL,
                          "team_id": "T0SANDBOX", "trigger_id": "1.2.3"})
        request = BoltRequest(body=body, headers={"content-type": [FORM_CONTENT_TYPE]})
        return [listener for listener in bolt_app._listeners
                if listener.matches(req=request, resp=BoltResponse(status=200))]

    assert len(listeners_for("/govbot")) == 1
    assert listeners_for("/deploy") == [], "only the catch-all error handler sees other commands"
