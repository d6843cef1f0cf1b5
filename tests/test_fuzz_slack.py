"""Property-based fuzzing of `POST /slack/events` with hypothesis: signed requests of every shape Slack sends
(slash commands, block actions, view submissions, events) with known and unknown ids, forged values and metadata,
wrong-typed fields, deep nesting, and bodies that are not Slack's at all.

The promise checked: a signed request of Slack's shape gets a 2xx; one with fields of the wrong type gets a 2xx or
a 400; a body that is not Slack's shape gets 400; an unsigned or stale one 401 — and nothing ever logs an error,
a traceback or bolt's "unhandled request". The audit chain still verifies afterwards.

The requests go to the ASGI application in-process (a few thousand, quick); a smaller run goes over a real socket
through uvicorn. ``GOVBOT_FUZZ_EXAMPLES=20000`` runs more.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.adapters.slack.server import create_web_app
from govbot.core import audit
from govbot.sandbox.slack_client import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, signature_headers
from tests.conftest import KEY, SIGNING_SECRET, close_bot, make_bot

EXAMPLES = int(os.environ.get("GOVBOT_FUZZ_EXAMPLES", "3000"))
WIRE_EXAMPLES = max(50, EXAMPLES // 40)
# A request takes about 15 ms here; the per-test timeout grows with the examples asked for (40 ms each, and a minute).
RUN_TIMEOUT = pytest.mark.timeout(60 + EXAMPLES // 25)
TEAM_FILE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"

# --- what the fuzzer sends


@dataclass(frozen=True)
class Case:
    """One request and what may come back: ``slack`` (2xx), ``loose`` (2xx or 400), ``foreign`` (400) or
    ``unsigned`` (401)."""

    body: bytes
    content_type: str
    expect: str
    label: str
    timestamp_offset: int = 0


USERS = st.sampled_from(["U0ADMIN001", "U0SOMEONE1", "W0GRIDUSER1", "U0MANAGER1", "U0SENIOR01", "U0JUNIOR02"])
CHANNELS = st.sampled_from(["C0PAYMENTS1", "C0RANDOM01", "D0SOMEONE1", "G0PRIVATE1"])
BAD_IDS = st.one_of(st.text(max_size=40), st.just("'; DROP TABLE team; --"), st.just("U" * 5000),
                    st.just("U0SOMEONE1\n"), st.just(""))
WRONG_TYPES = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), st.just(str(2**63)),
                    st.just(str(2**31)), st.just("1"), st.just("0"), st.just("1e9"), st.just(" 12"),
                    st.just("9" * 400))
VALUES = st.one_of(NUMBERS, st.text(max_size=60), st.just("payments"), st.just("PAY-1"), st.just("t" * 3000))
KNOWN_ACTIONS = st.sampled_from([a.value for a in ActionId])
KNOWN_VIEWS = st.sampled_from([c.value for c in CallbackId])
UNKNOWN_IDS = st.one_of(st.sampled_from(["digest_preview", "refactor_skip", "survey_close", "nope"]),
                        st.text(min_size=1, max_size=30))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
JSON_ANY = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                        max_leaves=10)
WORDS = st.sampled_from(["help", "status", "settings", "setup", "survey", "start", "close", "results", "track",
                         "PAY-1", "human-first", "audit", "50", "refactor", "skip", "--team", "payments",
                         "--reason", '"a reason"', "'", '"', "\\", "--disable", "none", "“quoted”", "--", "-"])


def _form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def _payload(payload: Any) -> bytes:
    return _form({"payload": json.dumps(payload)})


@st.composite
def slash_commands(draw: st.DrawFn) -> Case:
    text = draw(st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=8).map(" ".join),
                          st.integers(min_value=0, max_value=3).map(lambda n: "x" * (40_000 + n * 30_000))))
    good = draw(st.booleans()) or draw(st.booleans())
    user = draw(USERS) if good else draw(BAD_IDS)
    fields = {"command": draw(st.sampled_from(["/govbot", "/govbot", "/other"])), "text": text,
              "user_id": user, "channel_id": draw(CHANNELS), "team_id": "T0SANDBOX",
              "trigger_id": f"{int(time.time())}.1.{draw(st.integers(0, 10**6))}"}
    if draw(st.integers(0, 9)):
        fields["response_url"] = "RESPONSE_URL"
    elif draw(st.booleans()):
        fields["response_url"] = "https://attacker.example/hook"
        return Case(_form(fields), FORM_CONTENT_TYPE, "foreign", "command")
    return Case(_form(fields), FORM_CONTENT_TYPE, "slack", "command")


def _actor(user: Any) -> dict[str, Any]:
    return {"user": {"id": user, "team_id": "T0SANDBOX"}, "team": {"id": "T0SANDBOX"}, "api_app_id": "A0GOVBOT"}


@st.composite
def block_actions(draw: st.DrawFn) -> Case:
    wrong = draw(st.integers(0, 5)) == 5
    user = draw(WRONG_TYPES) if wrong else draw(st.one_of(USERS, USERS, BAD_IDS))
    action: dict[str, Any] = {"action_id": draw(st.one_of(KNOWN_ACTIONS, KNOWN_ACTIONS, UNKNOWN_IDS)),
                              "block_id": "b", "type": "button", "value": draw(VALUES),
                              "action_ts": f"{time.time():.6f}"}
    if draw(st.booleans()):
        action["value"] = draw(JSON_ANY)  # a value of any type where Slack sends a string
    payload: dict[str, Any] = {"type": "block_actions", **_actor(user), "actions": [action],
                               "container": {"type": "message"}}
    if draw(st.booleans()):
        payload["trigger_id"] = f"{int(time.time())}.1.{draw(st.integers(0, 10**6))}"
    if draw(st.booleans()):
        payload["response_url"] = "RESPONSE_URL"
    elif draw(st.integers(0, 9)) == 9:  # where govbot would post its answer: never a host the body names
        payload["response_url"], wrong = draw(st.sampled_from(["https://attacker.example/x", "http://10.0.0.1/",
                                                               "file:///etc/passwd", "RESPONSE_URL" * 200])), True
    if draw(st.integers(0, 19)) == 19:  # half a surrogate pair: valid JSON, but not text
        action["value"], wrong = "\ud800" + draw(VALUES), True
    if draw(st.integers(0, 9)) == 9:  # no action, or one without its id: never from Slack
        payload["actions"], wrong = draw(st.sampled_from([[], [5], [{}], [{"value": "1"}]])), True
    return Case(_payload(payload), FORM_CONTENT_TYPE, "loose" if wrong else "slack", "action")


@st.composite
def view_submissions(draw: st.DrawFn) -> Case:
    wrong = draw(st.integers(0, 5)) == 5
    metadata = draw(st.one_of(
        st.text(max_size=80),
        st.builds(lambda s, t: json.dumps({"survey_id": s, "team_id": t}), st.integers(-5, 2**70),
                  st.integers(-5, 2**40)),
        st.builds(lambda team, v: json.dumps({"team": team, "version": v, "team_id": 1}) + "|" + "0" * 64,
                  st.text(max_size=10), st.integers()),
        st.just("x" * 5000)))
    values = draw(st.dictionaries(
        st.sampled_from(["burnout", "review_drain", "ai_share", "comment", "reason", "name", "refactor_every",
                         "digest_channel", "members", "x"]),
        st.dictionaries(st.text(max_size=5), st.one_of(
            st.builds(lambda v: {"type": "plain_text_input", "value": v}, st.one_of(VALUES, st.none())),
            st.builds(lambda v: {"type": "radio_buttons", "selected_option": {"value": v}}, VALUES),
            st.builds(lambda v: {"type": "multi_users_select", "selected_users": v},
                      st.lists(st.one_of(USERS, BAD_IDS), max_size=3)),
            st.builds(lambda v: {"type": "static_select", "selected_option": v}, JSON_ANY)), max_size=2),
        max_size=5))
    view: dict[str, Any] = {"id": "V0FUZZ", "type": "modal", "callback_id": draw(st.one_of(KNOWN_VIEWS, UNKNOWN_IDS)),
                            "private_metadata": metadata, "state": {"values": values}, "team_id": "T0SANDBOX"}
    if wrong:
        view[draw(st.sampled_from(["callback_id", "private_metadata", "state"]))] = draw(WRONG_TYPES)
    elif draw(st.integers(0, 19)) == 19:  # half a surrogate pair in the metadata: valid JSON, but not text
        view["private_metadata"], wrong = metadata + "|\udfff", True
    user = draw(st.one_of(USERS, USERS, BAD_IDS))
    payload = {"type": draw(st.sampled_from(["view_submission", "view_submission", "view_closed"])), **_actor(user),
               "view": view, "trigger_id": f"{int(time.time())}.2.{draw(st.integers(0, 10**6))}"}
    return Case(_payload(payload), FORM_CONTENT_TYPE, "loose" if wrong else "slack", "view")


@st.composite
def events(draw: st.DrawFn) -> Case:
    wrong = draw(st.booleans())
    event: dict[str, Any] = {"type": draw(st.sampled_from(["app_home_opened", "app_home_opened", "message",
                                                          "app_mention", "reaction_added", "team_join"])),
                             "user": draw(st.one_of(USERS, BAD_IDS)), "channel": draw(CHANNELS),
                             "tab": draw(st.sampled_from(["home", "messages", ""])), "text": draw(st.text(max_size=30))}
    if wrong:
        event[draw(st.sampled_from(["user", "channel", "tab", "text", "type", "item", "message"]))] = draw(
            st.one_of(WRONG_TYPES, JSON_ANY))
    envelope = {"type": "event_callback", "team_id": "T0SANDBOX", "api_app_id": "A0GOVBOT", "event": event,
                "event_id": f"Ev{draw(st.integers(0, 10**9))}", "event_time": int(time.time())}
    return Case(json.dumps(envelope).encode(), JSON_CONTENT_TYPE, "loose" if wrong else "slack", "event")


@st.composite
def nested(draw: st.DrawFn) -> Case:
    depth = draw(st.integers(1, 3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    value = opener * depth + "1" + closer * depth
    if draw(st.booleans()):
        return Case(_form({"payload": '{"type": "block_actions", "x": ' + value + "}"}), FORM_CONTENT_TYPE,
                    "loose", "nested")
    event = '{"type": "event_callback", "team_id": "T0SANDBOX", "event": {"type": "message", "blocks": ' + value + "}}"
    return Case(event.encode(), JSON_CONTENT_TYPE, "loose", "nested")


@st.composite
def foreign(draw: st.DrawFn) -> Case:
    body = draw(st.one_of(
        st.binary(max_size=200).filter(lambda b: b"=" not in b),
        st.sampled_from([b"[1,2,3]", b"42", b'"text"', b"null", b"{not json", b"\xff\xfe", b"a=1&b=2",
                         b"payload=%5B1%5D", b"payload=%7Bnot-json", b'{"type": 5}', b"{}"]),
        st.lists(JSON_LEAF, max_size=4).map(lambda v: json.dumps(v).encode())))
    content_type = draw(st.sampled_from([JSON_CONTENT_TYPE, FORM_CONTENT_TYPE]))
    return Case(body, content_type, "foreign", "foreign")


@st.composite
def unsigned(draw: st.DrawFn) -> Case:
    inner = draw(st.one_of(slash_commands(), block_actions()))
    return Case(inner.body, inner.content_type, "unsigned", "unsigned",
                timestamp_offset=draw(st.sampled_from([-301, 400, 10**6])))


CASES = st.one_of(slash_commands(), block_actions(), view_submissions(), events(), nested(), foreign(), unsigned())

# --- where the requests go


def _asgi_sender(web_app: Any) -> tuple[Callable[[bytes, dict[str, str]], int], Callable[[], None]]:
    """Send a request to the ASGI app in-process, as uvicorn would; return its status."""
    loop = asyncio.new_event_loop()

    async def call(body: bytes, headers: dict[str, str]) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/slack/events", "raw_path": b"/slack/events", "query_string": b"",
                 "root_path": "", "server": ("127.0.0.1", 3000), "client": ("127.0.0.1", 5555),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in
                             {**headers, "content-length": str(len(body))}.items()]}
        sent: list[dict[str, Any]] = []
        chunks = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return chunks.pop() if chunks else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await web_app(scope, receive, send)
        return next(m["status"] for m in sent if m["type"] == "http.response.start")

    return (lambda body, headers: loop.run_until_complete(call(body, headers))), loop.close


@dataclass
class Stats:
    """What the run saw, printed at the end."""

    by_label: Counter[tuple[str, int]] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)


class Problems(logging.Handler):
    """Every ERROR, traceback or "unhandled request" record, from any thread. Work that runs after the ack (a
    command's) may log while a later case is being sent: the failure names that case, the log line the cause."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR or record.exc_info or "unhandled request" in message.lower():
            self.found.append(f"{record.levelname} {record.name}: {message[:300]}")


@pytest.fixture(scope="module")
def fuzz_bot(tmp_path_factory) -> Iterator[Any]:
    """The bot on SQLite with the example team and one open survey, shared by the fuzz runs."""
    from govbot.features.surveys import service as survey_service
    from govbot.features.teams.service import apply_specs, parse_team_file

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'govbot.db'}"
    upgrade(url)
    bot = make_bot(url)
    now = datetime.now(UTC)
    specs = parse_team_file(TEAM_FILE)
    with session_scope(bot.engine) as session:
        stored = apply_specs(session=session, key=KEY, now=now, actor="test", specs=specs, source="test")
    from govbot.core import teams

    with session_scope(bot.engine) as session:
        team = teams.get_team(session=session, name=specs[0].name)
        assert team is not None
        survey_service.start_survey(session=session, key=KEY, team=team, now=now, actor="test", disabled=None)
    del stored
    problems = Problems()
    logging.getLogger().addHandler(problems)
    bot.problems = problems
    bot.stats = Stats()
    try:
        yield bot
    finally:
        logging.getLogger().removeHandler(problems)
        close_bot(bot)


