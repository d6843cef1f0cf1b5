"""What the digest needs from the sandboxes, driven by the real clients: Slack's file upload v2 flow with alt
text, permalinks, not_in_channel and rate-limit faults; Jira's 12 weeks of history, changelogs in both forms, and
a Jira that fails every other call."""

from __future__ import annotations

import urllib.error
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from govbot.adapters.tracker import JiraTracker
from govbot.domain.digest import CountingRules, last_full_week, measure_week, span
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.slack_api import SlackSandbox

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def slack():
    with SlackSandbox() as running:
        yield running


def client_for(sandbox: SlackSandbox, *, retries: int = 0) -> WebClient:
    handlers = [RateLimitErrorRetryHandler(max_retry_count=retries)] if retries else []
    return WebClient(token=sandbox.bot_token, base_url=sandbox.api_url, retry_handlers=handlers)


def test_files_upload_v2_keeps_the_alt_text_and_the_channel(slack):
    answer = client_for(slack).files_upload_v2(
        channel="C0DIGEST", content=PNG, filename="digest.png", title="Digest", alt_txt="Velocity bars"
    )
    [shared] = slack.shared_files
    assert shared["id"] == answer["file"]["id"] and shared["content"] == PNG
    assert shared["alt_txt"] == "Velocity bars" and shared["channels"] == ["C0DIGEST"]
    assert [c.method for c in slack.calls] == ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]
    assert slack.calls[1].path.startswith("/upload/")  # the upload goes to the returned URL, on loopback


def test_permalink_of_a_posted_message(slack):
    client = client_for(slack)
    posted = client.chat_postMessage(channel="C0DIGEST", text="digest")
    link = client.chat_getPermalink(channel="C0DIGEST", message_ts=posted["ts"])
    assert link["permalink"] == f"https://sandbox.slack.com/archives/C0DIGEST/p{posted['ts'].replace('.', '')}"
    with pytest.raises(SlackApiError) as raised:
        client.chat_getPermalink(channel="C0DIGEST", message_ts="1.000001")
    assert raised.value.response["error"] == "message_not_found"


def test_not_in_channel_for_posts_and_file_shares_until_invited(slack):
    client = client_for(slack)
    slack.remove_bot_from("C0DIGEST")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0DIGEST", text="digest")
    assert raised.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as raised:
        client.files_upload_v2(channel="C0DIGEST", content=PNG, filename="d.png", title="d")
    assert raised.value.response["error"] == "not_in_channel"
    assert slack.shared_files == []
    client.chat_postMessage(channel="U0MANAGER1", text="please invite me")  # DMs still work
    slack.invite_bot("C0DIGEST")
    assert client.chat_postMessage(channel="C0DIGEST", text="digest")["ok"]


def test_injected_slack_error_answers(slack):
    client = client_for(slack)
    slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 200 and raised.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_a_rate_limited_upload_post_fails_the_flow_without_sharing(slack):
    slack.fail_next("upload_url", status=429)
    # slack_sdk posts the bytes with urllib and raises its HTTPError (or SlackRequestError for other statuses).
    with pytest.raises((SlackRequestError, urllib.error.HTTPError)):
        client_for(slack, retries=3).files_upload_v2(channel="C1", content=PNG, filename="d.png", title="d")
    assert slack.shared_files == [] and slack.calls_of("files.completeUploadExternal") == []


def test_fault_rate_answers_a_share_of_calls_429_and_retries_get_through(slack):
    slack.set_fault_rate(0.3, seed=7)
    client = client_for(slack, retries=20)
    for n in range(20):
        client.chat_postMessage(channel="C1", text=f"m{n}")
    posted = [c for c in slack.calls_of("chat.postMessage") if not c.failed]
    limited = [c for c in slack.calls_of("chat.postMessage") if c.status == 429]
    assert len(posted) == 20 and limited  # every message got through, some after a 429
    slack.set_fault_rate(0.0)
    assert not client_for(slack).chat_postMessage(channel="C1", text="x").get("error")


# --- Jira


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_seeded_history_gives_twelve_weeks_of_varied_figures(mode):
    with JiraSandbox(mode=mode, now=NOW) as jira:
        tracker = JiraTracker(url=jira.url, **jira.credentials, sleep=lambda s: None)
        last = last_full_week(NOW, BERLIN)
        first = span(last.shifted(-11), BERLIN)
        issues = tracker.resolved_between("PAY", first.start, span(last, BERLIN).end, estimation_field="customfield_10016")
        issues += tracker.created_between("PAY", first.start, span(last, BERLIN).end, estimation_field="customfield_10016")
        weeks = [measure_week(span(last.shifted(-n), BERLIN), issues=issues, rules=CountingRules(by_points=True)) for n in range(12)]
        assert len({w.velocity for w in weeks}) >= 6  # velocity varies
        assert sum(w.incidents for w in weeks) >= 10 and sum(w.rollbacks for w in weeks) >= 3
        queue = tracker.in_statuses("PAY", ["In Review", "Code Review"], estimation_field=None)
        assert len(queue) >= 3
        # The time each entered its status comes from the changelog (Cloud embeds it; Data Center too).
        for issue in queue:
            entered = jira.issues[issue.key].history[-1].at
            assert issue.status_since is not None
            assert abs(issue.status_since - entered) < timedelta(milliseconds=1)  # Jira keeps milliseconds


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_jira_failing_every_other_call_is_retried(mode):
    with JiraSandbox(mode=mode, now=NOW) as jira:
        tracker = JiraTracker(url=jira.url, **jira.credentials, sleep=lambda s: None)
        expected = tracker.resolved_between("PAY", NOW - timedelta(days=28), NOW, estimation_field="customfield_10016")
        calls_when_healthy = len(jira.calls)
        jira.calls.clear()
        fresh = JiraTracker(url=jira.url, **jira.credentials, sleep=lambda s: None)
        jira.fail_every(2, status=503)
        found = fresh.resolved_between("PAY", NOW - timedelta(days=28), NOW, estimation_field="customfield_10016")
        assert [i.key for i in found] == [i.key for i in expected]
        # Every other request was answered 503 and retried: all but possibly the first needed two attempts.
        assert len(jira.calls) in (2 * calls_when_healthy - 1, 2 * calls_when_healthy)
        jira.fail_every(0)
