"""SPEC §2 team files: all-or-nothing, idempotent, audited, and errors that name file, team, field and problem."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent, Team
from govbot.core import teams as repo
from govbot.features.teams.service import TeamFileError, apply_specs, parse_team_file, remove_team
from tests.conftest import same_clock

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
KEY = b"test-secret-key-0123456789"


def _import(engine, path, now):
    specs = parse_team_file(path)
    with session_scope(engine) as session:
        return apply_specs(session=session, key=KEY, now=now, actor="test", specs=specs, source="test")


def _counts(engine):
    with Session(engine) as session:
        return len(session.exec(select(Team)).all()), len(session.exec(select(AuditEvent)).all())


def test_example_file_imports_once_and_again_changes_nothing(engine, now):
    first = _import(engine, EXAMPLE, now)
    second = _import(engine, EXAMPLE, now)
    assert first.created == ["payments"] and second.unchanged == ["payments"] and not second.updated
    assert _counts(engine) == (1, 1)
    with Session(engine) as session:
        team = repo.get_team(session=session, name="payments")
    assert team.spec.jira_board_id == 12 and team.settings.refactor_every == 3
    assert team.settings.zones[1] == ["auth", "payments", "data-access"]  # a default filled in
    assert len(team.spec.members) == 8 and team.is_manager("U0MANAGER1")


def test_changed_file_updates_with_before_and_after(engine, now, tmp_path):
    _import(engine, EXAMPLE, now)
    document = yaml.safe_load(EXAMPLE.read_text())
    document["teams"][0]["settings"]["refactor_every"] = 4
    changed = tmp_path / "teams.yaml"
    changed.write_text(yaml.safe_dump(document))
    report = _import(engine, changed, now)
    assert report.updated == ["payments"]
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "team.update")).one()
    assert event.before["settings"]["refactor_every"] == 3 and event.after["settings"]["refactor_every"] == 4


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: t.update(name="Bad Name"), "team Bad Name: `name` must be lowercase letters"),
    (lambda t: t["settings"].update(refactor_every=1), "team payments: `settings.refactor_every` must be a whole number from 2 to 12"),
    (lambda t: t["settings"].update(refactor_capacity_pct=150), "`settings.refactor_capacity_pct` must be a whole number from 10 to 100"),
    (lambda t: t.update(timezone="Mars/Olympus"), "team payments: `timezone`: 'Mars/Olympus' is not an IANA timezone"),
    (lambda t: t["members"][0].update(seniority="principal"), "in `members` entry 1, `seniority` must be junior, mid or senior"),
    (lambda t: t["settings"].update(survey_rrule="FREQ=HOURLY"), "`settings.survey_rrule`: fires more than once a day"),
    (lambda t: t["settings"].update(unknown_setting=1), "`settings.unknown_setting` is not a known field"),
    (lambda t: t["settings"].update(zones={1: ["auth", "AUTH"]}), "`settings.zones`: component 'AUTH' is listed twice"),
    (lambda t: t["settings"].update(survey_reminder_after_hours=80), "`settings.survey_reminder_after_hours`: the reminder"),
    (lambda t: t.update(jira_project="pay"), "`jira_project` must be a Jira project key"),
    (lambda t: t.pop("managers"), "`managers` is required"),
])
def test_one_bad_field_writes_nothing_and_names_file_team_field(engine, now, tmp_path, mutate, expected):
    document = yaml.safe_load(EXAMPLE.read_text())
    good = dict(copy.deepcopy(document["teams"][0]), name="platform", digest_channel="C0PLATFORM")
    bad = document["teams"][0]
    mutate(bad)
    document["teams"] = [good, bad]  # the good team must not be written either
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(TeamFileError) as info:
        _import(engine, path, now)
    assert any(str(path) in p and expected in p for p in info.value.problems), info.value.problems
    assert _counts(engine) == (0, 0)


@pytest.mark.parametrize("text,expected", [
    ("teams: [", "is not valid YAML at line"),
    ("nothing: here", "must have a top-level 'teams:' list"),
    ("teams:\n  - just a string", "must be a mapping of fields"),
])
def test_malformed_files(tmp_path, text, expected):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(TeamFileError, match=expected):
        parse_team_file(path)


def test_duplicate_team_in_file(tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["teams"].append(document["teams"][0])
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(TeamFileError, match="appears twice"):
        parse_team_file(path)


def test_remove_is_audited(engine, now):
    _import(engine, EXAMPLE, now)
    with session_scope(engine) as session:
        remove_team(session=session, key=KEY, now=now, actor="test", name="payments", reason="reorg")
    assert _counts(engine) == (0, 2)


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], env=same_clock(env), capture_output=True, text=True,
                          timeout=120)


def test_cli_import_twice_list_show_verify_and_tamper(tmp_path):
    db = tmp_path / "cli.db"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{db}", "GOVBOT_SECRET_KEY": "cli-test-key-0123456789"}
    assert _cli(["db", "upgrade"], env).returncode == 0
    first = _cli(["team", "import", str(EXAMPLE)], env)
    second = _cli(["team", "import", str(EXAMPLE)], env)
    assert "created 1" in first.stdout and "unchanged 1" in second.stdout
    assert "payments" in _cli(["team", "list"], env).stdout
    shown = yaml.safe_load(_cli(["team", "show", "payments"], env).stdout)
    assert shown["teams"][0]["jira_project"] == "PAY"
    verify = _cli(["audit", "verify"], env)
    assert verify.returncode == 0 and "1 events verified" in verify.stdout
    export = _cli(["audit", "export", "--format", "jsonl"], env)
    assert export.returncode == 0 and '"team.create"' in export.stdout
    import sqlite3

    connection = sqlite3.connect(db)
    connection.execute("UPDATE audit_event SET reason = 'forged'")
    connection.commit()
    connection.close()
    broken = _cli(["audit", "verify"], env)
    assert broken.returncode == 1 and "event 1 was edited" in broken.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams:\n  - name: x\n")
    refused = _cli(["team", "import", str(bad)], env)
    assert refused.returncode == 1 and "nothing was imported" in refused.stderr and "team x: `jira_board_id` is required" in refused.stderr


def test_reimport_keeps_an_anchor_govbot_chose(engine, now):
    from sqlalchemy import update

    _import(engine, EXAMPLE, now)
    with session_scope(engine) as session:
        session.exec(update(Team).where(Team.name == "payments").values(cadence_anchor_sprint_id=3417))
    report = _import(engine, EXAMPLE, now)
    assert report.unchanged == ["payments"]
    with Session(engine) as session:
        assert repo.get_team(session=session, name="payments").spec.cadence_anchor_sprint_id == 3417


def test_a_valid_rule_is_checked_once_and_a_bad_one_every_time():
    """Reading a team's settings validates its rules each time; the check of a rule is remembered by its text."""
    from pydantic import ValidationError

    from govbot.teamconfig import TeamSettings, _checked_rule

    _checked_rule.cache_clear()
    rule = "FREQ=WEEKLY;INTERVAL=3;BYDAY=WE;BYHOUR=11;BYMINUTE=30"
    for _ in range(3):
        assert TeamSettings.model_validate({"survey_rrule": "RRULE:" + rule}).survey_rrule == rule
    # two rules each time (this one and the default digest rule), each checked once
    assert (_checked_rule.cache_info().misses, _checked_rule.cache_info().hits) == (2, 4)
    for _ in range(2):
        with pytest.raises(ValidationError, match="fires more than once a day"):
            TeamSettings.model_validate({"survey_rrule": "FREQ=HOURLY"})
    assert _checked_rule.cache_info().currsize == 2
