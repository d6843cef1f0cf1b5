"""Plain data about the team's work, as govbot sees it in the tracker.

These are the shapes the adapters (``govbot.tracker``) hand to the services and the pure domain. They carry no
behaviour that needs I/O, so domain functions and their tests build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SprintState = Literal["future", "active", "closed"]
BoardType = Literal["scrum", "kanban", "simple"]


@dataclass(frozen=True, slots=True)
class Board:
    id: int
    name: str
    type: BoardType
    project_key: str | None = None
    # Jira field id the board estimates with (e.g. "customfield_10016"); None means "count issues".
    estimation_field: str | None = None


@dataclass(frozen=True, slots=True)
class Sprint:
    id: int
    name: str
    state: SprintState
    start: datetime | None = None  # timezone-aware
    end: datetime | None = None  # timezone-aware
    goal: str = ""
    board_id: int | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    key: str
    issue_type: str
    status: str
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    points: float | None = None
    parent_key: str | None = None  # the epic (or parent) this issue belongs to
    assignee: str | None = None  # Jira accountId (Cloud) or username (Data Center)
    reviewer: str | None = None  # from the team's configured reviewer field
    created: datetime | None = None
    resolved: datetime | None = None
    status_since: datetime | None = None  # when the issue entered its current status
    sprint_ids: tuple[int, ...] = field(default_factory=tuple)
    summary: str = ""
