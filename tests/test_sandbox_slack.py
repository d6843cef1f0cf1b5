"""The Slack sandbox, driven over HTTP by the real slack_sdk, and the simulator of Slack's requests to an app."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from govbot.sandbox.slack_api import SlackSandbox, TokenBucket, dm_channel_id, parse_body
from govbot.sandbox.slack_client import SlackRequestSimulator

SECRET = "sandbox-signing-secret-for-tests"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Refactoring sprint* starts Monday"}}
MODAL = {
    "type": "modal",
    "callback_id": "settings",
    "title": {"type": "plain_text", "text": "Settings"},
    "blocks": [],
}
HOME = {"type": "home", "blocks": [SECTION]}


@pytest.fixture
def sandbox():
    with SlackSandbox() as running:
        yield running


@pytest.fixture
def client(sandbox):
    # No retry handlers: each test that wants retries says which.
    return WebClient(token=sandbox.bot_token, base_url=sandbox.api_url, retry_handlers=[])


# ---------------------------------------------------------------- Web API methods


def test_api_url_keeps_the_trailing_slash_slack_sdk_joins_with(sandbox):
    assert sandbox.api_url == f"{sandbox.base_url}/api/"
    assert sandbox.base_url.startswith("http://127.0.0.1:") and sandbox.port > 0


def test_auth_test_identifies_the_bot(sandbox, client):
    answer = client.auth_test()
    assert answer["user_id"] == "U0GOVBOT" and answer["team_id"] == "T0SANDBOX" and answer["bot_id"]
    assert sandbox.calls_of("auth.test")[0].token == sandbox.bot_token


@pytest.mark.parametrize("token", ["xoxb-wrong", None])
def test_wrong_or_missing_token_is_invalid_auth_with_status_200(sandbox, token):
    bad = WebClient(token=token, base_url=sandbox.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        bad.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "invalid_auth"
    assert sandbox.calls_of("chat.postMessage")[0].failed


def test_post_message_records_decoded_blocks_and_answers_increasing_ts(sandbox, client):
    answers = [client.chat_postMessage(channel="C0TEAM", text=f"n{i}", blocks=[SECTION]) for i in range(5)]
    stamps = [a["ts"] for a in answers]
    assert len(set(stamps)) == 5
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(a["channel"] == "C0TEAM" for a in answers)
    recorded = sandbox.calls_of("chat.postMessage")
    assert [c.body["text"] for c in recorded] == [f"n{i}" for i in range(5)]
    assert recorded[0].body["blocks"] == [SECTION]
    assert not recorded[0].failed and recorded[0].at <= recorded[-1].at


def test_ts_stay_unique_under_concurrent_posts(sandbox):
    stamps: list[str] = []
    lock = threading.Lock()

    def post_many() -> None:
        local = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
        for _ in range(5):
            ts = local.chat_postMessage(channel="C1", text="x")["ts"]
            with lock:
                stamps.append(ts)

    threads = [threading.Thread(target=post_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stamps) == 40 and len(set(stamps)) == 40


def test_posting_to_a_user_answers_the_dm_channel_conversations_open_gives(client):
    posted = client.chat_postMessage(channel="U0ALICE", text="your pulse survey is open")
    opened = client.conversations_open(users="U0ALICE")
    again = client.conversations_open(users=["U0ALICE"])
    assert posted["channel"].startswith("D")
    assert posted["channel"] == opened["channel"]["id"] == again["channel"]["id"] == dm_channel_id("U0ALICE")
    assert client.conversations_open(users="U0BOB")["channel"]["id"] != posted["channel"]


def test_message_without_text_or_blocks_is_refused_like_slack(client):
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessage", json={"channel": "C1"})
    assert raised.value.response["error"] == "no_text"


def test_ephemeral_and_update(sandbox, client):
    ephemeral = client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    posted = client.chat_postMessage(channel="C1", text="v1")
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="v2", blocks=[SECTION])
    assert float(ephemeral["message_ts"]) < float(posted["ts"])
    assert updated["ts"] == posted["ts"] and updated["channel"] == "C1"
    assert sandbox.calls_of("chat.update")[0].body == {
        "channel": "C1",
        "ts": posted["ts"],
        "text": "v2",
        "blocks": [SECTION],
    }


def test_views_open_push_update_with_ids_and_hash(sandbox, client):
    opened = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    pushed = client.views_push(trigger_id="123.456.abd", view={**MODAL, "callback_id": "step2"})["view"]
    assert opened["id"].startswith("V") and pushed["id"].startswith("V") and opened["id"] != pushed["id"]
    assert opened["callback_id"] == "settings" and opened["state"] == {"values": {}}

    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view={**MODAL, "blocks": [SECTION]}
    )
    assert updated["view"]["id"] == opened["id"] and updated["view"]["blocks"] == [SECTION]
    assert sandbox.view(opened["id"])["blocks"] == [SECTION]
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)  # stale hash
    assert raised.value.response["error"] == "hash_conflict"
    assert sandbox.calls_of("views.open")[0].body["view"] == MODAL


def test_views_open_needs_a_trigger(client):
    with pytest.raises(SlackApiError) as raised:
        client.api_call("views.open", json={"view": MODAL})
    assert raised.value.response["error"] == "invalid_arguments"


def test_views_publish_keeps_one_home_view_per_user(sandbox, client):
    first = client.views_publish(user_id="U0ALICE", view=HOME)["view"]
    second = client.views_publish(user_id="U0ALICE", view={**HOME, "blocks": []})["view"]
    other = client.views_publish(user_id="U0BOB", view=HOME)["view"]
    assert first["id"] == second["id"] != other["id"]
    assert sandbox.home_view("U0ALICE")["blocks"] == [] and sandbox.home_view("U0CAROL") is None


def test_users_info_knows_added_users_only(sandbox, client):
    sandbox.add_user("U0ALICE", name="alice", tz="Europe/Paris")
    user = client.users_info(user="U0ALICE")["user"]
    assert user["name"] == "alice" and user["tz"] == "Europe/Paris" and user["tz_offset"] in (3600, 7200)
    assert client.users_info(user=sandbox.bot_user_id)["user"]["is_bot"] is True
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0NOBODY")
    assert raised.value.response["error"] == "user_not_found"


def test_unknown_method(client):
    with pytest.raises(SlackApiError) as raised:
        client.api_call("reactions.add", json={"channel": "C1", "name": "tada", "timestamp": "1.2"})
    assert raised.value.response["error"] == "unknown_method"


def test_files_upload_v2_round_trip_from_bytes_and_from_a_path(sandbox, client, tmp_path):
    png = bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    answer = client.files_upload_v2(channel="C0TEAM", file=png, filename="digest.png", title="Weekly digest")
    file_id = answer["file"]["id"]
    assert sandbox.uploaded_files[file_id] == png
    assert answer["file"]["title"] == "Weekly digest" and answer["file"]["channels"] == ["C0TEAM"]
    complete = sandbox.calls_of("files.completeUploadExternal")[0].body
    assert complete["files"] == [{"id": file_id, "title": "Weekly digest"}]  # decoded from the form's JSON
    assert complete["channel_id"] == "C0TEAM"

    path = tmp_path / "report.txt"
    path.write_bytes(b"velocity vs quality\n")
    from_path = client.files_upload_v2(channel="C0TEAM", file=str(path), title="Report")
    assert sandbox.uploaded_files[from_path["file"]["id"]] == b"velocity vs quality\n"
    assert [c.method for c in sandbox.calls][-3:] == [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]


def test_complete_upload_of_a_file_never_uploaded_fails(client):
    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": "F0MISSING", "title": "x"}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"


def test_form_and_multipart_bodies_are_parsed_with_json_arguments_decoded(sandbox, client):
    client.api_call(
        "chat.postMessage", params={"channel": "C1", "blocks": json.dumps([SECTION]), "text": "t"}
    )
    client.api_call(
        "chat.postMessage", data={"channel": "C2", "text": "{not json", "blocks": json.dumps([SECTION])}
    )
    form, multipart = sandbox.calls_of("chat.postMessage")
    assert form.body == {"channel": "C1", "blocks": [SECTION], "text": "t"}
    assert multipart.body == {"channel": "C2", "text": "{not json", "blocks": [SECTION]}


def test_parse_body_keeps_multipart_files_byte_exact():
    content_type = "multipart/form-data; boundary=XyZ"
    raw = (
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nChart\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\n\x00\r\n--XyZ--\r\n"
    )
    assert parse_body(content_type, raw) == {"title": "Chart", "file": b"\x89PNG\r\n\n\x00"}


def test_response_url_posts_are_recorded_and_unknown_urls_refused(sandbox):
    url = sandbox.new_response_url()
    assert url.startswith(f"{sandbox.base_url}/response_url/")
    answer = WebhookClient(url).send(text="Sprint 14 is a refactoring sprint", replace_original=True)
    assert answer.status_code == 200
    [call] = sandbox.calls_of("response_url")
    assert call.body == {"text": "Sprint 14 is a refactoring sprint", "replace_original": True}
    assert call.path == url.removeprefix(sandbox.base_url) and call.token is None
    assert WebhookClient(f"{sandbox.base_url}/response_url/forged").send(text="x").status_code == 404


# ---------------------------------------------------------------- failures and limits


def test_rate_limited_call_succeeds_on_retry_after_waiting(sandbox, monkeypatch):
    from slack_sdk.http_retry import builtin_handlers

    monkeypatch.setattr(builtin_handlers.random, "random", lambda: 0.0)  # no jitter: wait exactly Retry-After
    client = WebClient(
        token=sandbox.bot_token, base_url=sandbox.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    sandbox.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert time.monotonic() - started >= 1.0
    attempts = sandbox.calls_of("chat.postMessage")
    assert [(c.failed, c.status) for c in attempts] == [(True, 429), (False, 200)]
    assert attempts[0].error == "ratelimited" and attempts[0].body["text"] == "hi"


def test_rate_limited_answer_without_retry_handler(sandbox, client):
    sandbox.fail_next("views.publish", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.views_publish(user_id="U1", view=HOME)
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_server_error_is_retried_by_server_error_handler(sandbox):
    handler = ServerErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.05))
    client = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url, retry_handlers=[handler])
    sandbox.fail_next("views.open", status=503)
    assert client.views_open(trigger_id="t", view=MODAL)["view"]["id"]
    assert [c.status for c in sandbox.calls_of("views.open")] == [503, 200]


def test_injected_failures_count_down_and_apply_to_response_urls(sandbox, client):
    sandbox.fail_next("auth.test", count=2, status=500)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.auth_test()
    assert client.auth_test()["ok"]
    url = sandbox.new_response_url()
    sandbox.fail_next("response_url", status=500)
    failed = WebhookClient(url).send(text="x")
    assert failed.status_code == 500 and "Internal Server Error" in failed.body
    assert WebhookClient(url).send(text="x").status_code == 200


def test_rate_limit_bucket_answers_429_past_the_burst(sandbox, client):
    sandbox.set_rate_limit("chat.postMessage", per_minute=60, burst=3)
    for _ in range(3):
        client.chat_postMessage(channel="C1", text="ok")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="too many")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert client.auth_test()["ok"]  # limits are per method
    assert [c.failed for c in sandbox.calls_of("chat.postMessage")] == [False, False, False, True]


def test_token_bucket_refills_and_computes_retry_after():
    bucket = TokenBucket(per_minute=6, burst=2)  # one token every 10 s
    start = bucket.updated
    assert bucket.take(start) == 0.0 and bucket.take(start) == 0.0
    assert bucket.take(start) == pytest.approx(10.0)
    assert bucket.take(start + 4.0) == pytest.approx(6.0)
    assert bucket.take(start + 10.0) == 0.0


def test_latency_delays_every_answer():
    with SlackSandbox(latency=0.2) as slow:
        client = WebClient(token=slow.bot_token, base_url=slow.api_url)
        started = time.monotonic()
        client.auth_test()
        assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------- the simulator of Slack's requests


class _Echo(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers.items()), body))
        answer = json.dumps({"echo": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def echo():
    received: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Echo", (_Echo,), {"received": received}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def simulator(echo, sandbox):
    return SlackRequestSimulator(events_url=echo[0], signing_secret=SECRET, sandbox=sandbox)


def _verified(headers: dict[str, str], body: bytes) -> bool:
    return SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_slash_command_is_a_signed_form_with_slacks_fields(simulator, echo, sandbox):
    answer = simulator.slash_command(
        "sprint status", user_id="U0ALICE", channel_id="C0TEAM", trigger_id="1.2.t"
    )
    path, headers, body = echo[1][0]
    assert path == "/slack/events" and headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _verified(headers, body)
    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert (
        fields["command"] == "/govbot"
        and fields["text"] == "sprint status"
        and fields["trigger_id"] == "1.2.t"
    )
    assert (
        fields["user_id"] == "U0ALICE"
        and fields["channel_id"] == "C0TEAM"
        and fields["team_id"] == "T0SANDBOX"
    )
    assert {"token", "team_domain", "channel_name", "user_name", "api_app_id"} <= fields.keys()
    assert fields["response_url"] == answer.response_url and answer.response_url.startswith(sandbox.base_url)
    assert answer.status == 200 and answer.json()["echo"] == body.decode() and answer.elapsed > 0
    assert answer.headers["content-type"] == answer.headers["Content-Type"] == "application/json"


def test_block_action_payload_in_a_message_and_in_a_view(simulator, echo):
    message = {"type": "message", "ts": "1700000000.000100", "text": "survey"}
    in_message = simulator.block_action(
        user_id="U0ALICE", action_id="survey_open", value="42", channel_id="C0TEAM", message=message
    )
    simulator.block_action(user_id="U0BOB", action_id="home_settings", view={"id": "V1", "type": "home"})
    (_, headers, body), (_, _, view_body) = echo[1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded" and _verified(headers, body)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ALICE"
    assert payload["team"]["id"] == "T0SANDBOX" and payload["trigger_id"]
    assert payload["actions"][0] | {"action_ts": None} == {
        "type": "button",
        "action_id": "survey_open",
        "block_id": "b",
        "value": "42",
        "action_ts": None,
    }
    assert payload["container"]["message_ts"] == message["ts"] and payload["message"] == message
    assert payload["response_url"] == in_message.response_url and payload["channel"]["id"] == "C0TEAM"
    in_view = json.loads(parse_qs(view_body.decode())["payload"][0])
    assert in_view["view"]["id"] == "V1" and in_view["container"] == {"type": "view", "view_id": "V1"}
    assert "response_url" not in in_view


def test_view_submission_passes_values_through(simulator, echo):
    values = {"q1": {"score": {"type": "static_select", "selected_option": {"value": "4"}}}}
    simulator.view_submission(
        user_id="U0ALICE", callback_id="survey", values=values, private_metadata='{"s":1}'
    )
    _, headers, body = echo[1][0]
    assert _verified(headers, body)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "view_submission" and payload["view"]["callback_id"] == "survey"
    assert payload["view"]["state"]["values"] == values and payload["view"]["private_metadata"] == '{"s":1}'
    assert payload["view"]["id"] == "V0SIM" and payload["view"]["hash"] == "h"


def test_events_are_json_envelopes_with_retry_headers_when_redelivered(simulator, echo):
    simulator.event({"type": "member_joined_channel", "user": "U0NEW", "channel": "C0TEAM"}, event_id="Ev1")
    simulator.event({"type": "member_joined_channel"}, event_id="Ev1", retry_num=1)
    simulator.app_home_opened("U0ALICE")
    simulator.url_verification("challenge-xyz")
    (_, first_headers, first), (_, retry_headers, _), (_, _, home), (_, _, handshake) = echo[1]
    assert first_headers["Content-Type"] == "application/json" and _verified(first_headers, first)
    assert "X-Slack-Retry-Num" not in first_headers
    envelope = json.loads(first)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert (
        envelope["team_id"] == "T0SANDBOX" and envelope["event"]["user"] == "U0NEW" and envelope["event_time"]
    )
    assert (retry_headers["X-Slack-Retry-Num"], retry_headers["X-Slack-Retry-Reason"]) == (
        "1",
        "http_timeout",
    )
    home_event = json.loads(home)["event"]
    assert home_event["type"] == "app_home_opened" and home_event["channel"] == dm_channel_id("U0ALICE")
    assert json.loads(handshake) == {
        "token": json.loads(handshake)["token"],
        "challenge": "challenge-xyz",
        "type": "url_verification",
    }


def test_signatures_verify_and_tampering_is_detectable(simulator, echo):
    simulator.post_raw(b"a=1", content_type="application/x-www-form-urlencoded")
    simulator.post_raw(b"a=1", content_type="application/x-www-form-urlencoded", sign=False)
    simulator.post_raw(b"a=1", content_type="text/plain", timestamp=int(time.time()) - 600)
    (_, signed, body), (_, unsigned, _), (_, stale, _) = echo[1]
    assert _verified(signed, body) and not _verified(signed, b"a=2")
    assert "X-Slack-Signature" not in unsigned and not _verified(unsigned, body)
    assert stale["Content-Type"] == "text/plain" and not _verified(stale, body)
    fixed = simulator.sign(b"{}", timestamp=1_700_000_000)
    assert (
        SignatureVerifier(SECRET).generate_signature(timestamp="1700000000", body=b"{}")
        == fixed["X-Slack-Signature"]
    )


# ---------------------------------------------------------------- end to end with a real bolt app


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def test_real_bolt_app_round_trip(sandbox):
    app = App(
        client=WebClient(token=sandbox.bot_token, base_url=sandbox.api_url),
        token=sandbox.bot_token,
        signing_secret=SECRET,
        process_before_response=True,  # listeners finish before the HTTP answer, so the test can assert at once
    )

    @app.command("/govbot")
    def govbot(ack, respond, command, client):
        ack()
        respond(f"status for {command['user_id']}")
        client.views_open(trigger_id=command["trigger_id"], view=MODAL)

    @app.event("app_home_opened")
    def home(event, client):
        client.views_publish(user_id=event["user"], view=HOME)

    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), _ThreadingWSGIServer, _QuietWSGIHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        simulator = SlackRequestSimulator(
            events_url=f"http://127.0.0.1:{server.server_port}/slack/events",
            signing_secret=SECRET,
            sandbox=sandbox,
        )
        command = simulator.slash_command(
            "status", user_id="U0ALICE", channel_id="C0TEAM", trigger_id="9.9.t"
        )
        assert command.status == 200
        assert simulator.app_home_opened("U0ALICE").status == 200
        forged = SlackRequestSimulator(
            events_url=simulator.events_url, signing_secret="wrong", sandbox=sandbox
        )
        assert forged.slash_command("status", user_id="U0ALICE", channel_id="C0TEAM").status == 401
    finally:
        server.shutdown()
        server.server_close()
    assert sandbox.calls_of("response_url")[0].body["text"] == "status for U0ALICE"
    assert sandbox.calls_of("response_url")[0].path.endswith(command.response_url.rsplit("/", 1)[1])
    assert sandbox.calls_of("views.open")[0].body["trigger_id"] == "9.9.t"
    assert sandbox.home_view("U0ALICE")["blocks"] == [SECTION]
    assert {c.token for c in sandbox.calls if c.path.startswith("/api/")} == {sandbox.bot_token}


def test_post_raw_header_overrides_replace_the_signature(simulator, echo):
    simulator.post_raw(b"{}", content_type="application/json", headers={"x-slack-signature": "v0=forged"})
    _, headers, body = echo[1][0]
    assert {k.lower(): v for k, v in headers.items()}["x-slack-signature"] == "v0=forged"
    assert not _verified(headers, body)


def test_conversations_history_returns_a_channels_messages_newest_first(client):
    first = client.chat_postMessage(channel="U0AAAAAAA1", text="first")
    client.chat_postMessage(channel="U0BBBBBBB2", text="elsewhere")
    second = client.chat_postMessage(channel="U0AAAAAAA1", text="second", blocks=[
        {"type": "actions", "elements": [{"type": "button", "action_id": "survey_open", "value": "7",
                                          "text": {"type": "plain_text", "text": "Open"}}]}])
    channel = client.conversations_open(users="U0AAAAAAA1")["channel"]["id"]
    history = client.conversations_history(channel=channel)
    assert [m["text"] for m in history["messages"]] == ["second", "first"]
    assert history["messages"][0]["blocks"][0]["elements"][0]["value"] == "7"
    assert [m["ts"] for m in client.conversations_history(channel=channel, oldest=first["ts"])["messages"]] == [
        second["ts"]]
    assert len(client.conversations_history(channel=channel, limit=1)["messages"]) == 1
