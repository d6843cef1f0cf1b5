"""Alembic owns the schema: an empty database upgrades to head and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from govbot.adapters.db.migrate import alembic_config, upgrade
from govbot.adapters.db.tables import metadata


def test_empty_database_upgrades_to_head_and_matches_models(empty_db_url):
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": _include})
        diff = compare_metadata(context, metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert diff == [], f"autogenerate would change the schema: {diff}"
    assert {"team", "team_member", "team_manager", "team_settings", "audit_event", "survey_response",
            "survey_participation", "delivery"} <= tables


def _schema(url: str) -> tuple[str | None, dict[str, object]]:
    """The revision stamped in the database and every table's columns, indexes and unique constraints."""
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        inspector = inspect(connection)
        tables = {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted((i["name"] or "", tuple(i["column_names"])) for i in inspector.get_indexes(name)),
                sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
            )
            for name in sorted(inspector.get_table_names())
        }
    engine.dispose()
    return revision, tables


def test_upgrade_twice_is_a_no_op(empty_db_url):
    from sqlalchemy import text

    upgrade(empty_db_url)
    first = _schema(empty_db_url)
    engine = create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO survey_participation (digest) VALUES ('kept')"))
    engine.dispose()

    upgrade(empty_db_url)

    assert _schema(empty_db_url) == first
    assert first[0] == ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
    engine = create_engine(empty_db_url)
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT digest FROM survey_participation")).scalars().all()
    engine.dispose()
    assert kept == ["kept"]


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in {"apscheduler_jobs", "alembic_version"})


def test_read_only_engine_takes_no_write_lock(tmp_path):
    """Status and App Home read through it: a slow render (Jira) must never hold up a writer on SQLite."""
    from sqlalchemy import text

    from govbot.adapters.db.session import engine_for

    url = f"sqlite:///{tmp_path / 'ro.db'}"
    upgrade(url)
    reader, writer = engine_for(url, read_only=True), engine_for(url)
    with reader.connect() as slow_render:
        slow_render.execute(text("SELECT count(*) FROM team"))  # a read transaction stays open…
        with writer.begin() as connection:  # …and a writer still gets in at once
            connection.execute(text("INSERT INTO survey_participation (digest) VALUES ('x')"))
    with writer.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM survey_participation")).scalar() == 1
