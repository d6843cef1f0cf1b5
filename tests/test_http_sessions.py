"""One HTTP session per adapter: Slack and Jira calls reuse keep-alive connections, and the proxy environment is
read once at start-up (HTTPS_PROXY honoured, NO_PROXY too)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from govbot.adapters.slack.client import make_slack_client, proxy_for, responder_for, with_retry_handlers
from govbot.adapters.tracker import JiraTracker
from govbot.config import load_settings
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.slack_api import SlackSandbox
from tests.conftest import BOT_TOKEN, SIGNING_SECRET

PROXY = "http://127.0.0.1:9"  # nothing listens there: a request sent through it fails


@pytest.fixture
def slack():
    with SlackSandbox(bot_token=BOT_TOKEN) as sandbox:
        yield sandbox


def _client(slack, **extra):
    settings = load_settings(sandbox=True, DATABASE_URL="sqlite://", SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url, **extra)
    return make_slack_client(settings)


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_slack_calls_share_one_keep_alive_connection(slack, no_proxy_env):
    client = _client(slack)
    for _ in range(10):
        assert client.auth_test()["ok"]
    pool = client.pool.connection_from_url(slack.api_url)
    assert pool.num_requests == 10 and pool.num_connections == 1


def test_command_replies_go_over_the_same_pool_without_empty_fields(slack, no_proxy_env):
    client = _client(slack)
    urls = [slack.new_response_url() for _ in range(5)]
    for url in urls:
        respond = responder_for(client, url)
        assert respond is not None
        assert respond(text="Status of team payments", blocks=[{"type": "divider"}], response_type="ephemeral",
                       replace_original=False) == 200
    replies = slack.calls_of("response_url")
    assert sorted(c.path for c in replies) == sorted("/response_url/" + u.rsplit("/", 1)[1] for u in urls)
    assert replies[0].body == {"text": "Status of team payments", "blocks": [{"type": "divider"}],
                               "response_type": "ephemeral", "replace_original": False}
    pool = client.pool.connection_from_url(urls[0])
    assert pool.num_requests == 5 and pool.num_connections == 1


def test_slack_retries_still_apply_and_errors_keep_their_shape(slack, no_proxy_env):
    client = _client(slack)
    slack.fail_next("auth.test", status=503)
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    assert client.auth_test()["ok"]
    assert client.chat_postMessage(channel="C0PAYMENTS1", text="hi")["ok"]
    slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0PAYMENTS1", text="hi")
    assert raised.value.response["error"] == "not_in_channel"
    copy = with_retry_handlers(client, [])
    assert copy.pool is client.pool and copy.retry_handlers == [] and client.retry_handlers


def test_https_proxy_is_honoured_and_no_proxy_exempts_a_host(slack, no_proxy_env):
    no_proxy_env.setenv("HTTPS_PROXY", PROXY)
    no_proxy_env.setenv("HTTP_PROXY", PROXY)
    assert proxy_for("https://slack.com/api/") == PROXY
    assert _client(slack).proxy == PROXY
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = _client(slack)
    assert client.proxy is None
    assert client.auth_test()["ok"]


def test_jira_reads_the_environment_once_and_keeps_its_connection(no_proxy_env):
    with JiraSandbox() as jira:
        no_proxy_env.setenv("HTTP_PROXY", PROXY)
        proxied = JiraTracker(url=jira.url, **jira.credentials)
        assert proxied._session.proxies.get("http") == PROXY and proxied._session.trust_env is False
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
        tracker = JiraTracker(url=jira.url, **jira.credentials)
        assert tracker._session.proxies == {} and tracker._session.trust_env is False
        no_proxy_env.delenv("NO_PROXY")  # read at start-up only: this tracker still goes direct
        for _ in range(5):
            tracker.board(12)
        pools = tracker._session.get_adapter(jira.url).poolmanager.pools
        used = [(pools[key].num_requests, pools[key].num_connections) for key in pools.keys()]  # noqa: SIM118 (the container cannot be iterated)
        assert used == [(5, 1)]
