"""Rotating GOVBOT_SECRET_KEY: the audit chain still verifies, and a survey answered before the rotation still
refuses a second answer (and sends no reminder to those who answered) after it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from govbot.adapters.db.tables import AuditEvent
from govbot.core import audit
from govbot.domain.keys import Keyring, key_id
from govbot.features.surveys import service
from tests.test_surveys_service import GOOD, KEY, MEMBERS, NOW, _open, _team

OLD = KEY  # what the tests' teams and surveys were written with
NEW = b"the-next-secret-key-0123456789abcdef"


def _record(engine, key: bytes, action: str, minutes: int = 0) -> None:
    with Session(engine) as session:
        audit.record(session=session, key=key, now=NOW + timedelta(minutes=minutes), actor="U0MANAGER1",
                     action=action, team="payments")
        session.commit()


def _verify(engine, key: bytes) -> audit.ChainReport:
    with Session(engine) as session:
        return audit.verify(session=session, key=key)


def test_the_audit_chain_verifies_across_a_rotation_and_a_retired_key_cannot_sign_after_the_seal(engine):
    _record(engine, OLD, "settings.update")
    with Session(engine) as session:  # an event from before key ids existed
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == 1).values(key_id=None))  # type: ignore[call-overload]
        session.commit()
    _record(engine, OLD, "settings.update", 1)
    rotated = Keyring(NEW, [OLD])
    _record(engine, rotated, "settings.update", 2)  # a pod with the new key
    _record(engine, OLD, "settings.update", 3)  # a pod not rolled yet, still signing with the old key
    assert _verify(engine, rotated).ok and _verify(engine, rotated).checked == 4

    without_old = _verify(engine, Keyring(NEW))  # the old key forgotten too early
    assert not without_old.ok and "GOVBOT_VERIFY_SECRET_KEYS" in str(without_old.problem)
    with Session(engine) as session:
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == 1).values(key_id=key_id(OLD)))  # type: ignore[call-overload]
        session.commit()
    named = _verify(engine, Keyring(NEW))
    assert not named.ok and key_id(OLD) in str(named.problem) and "GOVBOT_VERIFY_SECRET_KEYS" in str(named.problem)

    with Session(engine) as session:
        audit.seal_key(session=session, key=rotated, now=NOW + timedelta(minutes=4), actor="cli:ops")
        session.commit()
    _record(engine, rotated, "settings.update", 5)
    assert _verify(engine, rotated).ok
    _record(engine, OLD, "settings.update", 6)  # someone holding the retired key signs after the seal
    late = _verify(engine, rotated)
    assert not late.ok and late.checked == 6 and "sealed" in str(late.problem)


def test_survey_participation_survives_a_rotation(engine):
    team = _team(engine)
    survey, _ = _open(engine, team)
    rotated = Keyring(NEW, [OLD])

    def submit(user: str, key: bytes):
        with Session(engine) as session:
            outcome = service.submit_response(session=session, key=key, survey_id=survey.id, team_id=survey.team_id,
                                              user_id=user, raw=GOOD, now=NOW + timedelta(hours=1))
            session.commit()
        return outcome

    assert isinstance(submit(MEMBERS[0], OLD), service.Accepted)  # answered before the rotation
    again = submit(MEMBERS[0], rotated)
    assert isinstance(again, service.Refused) and again.message == service.ALREADY_ANSWERED
    assert isinstance(submit(MEMBERS[1], rotated), service.Accepted)  # answered after it
    assert isinstance(submit(MEMBERS[1], rotated), service.Refused)
    with Session(engine) as session:
        assert service.has_answered(session=session, key=rotated, survey_id=survey.id, user_id=MEMBERS[0])
        assert not service.has_answered(session=session, key=Keyring(NEW), survey_id=survey.id,
                                        user_id=MEMBERS[0])  # the old key is what keeps it
        targets = service.reminder_targets(session=session, key=rotated, survey=survey)
    assert sorted(targets) == MEMBERS[2:]  # nobody who answered, before or after, is reminded
