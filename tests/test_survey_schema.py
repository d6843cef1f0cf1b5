"""SPEC §5 anonymity, checked in the schema itself (models and migrated databases, SQLite and PostgreSQL).

This test fails when ``survey_response`` gains a column that could identify a person (a user/Slack/member id,
an email, a hash, an IP address, a timestamp finer than the day ...) or when ``survey_participation`` gains any
column besides the digest. The checker is tested too, on tables that break each rule.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    Text,
    Time,
    inspect,
)
from sqlalchemy.types import TypeEngine

from govbot.adapters.db.tables import metadata
from govbot.domain.surveys import QUESTIONNAIRE

# Any of these inside a column name points at a person or at a moment.
IDENTIFYING_PARTS = ("user", "slack", "member", "email", "mail", "hash", "digest", "token", "account", "login",
                     "person", "people", "respondent", "author", "actor", "owner", "sender", "device", "agent",
                     "address", "phone", "session", "time", "created", "updated", "submitted", "answered")
# ...and these as whole words of a snake_case name (too short to match safely inside other words).
IDENTIFYING_WORDS = {"ip", "ts", "at", "uid", "sub", "who", "name", "seq", "rank", "order", "channel", "dm"}
ITEM_COLUMNS = {item.block_id for item in QUESTIONNAIRE if item.kind != "text"}
TEXT_COLUMNS = {item.block_id for item in QUESTIONNAIRE if item.kind == "text"}


def identifying_name(name: str) -> bool:
    """Whether a column name suggests it identifies a person or a moment finer than the day."""
    lowered = name.lower()
    return any(part in lowered for part in IDENTIFYING_PARTS) or bool(set(re.split(r"[_\W]+", lowered))
                                                                       & IDENTIFYING_WORDS)


def response_problems(columns: dict[str, TypeEngine], foreign_keys: list[tuple[list[str], str]]) -> list[str]:
    """Why a survey_response table could identify who answered (empty when it cannot)."""
    problems = []
    for name, type_ in columns.items():
        if identifying_name(name):
            problems.append(f"survey_response.{name}: the name suggests it identifies a person or a moment")
        if isinstance(type_, DateTime | Time | Interval):
            problems.append(f"survey_response.{name}: a time finer than the day ({type_})")
        expected = (
            name == "id" and isinstance(type_, String)
            or name == "survey_id" and isinstance(type_, Integer)
            or name == "day" and isinstance(type_, Date) and not isinstance(type_, DateTime)
            or name in ITEM_COLUMNS and isinstance(type_, Integer)
            or name in TEXT_COLUMNS and isinstance(type_, Text | String)
        )
        if not expected:
            problems.append(f"survey_response.{name}: not the survey, the day or an answer to a questionnaire "
                            f"item ({type_})")
    for constrained, referred in foreign_keys:
        if (constrained, referred) != (["survey_id"], "survey"):
            problems.append(f"survey_response: foreign key {constrained} → {referred} links a response to more "
                            "than its survey")
    return problems


def participation_problems(columns: dict[str, TypeEngine], primary_key: list[str],
                           foreign_keys: list[tuple[list[str], str]]) -> list[str]:
    """Why survey_participation holds more than the HMAC digest (empty when it does not)."""
    problems = [f"survey_participation.{name}: only the digest may be stored" for name in columns if name != "digest"]
    if "digest" not in columns:
        problems.append("survey_participation: the digest column is missing")
    if primary_key != ["digest"]:
        problems.append(f"survey_participation: the primary key must be the digest alone, not {primary_key}")
    problems.extend(f"survey_participation: foreign key {c} → {r} could join it to something" for c, r in foreign_keys)
    return problems


def _from_inspector(inspector, table: str):
    columns = {c["name"]: c["type"] for c in inspector.get_columns(table)}
    foreign_keys = [(fk["constrained_columns"], fk["referred_table"]) for fk in inspector.get_foreign_keys(table)]
    return columns, inspector.get_pk_constraint(table)["constrained_columns"], foreign_keys


def _from_table(table: Table):
    columns = {c.name: c.type for c in table.columns}
    foreign_keys = [([fk.parent.name], fk.column.table.name) for fk in table.foreign_keys]
    return columns, [c.name for c in table.primary_key.columns], foreign_keys


def test_models_keep_responses_anonymous():
    columns, _, foreign_keys = _from_table(metadata.tables["survey_response"])
    assert response_problems(columns, foreign_keys) == []
    assert participation_problems(*_from_table(metadata.tables["survey_participation"])) == []


def test_migrated_database_keeps_responses_anonymous(engine):
    with engine.connect() as connection:
        inspector = inspect(connection)
        columns, _, foreign_keys = _from_inspector(inspector, "survey_response")
        participation = _from_inspector(inspector, "survey_participation")
        indexes = inspector.get_indexes("survey_participation")
    assert set(columns) == {"id", "survey_id", "day", *ITEM_COLUMNS, *TEXT_COLUMNS}
    assert response_problems(columns, foreign_keys) == []
    assert participation_problems(*participation) == []
    assert all(index["column_names"] == ["digest"] for index in indexes)


def test_the_checker_catches_identifying_columns():
    bad = Table(
        "survey_response", MetaData(),
        Column("id", String(32), primary_key=True), Column("survey_id", Integer), Column("day", Date),
        Column("burnout", Integer), Column("user_id", String(32)), Column("slack_id", String(32)),
        Column("member", Integer), Column("email", String(255)), Column("answer_hash", String(64)),
        Column("ip", String(45)), Column("submitted", DateTime()), Column("created_on", Date),
        Column("moment", DateTime()), Column("mood", Integer),
    )
    problems = response_problems(*[part for index, part in enumerate(_from_table(bad)) if index != 1])
    flagged = {p.split(":")[0].removeprefix("survey_response.") for p in problems}
    assert flagged == {"user_id", "slack_id", "member", "email", "answer_hash", "ip", "submitted", "created_on",
                       "moment", "mood"}
    assert not any(p.startswith(("survey_response.burnout", "survey_response.day")) for p in problems)


def test_the_checker_catches_anything_beside_the_digest():
    meta = MetaData()
    Table("survey", meta, Column("id", Integer, primary_key=True))
    widened = Table("survey_participation", meta, Column("digest", String(64), primary_key=True),
                    Column("survey_id", Integer, ForeignKey("survey.id")), Column("answered_on", Date))
    problems = participation_problems(*_from_table(widened))
    assert any("survey_id" in p and "only the digest" in p for p in problems)
    assert any("answered_on" in p for p in problems) and any("foreign key" in p for p in problems)
    linked = Table("survey_response", meta, Column("id", String(32), primary_key=True),
                   Column("survey_id", Integer, ForeignKey("survey.id")),
                   Column("comment", Text, ForeignKey("survey_participation.digest")))
    columns, _, foreign_keys = _from_table(linked)
    assert any("links a response" in p for p in response_problems(columns, foreign_keys))