def _headers(case: Case, body: bytes) -> dict[str, str]:
    headers = {"content-type": case.content_type}
    signed = signature_headers(SIGNING_SECRET, body, int(time.time()) + case.timestamp_offset)
    if case.expect == "unsigned" and case.timestamp_offset == 10**6:
        signed["X-Slack-Signature"] = "v0=" + "0" * 64
    return {**headers, **signed}


ALLOWED = {"slack": range(200, 300), "loose": [*range(200, 300), 400], "foreign": [400], "unsigned": [401]}


def _check(bot: Any, case: Case, send: Callable[[bytes, dict[str, str]], int]) -> None:
    body = case.body.replace(b"RESPONSE_URL", bot.sandbox.new_response_url().encode()) if b"RESPONSE_URL" in \
        case.body else case.body
    started = time.monotonic()
    status = send(body, _headers(case, body))
    bot.stats.seconds.append(time.monotonic() - started)
    bot.stats.by_label[(case.label, status)] += 1
    assert status in ALLOWED[case.expect], (case.label, status, body[:300])
    assert not bot.problems.found, bot.problems.found[:3]
    if len(bot.sandbox.calls) > 2000:
        bot.sandbox.clear()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(case=CASES)
@RUN_TIMEOUT
def test_fuzz_in_process(fuzz_bot, case):
    if not hasattr(fuzz_bot, "asgi"):
        web_app = create_web_app(settings=fuzz_bot.runtime.settings, engine=fuzz_bot.engine,
                                 bolt_app=fuzz_bot.server.bolt_app)
        fuzz_bot.asgi, fuzz_bot.close_asgi = _asgi_sender(web_app)
    _check(fuzz_bot, case, fuzz_bot.asgi)


