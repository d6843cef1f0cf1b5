"""Running Alembic from code, so an installed govbot needs no alembic.ini."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x60B08  # arbitrary, constant: the advisory lock that serialises `govbot db upgrade` runs


def alembic_config(url: str) -> Config:
    """An Alembic configuration for govbot's schema at this database URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``.

    On PostgreSQL two runs at once (a migration Job started twice, two pods upgrading) take turns on an advisory
    lock: the second waits, then finds the schema at head and does nothing. SQLite serialises writers itself.
    """
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(alembic_config(url), revision)
        return
    engine = create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
            lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this govbot ships."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None: no govbot schema yet)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's schema is at this govbot's head (a new image waits for its migration Job)."""
    return current_revision(engine) == head_revision()


def known_revision(revision: str) -> bool:
    """Whether this govbot ships the migration ``revision`` (False: a newer govbot wrote the schema)."""
    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision) is not None
    except Exception:
        return False
