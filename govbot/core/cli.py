"""What every command-line module shares: one-line failures, settings, the actor, the clock, the engine."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import engine_for
from govbot.config import ConfigError, Settings, load_settings

out = Console()
err = Console(stderr=True)


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


def engine(s: Settings) -> Engine:
    """The engine on DATABASE_URL."""
    return engine_for(s.database_url)


def upgrade_schema(s: Settings) -> None:
    """Migrate DATABASE_URL to the newest schema."""
    upgrade(s.database_url)
