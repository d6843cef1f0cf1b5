"""Engine and unit-of-work sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for any SQLAlchemy URL, with SQLite made safe for several threads and processes.

    ``read_only`` (SQLite only) gives an engine for views that only read — status, App Home — whose
    transactions take no write lock, so rendering them (Jira calls included) never holds up a survey answer
    or a settings save.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if in_memory else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, open transactions: pysqlite's own handling breaks SAVEPOINTs
            # (a released savepoint would commit the outer transaction).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL lets the web process read while the scheduler writes.
                cursor.execute("PRAGMA journal_mode=WAL")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: a read-then-write transaction (the audit chain's tip,
            # a ledger claim) then waits for busy_timeout instead of failing with "database is locked".
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(url: str, read_only: bool = False) -> Engine:
    """One engine per URL (and mode) per process."""
    parsed = make_url(url)
    if read_only and (parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:")):
        # PostgreSQL readers never block writers, and an in-memory SQLite database exists only in its own engine:
        # one engine serves both.
        return engine_for(url)
    return make_engine(url, read_only=read_only)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
