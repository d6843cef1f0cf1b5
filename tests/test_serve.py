"""`govbot serve` as users run it: a real process, HTTP on GOVBOT_PORT, scheduler in-process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import SlackRequestSimulator
from tests.conftest import same_clock

SECRET = "serve-signing-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_env(tmp_path, slack: SlackSandbox, port: int, **extra: str) -> dict[str, str]:
    """What `govbot serve` needs to run on SQLite against the Slack sandbox, on ``port``."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "GOVBOT_SECRET_KEY": "serve-test-key-0123456789", "SLACK_BOT_TOKEN": "xoxb-serve-token",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url, "GOVBOT_PORT": str(port), **extra}


def _start_serve(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`govbot serve` on 127.0.0.1:$GOVBOT_PORT (on the tests' clock) and its base URL, once it answers
    /healthz; its stderr fails the test if it exits first."""
    process = subprocess.Popen([sys.executable, "-m", "govbot.cli", "serve", "--host", "127.0.0.1", *extra],
                               env=same_clock(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{env['GOVBOT_PORT']}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return process, base
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                if process.poll() is None:
                    process.kill()
                raise AssertionError(process.communicate()[1] or "govbot serve did not start within 30 s") from None
            time.sleep(0.2)


def _sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text exposition (a HELP or TYPE line is not a sample)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_metric_sample_is_read_from_values_not_from_help_lines():
    help_only = "# HELP govbot_slack_requests_total Slack requests\n# TYPE govbot_slack_requests_total counter\n"
    assert _sample(help_only, "govbot_slack_requests_total", kind="command") is None
    counted = help_only + 'govbot_slack_requests_total{kind="command"} 2.0\n'
    assert _sample(counted, "govbot_slack_requests_total", kind="command") == 2


def test_serve_answers_health_metrics_and_signed_help(tmp_path):
    port = _free_port()
    with SlackSandbox(bot_token="xoxb-serve-token") as slack:
        env = _serve_env(tmp_path, slack, port, GOVBOT_LOG_FORMAT="json")
        process, base = _start_serve(env)
        try:
            assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
            sim = SlackRequestSimulator(events_url=f"{base}/slack/events", signing_secret=SECRET, sandbox=slack)
            response = sim.slash_command("help", user_id="U0SOMEONE1", channel_id="C0SOMEWHERE")
            assert response.status == 200 and "/govbot help" in response.json()["text"]
            assert sim.slash_command("help", user_id="U0SOMEONE1", channel_id="C0X", command="/govbot").status == 200
            assert _sample(requests.get(f"{base}/metrics", timeout=5).text, "govbot_slack_requests_total",
                           kind="command") == 2
        finally:
            process.send_signal(signal.SIGINT)
            try:
                _, stderr = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
        for secret in ("xoxb-serve-token", SECRET, "serve-test-key"):
            assert secret not in stderr


def test_serve_refuses_to_start_without_slack_settings(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "GOVBOT_SECRET_KEY": "serve-test-key-0123456789"}
    result = subprocess.run([sys.executable, "-m", "govbot.cli", "serve"], env=same_clock(env), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: SLACK_BOT_TOKEN is not set: set it in the environment and start again."]


def test_sigterm_lets_the_lanes_finish_the_replies_of_acked_requests(tmp_path):
    port = _free_port()
    with SlackSandbox(bot_token="xoxb-serve-token") as slack:
        env = _serve_env(tmp_path, slack, port)
        process, base = _start_serve(env, "--no-scheduler")
        try:
            exposition = requests.get(f"{base}/metrics", timeout=5).text
            for lane in ("render", "jira", "fanout"):
                assert _sample(exposition, "govbot_lane_tasks", lane=lane) == 0
                assert _sample(exposition, "govbot_lane_refused_total", lane=lane) == 0
            slack.latency = 1.0  # the reply (a refusal: only admins set up teams) takes a while to post
            sim = SlackRequestSimulator(events_url=f"{base}/slack/events", signing_secret=SECRET, sandbox=slack)
            acked = sim.slash_command("setup", user_id="U0SOMEONE1", channel_id="C0SOMEWHERE")
            assert acked.status == 200 and acked.body == ""
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()
        replies = [c for c in slack.calls_of("response_url") if not c.failed]
        assert len(replies) == 1 and "admin" in replies[0].body.get("text", "")


def test_serve_freezes_the_start_up_heap_before_it_takes_requests(monkeypatch, tmp_path):
    """Full garbage collections that walk every start-up object paused acks for 80-115 ms under load; `serve`
    freezes those objects once the app is built, before uvicorn accepts a request."""
    import gc

    import uvicorn

    from govbot.adapters.slack import server

    frozen_when_serving: list[int] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: frozen_when_serving.append(gc.get_freeze_count()))
    monkeypatch.setattr(server, "create_web_app", lambda **_: object())
    gc.unfreeze()
    try:
        server.serve(settings=None, engine=None, bolt_app=None)  # type: ignore[arg-type]
    finally:
        gc.unfreeze()  # this test process goes on to make and free much more
    assert frozen_when_serving and frozen_when_serving[0] > 10_000
