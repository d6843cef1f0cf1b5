"""Alembic owns the schema: an empty database upgrades to head and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from govbot.db.migrate import upgrade
from govbot.db.tables import metadata


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


def test_upgrade_twice_is_a_no_op(empty_db_url):
    upgrade(empty_db_url)
    upgrade(empty_db_url)


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in {"apscheduler_jobs", "alembic_version"})


def test_read_only_engine_takes_no_write_lock(tmp_path):
    """Status and App Home read through it: a slow render (Jira) must never hold up a writer on SQLite."""
    from sqlalchemy import text

    from govbot.db.session import engine_for

    url = f"sqlite:///{tmp_path / 'ro.db'}"
    upgrade(url)
    reader, writer = engine_for(url, read_only=True), engine_for(url)
    with reader.connect() as slow_render:
        slow_render.execute(text("SELECT count(*) FROM team"))  # a read transaction stays open…
        with writer.begin() as connection:  # …and a writer still gets in at once
            connection.execute(text("INSERT INTO survey_participation (digest) VALUES ('x')"))
    with writer.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM survey_participation")).scalar() == 1
