"""The team's Jira board as govbot numbers it: read once, numbered from the cadence anchor, with the overrides.

Shared by the features that look at the board (refactoring sprints plan it; the policy checks read its active
sprint). The board is read from Jira before anything is written, so a Jira failure leaves the database untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from govbot.adapters.db.tables import SprintOverride, Team
from govbot.adapters.tracker import BoardHasNoSprints, TrackerError
from govbot.core import audit
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain.cadence import NumberedSprint, Override
from govbot.domain.work import Board, Issue, Sprint


class SprintTracker(Protocol):
    """What the sprint planner needs from Jira (``govbot.adapters.tracker.JiraTracker`` provides it)."""

    def board(self, board_id: int) -> Board: ...
    def sprints(self, board_id: int) -> list[Sprint]: ...
    def create_sprint(self, *, board_id: int, name: str, start: datetime, end: datetime,
                      goal: str) -> Sprint | None: ...
    def update_sprint(self, sprint_id: int, *, name: str | None = None, goal: str | None = None,
                      start: datetime | None = None, end: datetime | None = None) -> Sprint | None: ...
    def sprint_issues(self, sprint_id: int, *, estimation_field: str | None,
                      reviewer_field: str | None = None) -> list[Issue]: ...
    def sprint_work(self, sprint_id: int, *, estimation_field: str | None,
                    reviewer_field: str | None = None) -> list[Issue]: ...


class SprintPlanningError(Exception):
    """The board cannot be planned as it is; ``str(error)`` tells the manager what to change."""


# Errors whose message is written for the manager; anything else is a bug and goes to the log.
USER_FACING_ERRORS: tuple[type[Exception], ...] = (TrackerError, SprintPlanningError)


@dataclass(frozen=True)
class BoardSnapshot:
    """The team's board as read from Jira, numbered from the cadence anchor, with the team's overrides."""

    board: Board
    sprints: list[Sprint]
    anchor_id: int
    anchor_is_new: bool  # chosen by default just now, not yet stored on the team
    overrides: list[Override]
    numbered: list[NumberedSprint]

    @property
    def active(self) -> NumberedSprint | None:
        """The board's active sprint (the latest, should Jira report several)."""
        active = [ns for ns in self.numbered if ns.sprint.state == "active"]
        return active[-1] if active else None

    @property
    def current_number(self) -> int:
        """The active sprint's number; without one, the last closed sprint's (0 when none is numbered)."""
        if self.active is not None:
            return self.active.number
        closed = [ns.number for ns in self.numbered if ns.sprint.state == "closed"]
        return max(closed, default=0)

    def by_number(self, number: int) -> Sprint | None:
        """The board sprint with this cadence number, if the board has it."""
        return next((ns.sprint for ns in self.numbered if ns.number == number), None)


def read_snapshot(*, session: Session, tracker: SprintTracker, team: StoredTeam) -> BoardSnapshot:
    """Read the board from Jira (first, so a Jira failure leaves the database untouched) and number it."""
    board, sprints = read_board(tracker, team.spec.jira_board_id)
    anchor_id = team.spec.cadence_anchor_sprint_id
    anchor_is_new = False
    if anchor_id is None:
        anchor_id = cadence.default_anchor(sprints)
        anchor_is_new = True
        if anchor_id is None:
            raise SprintPlanningError(
                f"Jira board {board.id} ({board.name}) has no active or future sprint to count the cadence from: "
                "start or create a sprint in Jira, or set cadence_anchor_sprint_id in the team's file; govbot "
                "plans the rest on its next run."
            )
    try:
        numbered = cadence.number_sprints(sprints, anchor_id)
    except cadence.AnchorNotFound:
        raise SprintPlanningError(
            f"The team's cadence anchor sprint {anchor_id} (sprint number 1) is not on Jira board {board.id}: "
            "set cadence_anchor_sprint_id in the team's file to one of the board's sprints."
        ) from None
    return BoardSnapshot(board=board, sprints=sprints, anchor_id=anchor_id, anchor_is_new=anchor_is_new,
                         overrides=load_overrides(session=session, team_id=team.id), numbered=numbered)


def read_board(tracker: SprintTracker, board_id: int) -> tuple[Board, list[Sprint]]:
    """The board and its own sprints; BoardHasNoSprints for a Kanban board."""
    board = tracker.board(board_id)
    if board.type == "kanban":
        raise BoardHasNoSprints(
            f"Jira board {board_id} has no sprints (it is a Kanban board): govbot needs a Scrum board, so check "
            "the team's jira_board_id."
        )
    # A board whose filter reaches another board's issues also lists that board's sprints: they are not ours.
    sprints = [s for s in tracker.sprints(board_id) if s.board_id in (None, board_id)]
    return board, sprints


def load_overrides(*, session: Session, team_id: int) -> list[Override]:
    """The team's skip/postpone decisions, oldest first (the earliest decision about a sprint wins)."""
    rows = session.exec(
        select(SprintOverride).where(SprintOverride.team_id == team_id)
        .order_by(col(SprintOverride.created_at), col(SprintOverride.id))
    ).all()
    return [Override(sprint_number=r.sprint_number, kind=r.kind, reason=r.reason) for r in rows]  # type: ignore[arg-type]


def store_anchor(*, session: Session, key: bytes, now: datetime, team: StoredTeam, snapshot: BoardSnapshot,
                 actor: str) -> None:
    """Keep a default anchor on the team, so the numbering no longer moves with the board (audited)."""
    if not snapshot.anchor_is_new:
        return
    row = session.get(Team, team.id)
    if row is None or row.cadence_anchor_sprint_id is not None:
        return
    anchor = next(s for s in snapshot.sprints if s.id == snapshot.anchor_id)
    row.cadence_anchor_sprint_id = snapshot.anchor_id
    row.updated_at = now
    session.add(row)
    audit.record(session=session, key=key, now=now, actor=actor, action="team.cadence_anchor", team=team.name,
                 target=f"team:{team.name}", before={"cadence_anchor_sprint_id": None},
                 after={"cadence_anchor_sprint_id": snapshot.anchor_id, "sprint": anchor.name},
                 reason=f"default: the board's {anchor.state} sprint counts as sprint number 1")
