"""Refactoring sprints in Jira (SPEC §4): read the board, plan its future sprints, write them, record them.

The flow of one plan run: read the board and its sprints from Jira (nothing is written if that fails), number
them from the team's cadence anchor (choosing and storing a default anchor the first time), load the managers'
overrides, let ``domain.cadence.plan_sprints`` compute the plan, then apply renames/re-goals before creations.
Each Jira write is followed at once by its record (``planned_sprint`` row and audit event) and a ``checkpoint``
(a commit in a real run), so a failure half-way keeps the record of everything Jira did.

A run that died after Jira created a sprint but before govbot recorded it leaves that sprint on the board: the
plan counts it (it is never created twice) and the next run finds it by name and records it ("adopted").
Runs for the same team are serialised across processes by a lease in the delivery ledger (``plan_lock``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from govbot.adapters.db.tables import PlannedSprint as PlannedSprintRow
from govbot.core import audit
from govbot.core import delivery as ledger
from govbot.core.board import (
    BoardSnapshot,
    SprintPlanningError,
    SprintTracker,
    read_snapshot,
    store_anchor,
)
from govbot.core.leases import keeper_for
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain.cadence import NumberedSprint, Share, SprintChange
from govbot.domain.work import Board, Issue, Sprint

log = logging.getLogger(__name__)

SYSTEM = audit.SYSTEM
DEFAULT_SPRINT_LENGTH_DAYS = 14
MIN_SPRINT_LENGTH_DAYS, MAX_SPRINT_LENGTH_DAYS = 5, 28
MAX_REASON_LENGTH = 500
PLAN_LOCK_KIND = "lock:plan-sprints"
ADOPTED_REASON = "found on the board by name: an earlier run created it and stopped before recording it"

OverrideKind = Literal["skip", "postpone"]


class PlanBusy(SprintPlanningError):
    """Another run is planning this team's sprints right now."""


class OverrideError(ValueError):
    """A skip/postpone that cannot be stored; the message says why."""


