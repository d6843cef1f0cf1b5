"""Anonymity that holds after the fact: the promised threshold sticks, and storage order says nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from govbot.core import teams
from govbot.domain.surveys import NotEnoughResponses
from govbot.features.surveys import repo, service
from tests.test_surveys_service import MEMBERS, NOW, _close, _open, _submit, _team


def test_lowering_the_threshold_after_close_keeps_results_hidden(engine):
    team = _team(engine, k=5)
    survey, _ = _open(engine, team)
    for member in MEMBERS[:3]:
        _submit(engine, survey, member)
    _close(engine, survey, NOW + timedelta(hours=72))
    lowered = _team(engine, k=3)  # a manager lowers anonymity_min_responses to 3 afterwards
    assert lowered.settings.anonymity_min_responses == 3
    with Session(engine) as session:
        team_now = teams.get_team(session=session, name="payments")
        shown = repo.closed_results(session=session, team=team_now)
    assert shown is not None and isinstance(shown.shown, NotEnoughResponses) and shown.k == 5


def test_raising_the_threshold_applies_to_open_surveys_too(engine):
    team = _team(engine, k=3)
    survey, _ = _open(engine, team)
    for member in MEMBERS[:4]:
        _submit(engine, survey, member)
    raised = _team(engine, k=6)
    with Session(engine) as session:
        status = repo.open_status(session=session, team=raised)
    assert status is not None and status.responses is None and status.k == 6


def test_anonymous_tables_have_no_arrival_order_on_sqlite(engine):
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL has no rowid; open surveys are re-shuffled on every reminder run instead
    with engine.connect() as connection:
        for table in ("survey_response", "survey_participation"):
            sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
            assert "WITHOUT ROWID" in sql, table


def test_reshuffling_an_open_survey_keeps_every_answer(engine):
    team = _team(engine, k=3)
    survey, _ = _open(engine, team)
    for member in MEMBERS[:5]:
        _submit(engine, survey, member)
    with Session(engine) as session:
        before = sorted(r[0] for r in session.execute(text("SELECT id FROM survey_response")))
        service.reshuffle_open_responses(session=session, survey_id=survey.id)
        session.commit()
        after = sorted(r[0] for r in session.execute(text("SELECT id FROM survey_response")))
    assert before == after and len(after) == 5
