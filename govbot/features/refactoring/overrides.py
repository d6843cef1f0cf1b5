"""Skipping or postponing the next refactoring sprint (`/govbot refactor skip|postpone --reason "…"`, SPEC §4).

The decision is stored and audited first, then the board is re-planned; a Jira failure leaves the decision saved
and is applied by the next daily plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from govbot.adapters.db.tables import SprintOverride
from govbot.core import audit
from govbot.core.board import (
    USER_FACING_ERRORS,
    BoardSnapshot,
    SprintTracker,
    read_snapshot,
    store_anchor,
)
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain.cadence import Override, OverrideEffect
from govbot.features.refactoring.service import (
    MAX_REASON_LENGTH,
    OverrideError,
    OverrideKind,
    PlanReport,
    plan_lock,
    plan_team_sprints,
)

log = logging.getLogger(__name__)


@dataclass
class OverrideOutcome:
    """What a skip/postpone stored and what it moved, with the re-plan's result (or why it failed)."""

    kind: OverrideKind
    sprint_number: int
    effect: OverrideEffect
    next_number: int  # the next refactoring sprint once the override applies
    snapshot: BoardSnapshot
    plan: PlanReport | None = None
    plan_error: str | None = None


def check_reason(reason: Any) -> str:
    """The reason as stored, or OverrideError saying what a reason must be."""
    if not isinstance(reason, str) or not reason.strip():
        raise OverrideError("a reason is required")
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON_LENGTH:
        raise OverrideError(f"the reason is too long: at most {MAX_REASON_LENGTH} characters")
    return reason


def record_override(*, session: Session, tracker: SprintTracker, key: bytes, team: StoredTeam, now: datetime,
                    kind: OverrideKind, reason: str, actor: str) -> OverrideOutcome:
    """Store a skip/postpone of the team's next refactoring sprint, with its audit event (not committed).

    Reads the board first: the next refactoring sprint is counted from the active sprint, so a Jira failure
    stores nothing.
    """
    reason = check_reason(reason)
    snapshot = read_snapshot(session=session, tracker=tracker, team=team)
    every = team.settings.refactor_every
    number = cadence.next_refactor_sprint(snapshot.current_number, every=every, overrides=snapshot.overrides)
    override = Override(sprint_number=number, kind=kind, reason=reason)
    # The window shows the sprint moved and the one after it: a postpone moves both (3, 6 → 4, 7), a skip one.
    upto = number + every + 1
    effect = cadence.override_effect(override, every=every, overrides=snapshot.overrides, upto=upto)
    overrides = [*snapshot.overrides, override]
    window = [*snapshot.overrides], overrides
    before, after = (sorted(n for n in cadence.refactor_sprint_numbers(every=every, overrides=o, upto=upto)
                            if n >= number) for o in window)
    savepoint = session.begin_nested()
    try:
        session.add(SprintOverride(team_id=team.id, sprint_number=number, kind=kind, reason=reason, actor=actor,
                                   created_at=now))
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise OverrideError(f"another manager changed refactoring sprint {number} at the same moment: run the "
                            "command again to act on the plan as it is now") from None
    store_anchor(session=session, key=key, now=now, team=team, snapshot=snapshot, actor=actor)
    audit.record(session=session, key=key, now=now, actor=actor, action=f"refactor.{kind}", team=team.name,
                 target=f"refactor-sprint:{number}", reason=reason,
                 before={"refactor_sprints": before}, after={"refactor_sprints": after})
    stored = BoardSnapshot(board=snapshot.board, sprints=snapshot.sprints, anchor_id=snapshot.anchor_id,
                           anchor_is_new=False, overrides=overrides, numbered=snapshot.numbered)
    next_number = cadence.next_refactor_sprint(snapshot.current_number, every=every, overrides=overrides)
    return OverrideOutcome(kind=kind, sprint_number=number, effect=effect, next_number=next_number,
                           snapshot=stored)


def apply_override(*, engine: Engine, tracker: SprintTracker, key: bytes, team: StoredTeam, now: datetime,
                   kind: OverrideKind, reason: str, actor: str) -> OverrideOutcome:
    """Store and audit the override (committed even if Jira fails afterwards), then re-plan the board.

    Raises TrackerError/SprintPlanningError/OverrideError when nothing could be stored; a failed re-plan is
    reported in ``plan_error`` instead (the daily plan applies the stored override later).
    """
    with Session(engine, expire_on_commit=False) as session:
        outcome = record_override(session=session, tracker=tracker, key=key, team=team, now=now, kind=kind,
                                  reason=reason, actor=actor)
        session.commit()
    # The anchor may have been stored just now; the re-plan counts from the same one.
    anchored = team.spec.model_copy(update={"cadence_anchor_sprint_id": outcome.snapshot.anchor_id})
    team = StoredTeam(id=team.id, spec=anchored, settings_version=team.settings_version)
    try:
        # The board is read again under the lock: another run may have changed it since it was read above.
        with plan_lock(engine=engine, team=team), Session(engine, expire_on_commit=False) as session:
            outcome.plan = plan_team_sprints(session=session, tracker=tracker, key=key, team=team, now=now,
                                             actor=actor, checkpoint=session.commit)
            session.commit()
    except USER_FACING_ERRORS as error:
        outcome.plan_error = str(error)
    return outcome
