"""Shared fixtures: databases on SQLite and PostgreSQL, the Slack sandbox, and the bot over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import make_engine
from govbot.adapters.db.tables import Delivery
from govbot.core.leases import database_now

PG_URL = os.environ.get("GOVBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("GOVBOT_TEST_REQUIRE_PG") == "1"
SIGNING_SECRET = "sandbox-signing-secret-0123456789"
BOT_TOKEN = "xoxb-sandbox-token"
KEY = b"test-secret-key-0123456789"
FAKED_CLOCK = os.environ.get("FAKETIME")  # set when the suite runs under libfaketime (`make test-clock`)


def same_clock(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child process, plus what makes it read the same wall clock as the tests: under
    `make test-clock` the libfaketime variables (a child on the true clock would, say, sign or date differently)."""
    inherited = {name: value for name, value in os.environ.items()
                 if name.startswith("FAKETIME") or name in ("LD_PRELOAD", "DONT_FAKE_MONOTONIC", "PYTHONPATH")}
    return {**env, **inherited} if FAKED_CLOCK else env


def _admin_url() -> str:
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


def _pg_problem() -> str | None:
    try:
        engine = create_engine(_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string()}: {exc.__class__.__name__}"


_PG_PROBLEM: list[str | None] = []


def pg_problem() -> str | None:
    """Why PostgreSQL tests cannot run here, or None (probed once per test session)."""
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_problem())
    return _PG_PROBLEM[0]


def require_pg() -> None:
    """Skip (with the reason) when no server is reachable — or fail, where CI promised one."""
    problem = pg_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(problem)
        pytest.skip(problem)


def new_pg_database() -> tuple[str, str]:
    """Create an empty database; return (url, name)."""
    name = f"govbot_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def drop_pg_database(name: str) -> None:
    """Drop a database made by new_pg_database."""
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty database, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'govbot.db'}"
        return
    require_pg()
    url, name = new_pg_database()
    try:
        yield url
    finally:
        from govbot.adapters.db.session import engine_for

        engine_for.cache_clear()
        drop_pg_database(name)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database upgraded to head, on each backend."""
    upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite database upgraded to head (for tests about behaviour, not the backend)."""
    url = f"sqlite:///{tmp_path / 'govbot.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an upgraded database, on each backend."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for domain and service tests."""
    return datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ bot over HTTP


class Ticks:
    """A monotonic clock that reads what the test sets (for caches and leases measured in seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Bot:
    """The real bolt app served over HTTP, talking to the Slack sandbox; requests signed like Slack's."""

    def __init__(self, runtime, sandbox, server, sim):
        self.runtime = runtime
        self.sandbox = sandbox
        self.server = server
        self.sim = sim

    @property
    def engine(self):
        return self.runtime.engine

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0):
        """Wait until the sandbox has recorded ``count`` successful calls of ``method``; return them."""
        from govbot.demo.steps import wait_until

        def calls():
            done = [c for c in self.sandbox.calls_of(method) if not c.failed]
            return done if len(done) >= count else None

        try:
            return wait_until(calls, timeout=timeout, what=f"{count} {method} call(s)")
        except RuntimeError:
            raise AssertionError(f"expected {count} {method} call(s), saw "
                                 f"{[c.method for c in self.sandbox.calls]}") from None

    def replies(self, timeout: float = 10.0):
        """Texts posted to response URLs so far (waits for at least one)."""
        return [c.body.get("text", "") for c in self.wait_for("response_url", 1, timeout)]


def make_bot(db_url: str, *, admins=("U0ADMIN001",), clock=None, tracker_factory=None, features=None):
    """Start sandbox + bot server + simulator; the caller must call ``close_bot``."""
    from govbot.config import load_settings
    from govbot.core.deps import system_clock
    from govbot.runtime import FEATURES, build_runtime, create_bolt_app
    from govbot.sandbox.harness import BotServer
    from govbot.sandbox.slack_api import SlackSandbox
    from govbot.sandbox.slack_client import SlackRequestSimulator

    sandbox = SlackSandbox(bot_token=BOT_TOKEN).start()
    settings = load_settings(
        sandbox=True, DATABASE_URL=db_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=sandbox.api_url, GOVBOT_SECRET_KEY=KEY.decode(), GOVBOT_ADMINS=",".join(admins),
    )
    runtime = build_runtime(settings, clock=clock or system_clock, tracker_factory=tracker_factory)
    server = BotServer(runtime, create_bolt_app(runtime, features or FEATURES)).start()
    sim = SlackRequestSimulator(events_url=server.events_url, signing_secret=SIGNING_SECRET, sandbox=sandbox)
    return Bot(runtime, sandbox, server, sim)


def close_bot(bot: Bot) -> None:
    bot.server.stop()
    bot.sandbox.stop()


@pytest.fixture
def bot_features(request):
    """The features the ``bot`` fixture runs: FEATURES, plus any a test adds with
    ``@pytest.mark.parametrize("bot_features", [(feature,)], indirect=True)``."""
    from govbot.runtime import FEATURES

    return (*FEATURES, *getattr(request, "param", ()))


@pytest.fixture
def bot(sqlite_url, bot_features) -> Iterator[Bot]:
    """The bot on SQLite (Slack-surface behaviour does not depend on the backend)."""
    instance = make_bot(sqlite_url, features=bot_features)
    yield instance
    close_bot(instance)


@pytest.fixture
def payments_team(bot):
    """The example team imported into the bot's database."""
    from pathlib import Path

    from govbot.adapters.db.session import session_scope
    from govbot.features.teams.service import apply_specs, parse_team_file

    specs = parse_team_file(Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml")
    with session_scope(bot.engine) as session:
        apply_specs(session=session, key=KEY, now=datetime.now(UTC), actor="test", specs=specs, source="test")
    return specs[0]


@pytest.fixture
def jira():
    """The Jira sandbox (seeded with the Payments board)."""
    from govbot.sandbox.jira_api import JiraSandbox

    with JiraSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def jira_bot(sqlite_url, jira):
    """The bot over HTTP with the example team, its Jira the ``jira`` sandbox."""
    from pathlib import Path

    from govbot.adapters.db.session import session_scope
    from govbot.adapters.tracker import JiraTracker
    from govbot.features.teams.service import apply_specs, parse_team_file

    bot = make_bot(sqlite_url, tracker_factory=lambda: JiraTracker(url=jira.url, **jira.credentials))
    specs = parse_team_file(Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml")
    with session_scope(bot.engine) as session:
        apply_specs(session=session, key=KEY, now=bot.runtime.clock(), actor="test", specs=specs, source="test")
    yield bot
    jira.release()
    bot.runtime.lanes.shutdown(timeout=5)
    close_bot(bot)


def age_open_claims(engine, seconds: float = 3600) -> None:
    """Make every open ledger claim look like its holder stopped heartbeating ``seconds`` ago (it died)."""
    with Session(engine) as session:
        for row in session.exec(select(Delivery).where(Delivery.done_at == None)):  # noqa: E711
            row.heartbeat_at = database_now(session) - timedelta(seconds=seconds)
            session.add(row)
        session.commit()


@pytest.fixture
def cluster(tmp_path):
    """Real govbot processes on a new PostgreSQL database (see ``tests/cluster.py``), stopped after the test."""
    from tests.cluster import Cluster

    require_pg()
    made = Cluster(tmp_path)
    try:
        yield made
    finally:
        made.close()
