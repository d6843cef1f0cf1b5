"""Alembic environment: govbot's tables only (APScheduler's job table is its own business)."""

from __future__ import annotations

import os

from alembic import context

from govbot.adapters.db.session import make_engine
from govbot.adapters.db.tables import metadata

config = context.config
target_metadata = metadata

# Tables that live in the same database but are not govbot's schema.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Leave other owners' tables out of autogenerate."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL or sqlalchemy.url in the Alembic config")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_object=include_object, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables so later migrations work there.
    context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
