"""Benchmark: how fast govbot acks Slack, against a bare slack_bolt app served by the same stack, in the same run.

Slack gives an app 3 seconds to ack a slash command, an interaction or an event; past that the user sees
"operation_timeout". The server under test runs in a child process (as `govbot serve` would), behind the same
uvicorn + Starlette endpoint and signature check (``govbot.adapters.slack.server``; govbot's slash commands are
dispatched on the event loop once bolt knows the bot, the bare app's in the thread pool, since its ack waits for
bolt's executor); the Slack and Jira sandboxes run in this process. The clients run in a process of their own,
as Slack's servers are not in the app's process either: each is closed-loop on one kept-alive connection, sending
a signed `/govbot …` request, waiting for the HTTP answer (the ack) and sending the next. All of it shares this
machine's cores, so the figures are an upper bound of what the app alone would show; the bare app runs under the
same conditions.

- ack p50/p99 at 1, 10 and 50 clients for `/govbot help` (answered in the ack) and `/govbot status` (acked
  empty, answered after on the response_url), with Jira answering at once and in 100 ms a call;
- the same for a bare bolt app (`App()` with bolt's defaults: the help text in the ack; for status an empty ack
  and a lazy listener that posts one line to the response_url);
- the ack of `/govbot survey start` for a team of 2,000 members (the invitations go out after the ack);
- the time until the status reply itself reaches the Slack sandbox, 10 clients each waiting for their reply
  before asking again, Jira at 100 ms a call.

Run: ``.venv/bin/python benchmarks/ack_latency.py [--quick]`` (about a minute; ``--quick`` or BENCH_QUICK=1:
fewer requests, about 30 s). It never fails because the machine is slow; it exits 1 only when the server
did not start.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SIGNING_SECRET = "benchmark-signing-secret-0123456789"
BOT_TOKEN = "xoxb-benchmark-token"
MEMBER = "U0SENIOR01"
MANAGER = "U0MANAGER1"
CHANNEL = "C0PAYMENTS1"
BIG_CHANNEL = "C0BIGTEAM01"
BIG_TEAM = 2000
LEVELS = (1, 10, 50)
SLACK_DEADLINE = 3.0
FULL = {1: 200, 10: 1000, 50: 3000}  # requests per scenario, by clients (a p99 of 3,000 is the 30th slowest)
QUICK = {1: 20, 10: 60, 50: 150}
HELP_TEXT = "bare bolt app: usage text"


# ------------------------------------------------------------------------------------------------ the server


def _serve(kind: str, db_url: str, slack_url: str, jira_url: str, jira_credentials: dict, conn: Any) -> None:
    """The child process: govbot's or the bare bolt app, behind govbot's HTTP endpoint, until told to stop."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    import gc

    from govbot.adapters.slack.server import settle_heap
    from govbot.adapters.tracker import JiraTracker
    from govbot.config import load_settings
    from govbot.runtime import build_runtime, create_bolt_app
    from govbot.sandbox.harness import BotServer

    settings = load_settings(sandbox=True, DATABASE_URL=db_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_url)
    runtime = build_runtime(settings, tracker_factory=lambda: JiraTracker(url=jira_url, **jira_credentials))
    app = create_bolt_app(runtime) if kind == "govbot" else _bare_app(runtime)
    # The bare app's ack waits for bolt's executor: it may only be dispatched on a worker thread.
    server = BotServer(runtime, app, inline_commands=kind == "govbot").start()
    settle_heap()  # as `govbot serve` does
    pauses: list[float] = []
    started: list[float] = [0.0]

    def time_collections(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(time_collections)
    conn.send(server.events_url)
    conn.recv()  # stop
    gc.callbacks.remove(time_collections)
    server.stop()
    lanes = getattr(runtime, "lanes", None)
    if lanes is not None:
        lanes.shutdown(timeout=1)
    conn.send(max(pauses, default=0.0))


def _bare_app(runtime: Any) -> Any:
    """A bolt App with bolt's defaults: what a plain slack_bolt app answers the same commands with."""
    from slack_bolt import App

    app = App(client=runtime.slack, signing_secret=SIGNING_SECRET, token_verification_enabled=False)

    def ack_command(ack: Any, body: dict) -> None:
        if (body.get("text") or "").strip() == "status":
            ack()
        else:
            ack(text=HELP_TEXT, response_type="ephemeral")

    def reply_later(body: dict, respond: Any) -> None:
        if (body.get("text") or "").strip() == "status":
            respond(text="status", response_type="ephemeral", replace_original=False)

    app.command("/govbot")(ack=ack_command, lazy=[reply_later])
    return app


class Server:
    """One app served in a child process."""

    def __init__(self, kind: str, db_url: str, slack: Any, jira: Any):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(kind, db_url, slack.api_url, jira.url, jira.credentials,
                                                         child), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError(f"the {kind} server did not start within 60 s")
        self.events_url = self._conn.recv()

    def stop(self) -> float | None:
        """Stop the server; the longest garbage-collection pause it had while serving (seconds), if it said."""
        self._conn.send("stop")
        longest = self._conn.recv() if self._conn.poll(15) else None
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
        return longest


# ------------------------------------------------------------------------------------------------ measuring


def timed_sandbox(base: type) -> type:
    """The Slack sandbox, noting when each response_url was first posted to."""

    class TimedSlack(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.arrived: dict[str, float] = {}
            self.arrival = threading.Condition()

        def respond(self, verb: str, target: str, headers: Any, raw: bytes) -> Any:
            answer = super().respond(verb, target, headers, raw)
            path = urlsplit(target).path
            if path.startswith("/response_url/"):
                with self.arrival:
                    self.arrived.setdefault(path, time.monotonic())
                    self.arrival.notify_all()
            return answer

        def wait_reply(self, url: str, timeout: float) -> float | None:
            path = urlsplit(url).path
            deadline = time.monotonic() + timeout
            with self.arrival:
                while path not in self.arrived:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self.arrival.wait(left)
                return self.arrived[path]

    return TimedSlack


@dataclass
class Result:
    """What one scenario measured."""

    acks: list[float] = field(default_factory=list)  # seconds
    statuses: list[int] = field(default_factory=list)
    busy: int = 0
    replies: list[float] = field(default_factory=list)  # seconds from send to the reply's arrival
    pending: list[tuple[str, float]] = field(default_factory=list)  # (response_url, sent at)
    elapsed: float = 0.0

    def pct(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def over(self, seconds: float) -> int:
        return sum(1 for a in self.acks if a > seconds)


def _client_process(conn: Any) -> None:
    """The clients' own process: for each job (events URL, secret, bodies, clients), ``clients`` closed-loop
    clients, each on one kept-alive HTTP/1.1 connection (kept from one job to the next, so a scenario does not
    measure 50 connections opening at once), send the bodies between them, signed as they go. One asyncio loop
    writes and reads them all: a load generator should cost the shared cores as little as it can (50 threads of
    http.client cost about as much CPU as the server under test). Sends back, per body in order, (when it was
    sent on the monotonic clock, which both processes share; seconds to the ack; HTTP status; response body)."""
    import asyncio

    from govbot.sandbox.slack_client import FORM_CONTENT_TYPE, USER_AGENT, signature_headers

    Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
    loop = asyncio.new_event_loop()
    connections: dict[tuple[str, int], Stream] = {}

    async def exchange(stream: Stream, request: bytes) -> tuple[int, str]:
        reader, writer = stream
        writer.write(request)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = next((int(h.split(":", 1)[1]) for h in head[1:] if h.lower().startswith("content-length:")), 0)
        return status, (await reader.readexactly(length)).decode("utf-8", "replace")

    async def run(events_url: str, secret: str, bodies: list[bytes], clients: int) -> list[Any]:
        parts = urlsplit(events_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        answers: list[Any] = [None] * len(bodies)
        next_body = iter(range(len(bodies)))

        async def client(number: int) -> None:
            key = (events_url, number)
            for index in next_body:
                body = bodies[index]
                headers = {"Host": f"{host}:{port}", "Content-Type": FORM_CONTENT_TYPE, "User-Agent": USER_AGENT,
                           **signature_headers(secret, body, int(time.time())), "Content-Length": str(len(body))}
                request = (f"POST {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                           + "\r\n").encode("latin-1") + body
                sent = time.monotonic()
                while True:
                    fresh = key not in connections
                    if fresh:
                        connections[key] = await asyncio.open_connection(host, port)
                    try:
                        status, text = await exchange(connections[key], request)
                        break
                    except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                        connections.pop(key)[1].close()
                        if fresh:
                            status, text = 599, ""
                            break
                        # A kept-alive connection the server closed while idle (uvicorn does after 5 s), as any
                        # HTTP client finds now and then: open a new one and send again (timed from the first try).
                answers[index] = (sent, time.monotonic() - sent, status, text)

        await asyncio.gather(*(client(n) for n in range(clients)))
        return answers

    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(loop.run_until_complete(run(*job)))


class Clients:
    """Closed-loop clients in a process of their own (started once, reused for every scenario)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_client_process, args=(child,), daemon=True)
        self._process.start()

    def run(self, sim: Any, *, text: str, user: str, channel: str, clients: int, total: int) -> Result:
        """``clients`` closed-loop clients sending ``total`` `/govbot text` requests between them."""
        prepared = [sim.slash_command_body(text, user_id=user, channel_id=channel) for _ in range(total)]
        started = time.monotonic()
        self._conn.send((sim.events_url, sim.signing_secret, [body for body, _, _ in prepared], clients))
        answers = self._conn.recv()
        result = Result(elapsed=time.monotonic() - started)
        for (_, response_url, _), (sent, elapsed, status, body) in zip(prepared, answers, strict=True):
            result.acks.append(elapsed)
            result.statuses.append(status)
            if "busy" in body:
                result.busy += 1
            elif status == 200 and not body.strip() and response_url is not None:
                result.pending.append((response_url, sent))
        return result

    def stop(self) -> None:
        self._conn.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


def run_waiting_clients(sim: Any, slack: Any, *, text: str, user: str, channel: str, clients: int,
                        total: int) -> Result:
    """``clients`` closed-loop clients in this process sending ``total`` requests between them, each waiting for
    its reply to reach the Slack sandbox (here) before it asks again: the replies' scenario."""
    result = Result()
    lock = threading.Lock()
    left = [total]

    def client() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            sent = time.monotonic()
            response = sim.slash_command(text, user_id=user, channel_id=channel)
            body = response.body or ""
            with lock:
                result.acks.append(response.elapsed)
                result.statuses.append(response.status)
                result.busy += "busy" in body
            if response.status == 200 and not body.strip() and response.response_url is not None:
                arrived = slack.wait_reply(response.response_url, 60)
                if arrived is not None:
                    with lock:
                        result.replies.append(arrived - sent)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.monotonic() - started
    return result


def drain(slack: Any, result: Result, timeout: float) -> float:
    """Wait until every acked-empty request got its reply (or ``timeout``); seconds waited."""
    started = time.monotonic()
    for url, sent in result.pending:
        arrived = slack.wait_reply(url, max(0.0, timeout - (time.monotonic() - started)))
        if arrived is not None:
            result.replies.append(arrived - sent)
    return time.monotonic() - started


def warm_up_requests(clients: int) -> int:
    """Requests sent before each measured scenario: two per client, so every client's connection is open and the
    server's threads have started (the first scenario at 50 clients would otherwise measure 40 connections
    opening at once)."""
    return max(10, 2 * clients)


def pause_line(app: str, longest: float | None) -> str:
    figure = "unknown" if longest is None else f"{longest * 1000:.1f} ms"
    return f"{app:7} longest garbage-collection pause while serving: {figure}"


def line(app: str, command: str, jira_ms: int, clients: int, r: Result, baseline: Result | None) -> str:
    p50, p99 = r.pct(r.acks, 0.5), r.pct(r.acks, 0.99)
    ratio = f"{p99 / baseline.pct(baseline.acks, 0.99):5.2f}×" if baseline is not None else "      "
    errors = sum(1 for s in r.statuses if s != 200)
    rate = len(r.acks) / r.elapsed if r.elapsed else 0.0
    return (f"{app:7} {command:7} jira {jira_ms:3} ms {clients:3} clients {rate:5.0f}/s  ack p50 {p50:6.1f} ms  "
            f"p99 {p99:6.1f} ms {ratio}  over 3 s {r.over(SLACK_DEADLINE):3}/{len(r.acks):<3}  non-200 {errors:3}  "
            f"busy {r.busy:3}")


# ------------------------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help="fewer requests per scenario (about 30 s; also BENCH_QUICK=1)")
    args = parser.parse_args()
    counts = QUICK if args.quick else FULL

    from govbot.adapters.db.migrate import upgrade
    from govbot.adapters.db.session import make_engine
    from govbot.features.teams.service import apply_specs, parse_team_file
    from govbot.sandbox.jira_api import JiraSandbox
    from govbot.sandbox.slack_api import SlackSandbox
    from govbot.sandbox.slack_client import SlackRequestSimulator
    from govbot.teamconfig import MemberSpec, TeamSpec

    workdir = Path(tempfile.mkdtemp(prefix="govbot-bench-"))
    db_url = f"sqlite:///{workdir / 'govbot.db'}"
    upgrade(db_url)
    specs = parse_team_file(Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml")
    big = TeamSpec(name="big", jira_board_id=specs[0].jira_board_id, jira_project=specs[0].jira_project,
                   digest_channel=BIG_CHANNEL, timezone="UTC", managers=[MANAGER],
                   members=[MemberSpec(slack=f"U{i:09d}", jira=f"acc-{i}", seniority="mid")
                            for i in range(BIG_TEAM)])
    engine = make_engine(db_url)
    from sqlmodel import Session

    with Session(engine) as session:
        apply_specs(session=session, key=b"benchmark-secret-key-0123456789", now=datetime.now(UTC),
                    actor="benchmark", specs=[*specs, big], source="benchmark")
        session.commit()
    engine.dispose()

    slack = timed_sandbox(SlackSandbox)(bot_token=BOT_TOKEN).start()
    jira = JiraSandbox().start()
    run = "quick" if args.quick else "full"
    print(f"ack latency, govbot against a bare slack_bolt app on the same HTTP stack ({run} run; requests per "
          f"scenario at 1/10/50 clients: {counts[1]}/{counts[10]}/{counts[50]})")
    print("each app in a child process, the clients in another (kept-alive connections); Slack and Jira sandboxes "
          "in this one; p99 ratio is against the bare app at the same load")
    clients_process = Clients()
    try:
        bare: dict[tuple[str, int], Result] = {}
        server = Server("bare", db_url, slack, jira)
        try:
            sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=slack)
            for command in ("help", "status"):
                for clients in LEVELS:
                    clients_process.run(sim, text=command, user=MEMBER, channel=CHANNEL, clients=clients,
                                        total=warm_up_requests(clients))
                    r = clients_process.run(sim, text=command, user=MEMBER, channel=CHANNEL, clients=clients,
                                    total=counts[clients])
                    drain(slack, r, 60)
                    bare[(command, clients)] = r
                    print(line("bare", command, 0, clients, r, None), flush=True)
        finally:
            print(pause_line("bare", server.stop()), flush=True)

        server = Server("govbot", db_url, slack, jira)
        try:
            sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=slack)
            for jira_ms in (0, 100):
                jira.set_latency(jira_ms / 1000)
                for command in ("help", "status"):
                    for clients in LEVELS:
                        warm_up = clients_process.run(sim, text=command, user=MEMBER, channel=CHANNEL,
                                              clients=clients, total=warm_up_requests(clients))
                        drain(slack, warm_up, 60)
                        r = clients_process.run(sim, text=command, user=MEMBER, channel=CHANNEL, clients=clients,
                                        total=counts[clients])
                        waited = drain(slack, r, 120)
                        print(line("govbot", command, jira_ms, clients, r, bare[(command, clients)]), flush=True)
                        if r.pending:
                            got = len(r.replies)
                            print(f"{'':16}replies: {got}/{len(r.pending)} arrived, p50 {r.pct(r.replies, .5):.0f} ms,"
                                  f" p99 {r.pct(r.replies, .99):.0f} ms; backlog drained {waited:.1f} s after the "
                                  "last ack", flush=True)
            jira.set_latency(0.1)
            reply = run_waiting_clients(sim, slack, text="status", user=MEMBER, channel=CHANNEL, clients=10,
                                        total=counts[10] // 2)
            print(f"govbot  status reply, jira 100 ms, 10 clients each waiting for its reply: p50 "
                  f"{reply.pct(reply.replies, .5):.0f} ms, p99 {reply.pct(reply.replies, .99):.0f} ms, "
                  f"over 3 s {sum(1 for x in reply.replies if x > 3)}/{len(reply.replies)}, busy {reply.busy}",
                  flush=True)
            jira.set_latency(0)
            started = time.monotonic()
            survey = sim.slash_command("survey start", user_id=MANAGER, channel_id=BIG_CHANNEL)
            print(f"govbot  survey start for {BIG_TEAM} members: acked in {survey.elapsed * 1000:.0f} ms "
                  f"(HTTP {survey.status})", flush=True)
            time.sleep(max(0.0, 2 - (time.monotonic() - started)))
            during = clients_process.run(sim, text="help", user=MEMBER, channel=CHANNEL, clients=10,
                                         total=counts[10])
            print(line("govbot", "help", 0, 10, during, bare[("help", 10)]) + "  (during the survey fan-out)")
        finally:
            print(pause_line("govbot", server.stop()), flush=True)
        return 0
    finally:
        clients_process.stop()
        slack.stop()
        jira.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

