"""What every command-line module shares: one-line failures, settings, the actor, the clock, the engine."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import typer
from rich.console import Console
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from govbot.adapters.db.migrate import current_revision, head_revision, known_revision, upgrade
from govbot.adapters.db.session import engine_for
from govbot.config import ConfigError, Settings, load_settings

out = Console(soft_wrap=True)  # a sentence is never cut mid-command: the terminal wraps it
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr and exit."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    """Load settings or stop with the one line that names the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def actor() -> str:
    """Who is acting from the command line (recorded in the audit trail)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def now() -> datetime:
    """The clock, read at the entry point only."""
    return datetime.now(UTC)


def now_or_as_of(as_of: str | None) -> datetime:
    """The time a command acts at: ``--as-of`` when given (an ISO time; UTC when it names no zone), else now."""
    if not as_of:
        return now()
    try:
        when = datetime.fromisoformat(as_of)
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not an ISO time such as 2026-11-23T09:00:00+01:00") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_READY: set[str] = set()  # the database URLs whose schema this process has checked


def engine(s: Settings) -> Engine:
    """The engine on DATABASE_URL, with govbot's schema in place (every command that reads or writes calls this).

    SQLite is upgraded to the newest schema on the spot (as `govbot serve` does); on PostgreSQL, where a
    migration is a deployment step, a database without the newest schema stops the command with one line that
    says to run `govbot db upgrade`.
    """
    found = engine_for(s.database_url)
    if s.database_url not in _READY:
        _check_schema(s, found)
        _READY.add(s.database_url)
    return found


def _check_schema(s: Settings, found: Engine) -> None:
    url = make_url(s.database_url)
    try:
        revision = current_revision(found)
        if revision == head_revision():
            return
        if url.get_backend_name() == "sqlite":
            upgrade(s.database_url)
            return
    except SQLAlchemyError as exc:
        raise fail(f"cannot use the database at {url.render_as_string(hide_password=True)} "
                   f"({exc.__class__.__name__}): check DATABASE_URL and that the database is reachable") from None
    if revision is None:
        raise fail("the database has no govbot schema yet: run `govbot db upgrade` first")
    if not known_revision(revision):
        raise fail(f"the database's schema ({revision}) is newer than this govbot's: run the newer govbot")
    raise fail(f"the database's schema ({revision}) is older than this govbot's ({head_revision()}): "
               "run `govbot db upgrade` first")


def upgrade_schema(s: Settings) -> None:
    """Migrate DATABASE_URL to the newest schema."""
    upgrade(s.database_url)
