"""SPEC §8: an append-only hash chain that finds any edited, deleted or reordered event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from govbot.core import audit

KEY = b"test-secret-key-0123456789"


def _write(engine, now, count=5):
    with Session(engine) as session:
        for i in range(count):
            audit.record(session=session, key=KEY, now=now + timedelta(seconds=i), actor="U0MANAGER1",
                         action="settings.update", team="payments", target="team:payments",
                         before={"refactor_every": i}, after={"refactor_every": i + 1}, reason=f"r{i}")
        session.commit()


def _verify(engine):
    with Session(engine) as session:
        return audit.verify(session=session, key=KEY)


def test_intact_chain_verifies(engine, now):
    _write(engine, now)
    report = _verify(engine)
    assert report.ok and report.checked == 5


def test_edited_row_is_found(engine, now):
    _write(engine, now)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET reason = 'forged' WHERE id = 3"))
    report = _verify(engine)
    assert not report.ok and report.event_id == 3 and "edited" in report.problem


def test_deleted_row_is_found(engine, now):
    _write(engine, now)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id = 2"))
    report = _verify(engine)
    assert not report.ok and report.event_id == 3 and "deleted" in report.problem


def test_reordered_rows_are_found(engine, now):
    _write(engine, now)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET id = 100 WHERE id = 2"))
    report = _verify(engine)
    assert not report.ok and report.event_id == 3


def test_wrong_key_cannot_verify(engine, now):
    _write(engine, now, 1)
    with Session(engine) as session:
        assert not audit.verify(session=session, key=b"another-key").ok


def test_export_csv_and_jsonl(engine, now):
    import csv
    import io
    import json

    _write(engine, now, 3)
    with Session(engine) as session:
        rows = [json.loads(line) for line in audit.export(audit.iter_events(session=session), fmt="jsonl")]
        table = "".join(audit.export(audit.iter_events(session=session), fmt="csv"))
    assert [r["after"] for r in rows] == [{"refactor_every": 1}, {"refactor_every": 2}, {"refactor_every": 3}]
    parsed = list(csv.DictReader(io.StringIO(table)))
    assert len(parsed) == 3 and parsed[0]["action"] == "settings.update" and parsed[2]["reason"] == "r2"
    assert parsed[1]["prev_hash"] == parsed[0]["hash"]


def test_failed_transaction_leaves_no_event(engine, now):
    try:
        with Session(engine) as session:
            audit.record(session=session, key=KEY, now=now, actor="system", action="x")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with Session(engine) as session:
        assert audit.verify(session=session, key=KEY).checked == 0


def test_deleting_the_newest_events_is_found(engine, now):
    _write(engine, now)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id >= 4"))
    report = _verify(engine)
    assert not report.ok and "missing" in report.problem and "records 5 events, the table holds 3" in report.problem


def test_editing_the_tip_is_found(engine, now):
    _write(engine, now)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id = 5"))
        connection.execute(text("UPDATE audit_head SET count = 4"))
    report = _verify(engine)
    assert not report.ok and "tip was edited" in report.problem
