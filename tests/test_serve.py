"""`govbot serve` as users run it: a real process, HTTP on GOVBOT_PORT, scheduler in-process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests

from govbot.sandbox.slack_api import SlackSandbox
from govbot.sandbox.slack_client import SlackRequestSimulator

SECRET = "serve-signing-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_metrics_and_signed_help(tmp_path):
    port = _free_port()
    with SlackSandbox(bot_token="xoxb-serve-token") as slack:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "GOVBOT_SECRET_KEY": "serve-test-key-0123456789",
            "SLACK_BOT_TOKEN": "xoxb-serve-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "GOVBOT_PORT": str(port),
            "GOVBOT_LOG_FORMAT": "json",
        }
        process = subprocess.Popen([sys.executable, "-m", "govbot.cli", "serve", "--host", "127.0.0.1"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = requests.get(f"{base}/healthz", timeout=2)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise AssertionError(process.stderr.read() if process.poll() is not None else "no start")
                    time.sleep(0.2)
            assert health.json()["status"] == "ok"
            sim = SlackRequestSimulator(events_url=f"{base}/slack/events", signing_secret=SECRET, sandbox=slack)
            response = sim.slash_command("help", user_id="U0SOMEONE1", channel_id="C0SOMEWHERE")
            assert response.status == 200 and "/govbot help" in response.json()["text"]
            assert sim.slash_command("help", user_id="U0SOMEONE1", channel_id="C0X", command="/govbot").status == 200
            assert requests.get(f"{base}/metrics", timeout=5).text.count("govbot_slack_requests_total") >= 1
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
    result = subprocess.run([sys.executable, "-m", "govbot.cli", "serve"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: SLACK_BOT_TOKEN is not set: set it in the environment and start again."]