@settings(max_examples=WIRE_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(case=CASES)
@RUN_TIMEOUT
def test_fuzz_over_the_wire(fuzz_bot, case):
    def send(body: bytes, headers: dict[str, str]) -> int:
        return fuzz_bot.sim.post_raw(body, content_type=headers.pop("content-type"), headers=headers,
                                     sign=False).status

    _check(fuzz_bot, case, send)


def test_after_the_fuzz_the_audit_chain_verifies_and_nothing_was_logged(fuzz_bot):
    time.sleep(1.0)  # work that runs after the ack (lazy listeners, fan-out) settles
    with Session(fuzz_bot.engine) as session:
        report = audit.verify(session=session, key=KEY)
    assert report.ok, report.problem
    assert not fuzz_bot.problems.found, fuzz_bot.problems.found[:5]
    stats = fuzz_bot.stats
    seconds = sorted(stats.seconds)
    print(f"\nfuzz: {len(seconds)} requests; answered in {seconds[len(seconds) // 2] * 1000:.1f} ms (median), "
          f"{seconds[int(len(seconds) * 0.99)] * 1000:.1f} ms (99th percentile), {seconds[-1]:.3f} s (slowest); "
          f"audit chain of {report.checked} events verified")
    for (label, status), count in sorted(stats.by_label.items()):
        print(f"  {label:10} {status}: {count}")
    if hasattr(fuzz_bot, "close_asgi"):
        fuzz_bot.close_asgi()