def sprint_length_days(team: StoredTeam, sprints: Sequence[Sprint]) -> int:
    """The team's sprint length: the setting, else the median of the board's last three sprints, else 14."""
    if team.settings.sprint_length_days:
        return team.settings.sprint_length_days
    started = [s for s in cadence.order_sprints(sprints) if s.state != "future" and s.start and s.end][-3:]
    if not started:
        return DEFAULT_SPRINT_LENGTH_DAYS
    days = sorted(
        round((s.end.astimezone(UTC) - s.start.astimezone(UTC)).total_seconds() / 86400)  # type: ignore[union-attr]
        for s in started
    )
    return min(MAX_SPRINT_LENGTH_DAYS, max(MIN_SPRINT_LENGTH_DAYS, days[len(days) // 2]))


# --- planning


@dataclass(frozen=True)
class SprintWrite:
    """One sprint govbot created or changed in Jira (``sprint_id`` is None when nothing was sent: dry run)."""

    sprint_id: int | None
    number: int
    name: str
    is_refactor: bool
    start: datetime | None = None
    end: datetime | None = None
    before_name: str | None = None


@dataclass
class PlanReport:
    """What one plan run did."""

    board_name: str
    horizon: int
    anchor_stored: int | None = None
    created: list[SprintWrite] = field(default_factory=list)
    updated: list[SprintWrite] = field(default_factory=list)
    adopted: list[SprintWrite] = field(default_factory=list)

    @property
    def jira_writes(self) -> int:
        """How many write requests went (or, in a dry run, would go) to Jira."""
        return len(self.created) + len(self.updated)

    def summary(self) -> str:
        """One line for `govbot run-job` and the scheduler's log."""
        parts = []
        if self.anchor_stored is not None:
            parts.append(f"anchored the cadence at sprint {self.anchor_stored}")
        if self.adopted:
            parts.append("recorded " + ", ".join(repr(w.name) for w in self.adopted) + " found on the board")
        if self.updated:
            parts.append("renamed/re-goaled " + ", ".join(_change_text(w) for w in self.updated))
        if self.created:
            parts.append("created " + ", ".join(f"{w.name!r} ({_day(w.start)} – {_day(w.end)})"
                                                for w in self.created))
        if not parts:
            return (f"board {self.board_name!r} already holds the {self.horizon} planned sprint(s): "
                    "nothing to change")
        return f"board {self.board_name!r}: " + "; ".join(parts)


def _change_text(write: SprintWrite) -> str:
    if write.before_name is not None and write.before_name != write.name:
        return f"{write.before_name!r} → {write.name!r}"
    return repr(write.name)


def _day(moment: datetime | None) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}" if moment is not None else "?"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _plan(snapshot: BoardSnapshot, team: StoredTeam, now: datetime) -> cadence.SprintPlan:
    settings = team.settings
    return cadence.plan_sprints(
        board_name=snapshot.board.name, sprints=snapshot.sprints, anchor_sprint_id=snapshot.anchor_id,
        every=settings.refactor_every, overrides=snapshot.overrides, horizon=settings.plan_horizon_sprints,
        length_days=sprint_length_days(team, snapshot.sprints), capacity_pct=settings.refactor_capacity_pct,
        now=now, tz=team.spec.timezone,
    )


def plan_team_sprints(
    *,
    session: Session,
    tracker: SprintTracker,
    key: bytes,
    team: StoredTeam,
    now: datetime,
    actor: str = SYSTEM,
    checkpoint: Callable[[], None] | None = None,
    snapshot: BoardSnapshot | None = None,
) -> PlanReport:
    """Bring the board's future sprints in line with the cadence; a second run writes nothing.

    ``checkpoint`` runs after each recorded write (a commit in a real run; nothing under --dry-run), so what Jira
    did stays recorded even if a later step fails. Raises TrackerError or SprintPlanningError (messages for the
    manager) before any write when the board cannot be read or numbered.
    """
    commit = checkpoint or session.flush
    snapshot = snapshot or read_snapshot(session=session, tracker=tracker, team=team)
    report = PlanReport(board_name=snapshot.board.name, horizon=team.settings.plan_horizon_sprints)
    if snapshot.anchor_is_new:
        store_anchor(session=session, key=key, now=now, team=team, snapshot=snapshot, actor=actor)
        report.anchor_stored = snapshot.anchor_id
    report.adopted = _adopt_unrecorded(session=session, key=key, now=now, team=team, snapshot=snapshot,
                                       actor=actor)
    commit()  # ends the read transaction before talking to Jira (SQLite holds its write lock until then)
    plan = _plan(snapshot, team, now)
    future_ids = {s.id for s in snapshot.sprints if s.state == "future"}
    # Updates first: one may date an undated future sprint, which must happen before dated sprints follow it.
    for change in plan.to_update:
        if change.sprint_id not in future_ids:  # the domain never plans this; a guard for active/closed sprints
            log.error("refusing to change sprint %s of team %s: it is not a future sprint", change.sprint_id,
                      team.name)
            continue
        before = next(s for s in snapshot.sprints if s.id == change.sprint_id)
        # Recorded before the write: an update leaves no trace a later run could recognise (unlike a created
        # sprint, found again by name), so a process killed right after Jira's answer must not lose its audit
        # event. A write that fails is recorded as failed.
        written = _record_updated(session=session, key=key, now=now, team=team, actor=actor, before=before,
                                  change=change)
        commit()
        try:
            tracker.update_sprint(change.sprint_id, name=change.name if change.name != before.name else None,
                                  goal=change.goal if change.goal != before.goal else None,
                                  start=change.start, end=change.end)
        except Exception as error:
            session.rollback()
            audit.record(session=session, key=key, now=now, actor=actor, action="jira.sprint.update.failed",
                         team=team.name, target=f"jira-sprint:{change.sprint_id}",
                         reason=f"Jira refused or did not answer ({error.__class__.__name__}); the next run retries")
            commit()
            raise
        report.updated.append(written)
    for planned in plan.to_create:
        created = tracker.create_sprint(board_id=snapshot.board.id, name=planned.name, start=planned.start,
                                        end=planned.end, goal=planned.goal)
        report.created.append(_record_created(session=session, key=key, now=now, team=team, actor=actor,
                                              planned=planned, created=created))
        commit()
    return report


def _record_created(*, session: Session, key: bytes, now: datetime, team: StoredTeam, actor: str,
                    planned: cadence.PlannedSprint, created: Sprint | None) -> SprintWrite:
    """Record a sprint Jira just created: the planned_sprint row and its audit event, in one transaction."""
    sprint_id = created.id if created is not None else None
    if sprint_id is not None:
        session.add(PlannedSprintRow(team_id=team.id, jira_sprint_id=sprint_id, number=planned.number,
                                     name=planned.name, is_refactor=planned.is_refactor, created_at=now))
    audit.record(session=session, key=key, now=now, actor=actor, action="jira.sprint.create", team=team.name,
                 target=f"jira-sprint:{sprint_id if sprint_id is not None else planned.name}",
                 after={"board": team.spec.jira_board_id, "number": planned.number, "name": planned.name,
                        "start": _iso(planned.start), "end": _iso(planned.end), "goal": planned.goal})
    return SprintWrite(sprint_id, planned.number, planned.name, planned.is_refactor, planned.start, planned.end)


def _record_updated(*, session: Session, key: bytes, now: datetime, team: StoredTeam, actor: str,
                    before: Sprint, change: SprintChange) -> SprintWrite:
    """Record a partial update of a future sprint (audit, and the planned_sprint row when govbot made it)."""
    old = {"name": before.name, "goal": before.goal, "start": _iso(before.start), "end": _iso(before.end)}
    new = {"name": change.name, "goal": change.goal, "start": _iso(change.start or before.start),
           "end": _iso(change.end or before.end)}
    changed = [k for k in old if old[k] != new[k]]
    audit.record(session=session, key=key, now=now, actor=actor, action="jira.sprint.update", team=team.name,
                 target=f"jira-sprint:{change.sprint_id}", before={k: old[k] for k in changed},
                 after={k: new[k] for k in changed})
    row = session.exec(select(PlannedSprintRow).where(PlannedSprintRow.team_id == team.id,
                                                      PlannedSprintRow.jira_sprint_id == change.sprint_id)).first()
    if row is not None:
        row.name, row.number, row.is_refactor = change.name, change.number, change.is_refactor
        session.add(row)
    return SprintWrite(change.sprint_id, change.number, change.name, change.is_refactor,
                       change.start or before.start, change.end or before.end, before_name=before.name)


def _adopt_unrecorded(*, session: Session, key: bytes, now: datetime, team: StoredTeam,
                      snapshot: BoardSnapshot, actor: str) -> list[SprintWrite]:
    """Record future sprints that carry govbot's name for their number but have no planned_sprint row."""
    recorded = set(session.exec(select(PlannedSprintRow.jira_sprint_id)
                                .where(PlannedSprintRow.team_id == team.id)).all())
    adopted = []
    for ns in snapshot.numbered:
        sprint = ns.sprint
        if sprint.state != "future" or ns.number < 1 or sprint.id in recorded:
            continue
        names = {cadence.expected_name(snapshot.board.name, ns.number, flag): flag for flag in (False, True)}
        if sprint.name not in names:
            continue
        session.add(PlannedSprintRow(team_id=team.id, jira_sprint_id=sprint.id, number=ns.number,
                                     name=sprint.name, is_refactor=names[sprint.name], created_at=now))
        audit.record(session=session, key=key, now=now, actor=actor, action="jira.sprint.adopt", team=team.name,
                     target=f"jira-sprint:{sprint.id}", reason=ADOPTED_REASON,
                     after={"board": snapshot.board.id, "number": ns.number, "name": sprint.name,
                            "start": _iso(sprint.start), "end": _iso(sprint.end), "goal": sprint.goal})
        adopted.append(SprintWrite(sprint.id, ns.number, sprint.name, names[sprint.name], sprint.start,
                                   sprint.end))
    return adopted


@contextmanager
def plan_lock(*, engine: Engine, team: StoredTeam, wait: float | None = None,
              poll: float = 0.1) -> Iterator[Callable[[], None]]:
    """Hold the team's planning lease (one plan run per team at a time, across processes).

    Two runs planning at once would both see a sprint missing and both create it. The lease lives in the
    delivery ledger and is heartbeated while this process lives, so a process that dies holding it loses it
    within the failover time; by default a run waits that long for it. The block gets a ``check`` to call
    between Jira writes: it raises PlanBusy once the lease may have passed to another process (this one was
    cut off from the database), so two processes never plan at once. The caller must not hold a database
    transaction open (on SQLite the ledger's own connection would wait for it).
    """
    deadline = time.monotonic() + (wait if wait is not None else keeper_for(engine).timing.failover)
    lock_key = str(team.id)
    while not (held := ledger.claim(engine=engine, kind=PLAN_LOCK_KIND, key=lock_key, team_id=team.id)):
        if time.monotonic() >= deadline:
            raise PlanBusy(f"Another govbot run is planning the sprints of team {team.name} right now: it "
                           "applies the same plan, so nothing is lost; try again in a minute if needed.")
        time.sleep(poll)

    def check() -> None:
        if not ledger.holds(engine=engine, claim=held):
            raise PlanBusy(f"This run lost the planning lease of team {team.name} (the database was out of "
                           "reach): another run finishes the plan, so nothing is lost.")

    try:
        yield check
    finally:
        ledger.release(engine=engine, kind=PLAN_LOCK_KIND, key=lock_key, claim=held)


# --- dates and status


def sprint_dates(snapshot: BoardSnapshot, team: StoredTeam, number: int,
                 now: datetime) -> tuple[datetime, datetime] | None:
    """The dates of sprint ``number``: the board's when it has the sprint, else projected back to back."""
    zone = ZoneInfo(team.spec.timezone)
    sprint = snapshot.by_number(number)
    if sprint is not None:
        return (sprint.start.astimezone(zone), sprint.end.astimezone(zone)) if sprint.start and sprint.end else None
    dated = [ns for ns in snapshot.numbered if ns.sprint.start is not None and ns.sprint.end is not None]
    if not dated or number <= snapshot.numbered[-1].number:
        return None
    length = sprint_length_days(team, snapshot.sprints)
    last = max(dated, key=lambda ns: ns.sprint.end.astimezone(UTC))  # type: ignore[union-attr]
    base = max(last.sprint.end.astimezone(UTC), now.astimezone(UTC)).astimezone(zone)  # type: ignore[union-attr]
    # Sprints numbered after ``last`` without dates (undated future ones) take their places in the row too.
    start = base + relativedelta(days=length * (number - last.number - 1))
    return start, start + relativedelta(days=length)


@dataclass(frozen=True)
class CadenceStatus:
    """Where the team stands in the refactoring cadence, for `/govbot status` and the App Home."""

    board_name: str
    every: int
    capacity_pct: int
    current: NumberedSprint | None
    current_is_refactor: bool
    share: Share | None
    by_points: bool
    next_number: int
    next_sprint: Sprint | None
    next_dates: tuple[datetime, datetime] | None


def cadence_status(*, session: Session, tracker: SprintTracker, team: StoredTeam, now: datetime) -> CadenceStatus:
    """Read the board and say: the current sprint, the next refactoring sprint, this sprint's refactor share."""
    snapshot = read_snapshot(session=session, tracker=tracker, team=team)
    settings = team.settings
    current = snapshot.active
    current_is_refactor = current is not None and cadence.is_refactor_sprint(
        current.number, every=settings.refactor_every, overrides=snapshot.overrides)
    share = None
    if current is not None and current_is_refactor:
        share = measure_share(tracker=tracker, team=team, board=snapshot.board, sprint=current.sprint)
    next_number = cadence.next_refactor_sprint(snapshot.current_number, every=settings.refactor_every,
                                               overrides=snapshot.overrides)
    return CadenceStatus(
        board_name=snapshot.board.name, every=settings.refactor_every, capacity_pct=settings.refactor_capacity_pct,
        current=current, current_is_refactor=current_is_refactor, share=share,
        by_points=snapshot.board.estimation_field is not None, next_number=next_number,
        next_sprint=snapshot.by_number(next_number), next_dates=sprint_dates(snapshot, team, next_number, now),
    )


def measure_share(*, tracker: SprintTracker, team: StoredTeam, board: Board, sprint: Sprint,
                  issues: Sequence[Issue] | None = None) -> Share:
    """The share of the sprint labelled with the team's refactor label (points, or issues without estimates)."""
    if issues is None:
        issues = tracker.sprint_issues(sprint.id, estimation_field=board.estimation_field)
    return cadence.refactor_share(issues, refactor_label=team.settings.labels.refactor,
                                  by_points=board.estimation_field is not None)
