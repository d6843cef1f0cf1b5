"""The refactoring-sprint cadence: sprint numbering, refactor selection with overrides, the sprint plan.

Pure: plain dataclasses in and out, and every function that needs the time takes ``now``; nothing reads
the clock. SPEC §4 is the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.tz import resolve_imaginary

from govbot.domain.work import Issue, Sprint

OverrideKind = Literal["skip", "postpone"]
Checkpoint = Literal["start", "mid"]

REFACTOR_SUFFIX = " — Refactor"  # an em dash, as SPEC §4 names refactoring sprints
_REFACTOR_GOAL = re.compile(r"Refactoring sprint: at least \d+% of capacity on refactoring")


class AnchorNotFound(ValueError):
    """The team's cadence anchor sprint is not on the board."""


# --- numbering ---


@dataclass(frozen=True, slots=True)
class NumberedSprint:
    """A board sprint with its cadence number (the anchor is 1; earlier sprints are 0 or less)."""

    number: int
    sprint: Sprint


def _board_order_key(sprint: Sprint) -> tuple[int, float, int]:
    # Undated sprints (future ones Jira has no dates for yet) come after every dated one, in id order.
    if sprint.start is None:
        return (1, 0.0, sprint.id)
    return (0, sprint.start.timestamp(), sprint.id)


def order_sprints(sprints: Iterable[Sprint]) -> list[Sprint]:
    """The board's sprints in cadence order: by start date, undated ones last, ties by id."""
    return sorted(sprints, key=_board_order_key)


def number_sprints(sprints: Iterable[Sprint], anchor_sprint_id: int) -> list[NumberedSprint]:
    """Number the board's sprints in cadence order so that the anchor sprint is number 1."""
    ordered = order_sprints(sprints)
    position = next((i for i, sprint in enumerate(ordered) if sprint.id == anchor_sprint_id), None)
    if position is None:
        raise AnchorNotFound(
            f"the cadence anchor sprint {anchor_sprint_id} is not on the board: "
            "choose one of the board's sprints as sprint number 1"
        )
    return [NumberedSprint(number=i - position + 1, sprint=sprint) for i, sprint in enumerate(ordered)]


def default_anchor(sprints: Iterable[Sprint]) -> int | None:
    """The sprint counted as number 1 for a new team: the active one, else the first future one, else None."""
    ordered = order_sprints(sprints)
    for state in ("active", "future"):
        for sprint in ordered:
            if sprint.state == state:
                return sprint.id
    return None


# --- refactor selection ---


@dataclass(frozen=True, slots=True)
class Override:
    """A manager's decision about one refactoring sprint, named by its cadence number."""

    sprint_number: int
    kind: OverrideKind
    reason: str

    def __post_init__(self) -> None:
        if self.kind not in ("skip", "postpone"):
            raise ValueError(f"an override is 'skip' or 'postpone', not {self.kind!r}")
        if not self.reason.strip():
            raise ValueError("an override needs a reason")


def _check_every(every: int) -> None:
    if every < 1:
        raise ValueError(f"refactor_every must be at least 1, not {every}")


def iter_refactor_sprints(*, every: int, overrides: Sequence[Override]) -> Iterator[int]:
    """Yield the refactoring sprint numbers in increasing order, without end.

    Sprint k is a refactoring sprint when k mod ``every`` is 0, as moved by the overrides: a postpone of
    refactoring sprint k moves it to k+1 and the cadence counts on from there (so postpones compose); a skip
    of refactoring sprint k means it is not held and the next one stays at k+every. An override naming a
    sprint that is not (or no longer) a refactoring sprint is inert; when several name the same sprint, the
    earliest in ``overrides`` decides and the later ones are inert (the sprint they named has moved away).
    """
    _check_every(every)
    first_by_number: dict[int, Override] = {}
    for override in overrides:
        first_by_number.setdefault(override.sprint_number, override)
    due = every
    while True:
        decision = first_by_number.get(due)
        if decision is None:
            yield due
            due += every
        elif decision.kind == "postpone":
            due += 1
        else:
            due += every


def refactor_sprint_numbers(*, every: int, overrides: Sequence[Override], upto: int) -> frozenset[int]:
    """The refactoring sprint numbers from 1 to ``upto`` inclusive."""
    found = set()
    for number in iter_refactor_sprints(every=every, overrides=overrides):
        if number > upto:
            break
        found.add(number)
    return frozenset(found)


def is_refactor_sprint(k: int, *, every: int, overrides: Sequence[Override]) -> bool:
    """Whether sprint number ``k`` is a refactoring sprint (numbers below 1 never are)."""
    return k in refactor_sprint_numbers(every=every, overrides=overrides, upto=k)


def next_refactor_sprint(after: int, *, every: int, overrides: Sequence[Override]) -> int:
    """The first refactoring sprint number strictly greater than ``after``."""
    return next(n for n in iter_refactor_sprints(every=every, overrides=overrides) if n > after)


@dataclass(frozen=True, slots=True)
class OverrideEffect:
    """What a new override changes among sprints 1..upto: refactoring sprints dropped and added."""

    removed: frozenset[int]
    added: frozenset[int]


def override_effect(new: Override, *, every: int, overrides: Sequence[Override], upto: int) -> OverrideEffect:
    """Compare the refactoring sprints with and without ``new`` appended, so a reply can say what moved."""
    before = refactor_sprint_numbers(every=every, overrides=overrides, upto=upto)
    after = refactor_sprint_numbers(every=every, overrides=[*overrides, new], upto=upto)
    return OverrideEffect(removed=before - after, added=after - before)


# --- names and goals ---


def expected_name(board_name: str, k: int, is_refactor: bool) -> str:
    """The name of sprint ``k``: ``<board name> Sprint <k>``, plus `` — Refactor`` when refactoring."""
    return f"{board_name} Sprint {k}{REFACTOR_SUFFIX if is_refactor else ''}"


def refactor_goal(capacity_pct: int) -> str:
    """The goal of a refactoring sprint."""
    return f"Refactoring sprint: at least {capacity_pct}% of capacity on refactoring"


def is_refactor_goal(goal: str) -> bool:
    """Whether a goal is one govbot wrote for a refactoring sprint (at any capacity)."""
    return _REFACTOR_GOAL.fullmatch(goal.strip()) is not None


def expected_goal(*, is_refactor: bool, capacity_pct: int, current_goal: str = "") -> str:
    """A refactoring sprint gets govbot's goal; an ordinary one keeps its own goal unless it is govbot's."""
    if is_refactor:
        return refactor_goal(capacity_pct)
    return "" if is_refactor_goal(current_goal) else current_goal


def _expected_existing_name(board_name: str, current: str, k: int, is_refactor: bool) -> str:
    # Names in govbot's own pattern follow the sprint's number; a name the team chose is kept and only gains
    # or loses the refactoring suffix.
    if re.fullmatch(re.escape(board_name) + r" Sprint -?\d+(" + REFACTOR_SUFFIX + ")?", current):
        return expected_name(board_name, k, is_refactor)
    base = current.removesuffix(REFACTOR_SUFFIX)
    return base + REFACTOR_SUFFIX if is_refactor else base


# --- the plan ---


@dataclass(frozen=True, slots=True)
class PlannedSprint:
    """A sprint the plan creates on the board; dates are in the team's timezone.

    Python subtracts datetimes that share a tzinfo by wall clock: convert to UTC before measuring durations.
    """

    number: int
    name: str
    start: datetime
    end: datetime
    goal: str
    is_refactor: bool


@dataclass(frozen=True, slots=True)
class SprintChange:
    """A partial update of an existing future sprint; ``start``/``end`` are None when the dates stay."""

    sprint_id: int
    number: int
    name: str
    goal: str
    is_refactor: bool
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class SprintPlan:
    """What to write to the board. Apply ``to_update`` before ``to_create``.

    Updates first, because an update may date an undated future sprint: created (dated) sprints would
    otherwise sort before it and shift the numbering if a run dies halfway.
    """

    to_create: list[PlannedSprint]
    to_update: list[SprintChange]

    @property
    def is_empty(self) -> bool:
        """True when the board already matches the plan."""
        return not self.to_create and not self.to_update


def _start_of_next_day(now: datetime, zone: ZoneInfo) -> datetime:
    """``now`` rounded up to the next start of a day (midnight, or the first instant after it) in ``zone``."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight < local:
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return resolve_imaginary(midnight)


def _add_days(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    # Wall-clock arithmetic in the team's timezone: a sprint that starts Monday 09:00 ends Monday 09:00 even
    # when a DST change falls inside it. A wall time skipped by DST moves on to the first one that exists.
    return resolve_imaginary(start.astimezone(zone) + relativedelta(days=days))


def _latest_end(sprints: Iterable[Sprint], length_days: int, zone: ZoneInfo) -> datetime | None:
    ends = []
    for sprint in sprints:
        if sprint.start is None:
            continue
        end = sprint.end if sprint.end is not None else _add_days(sprint.start, length_days, zone)
        ends.append(max(sprint.start.astimezone(UTC), end.astimezone(UTC)))
    return max(ends, default=None)


def plan_sprints(
    *,
    board_name: str,
    sprints: list[Sprint],
    anchor_sprint_id: int,
    every: int,
    overrides: Sequence[Override],
    horizon: int,
    length_days: int,
    capacity_pct: int,
    now: datetime,
    tz: str,
) -> SprintPlan:
    """Plan the board's future sprints so that ``horizon`` of them exist, named and goaled as SPEC §4 says.

    - Every future sprint on the board counts towards the horizon and is matched by its position (cadence
      number). A sprint Jira created before a run died is on the board, so it is counted, never created twice.
    - New sprints follow back to back after the latest end on the board, each ``length_days`` long in the team
      timezone; they start at the next start of a day after ``now`` when the board has no dated sprint or its
      latest sprint ended before ``now`` (a plan never creates sprints in the past).
    - When new sprints are created, undated future sprints get dates first (in cadence order, from the same
      starting point), so the board's date order stays the order the cadence counts in.
    - Existing future sprints numbered 1 or more are renamed/re-goaled when their refactoring status, number
      or goal does not match. Active and closed sprints are never changed; neither are the names and goals of
      sprints before the anchor.
    """
    if horizon < 0 or length_days < 1:
        raise ValueError("the horizon must be 0 or more and sprints at least one day long")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz)
    numbered = number_sprints(sprints, anchor_sprint_id)
    future = [ns for ns in numbered if ns.sprint.state == "future"]
    missing = max(0, horizon - len(future))
    last_number = numbered[-1].number
    refactor = refactor_sprint_numbers(every=every, overrides=overrides, upto=last_number + missing)

    latest_end = _latest_end(sprints, length_days, zone)
    if latest_end is None or latest_end < now:
        next_start = _start_of_next_day(now, zone)
    else:
        next_start = latest_end.astimezone(zone)

    to_update: list[SprintChange] = []
    for ns in future:
        sprint = ns.sprint
        start = end = None
        if missing and sprint.start is None:
            start, end = next_start, _add_days(next_start, length_days, zone)
            next_start = end
        is_ref = ns.number in refactor
        name, goal = sprint.name, sprint.goal
        if ns.number >= 1:
            name = _expected_existing_name(board_name, sprint.name, ns.number, is_ref)
            goal = expected_goal(is_refactor=is_ref, capacity_pct=capacity_pct, current_goal=sprint.goal)
        if start is not None or (name, goal) != (sprint.name, sprint.goal):
            to_update.append(SprintChange(sprint.id, ns.number, name, goal, is_ref, start, end))

    to_create: list[PlannedSprint] = []
    for number in range(last_number + 1, last_number + 1 + missing):
        is_ref = number in refactor
        end = _add_days(next_start, length_days, zone)
        to_create.append(
            PlannedSprint(
                number=number,
                name=expected_name(board_name, number, is_ref),
                start=next_start,
                end=end,
                goal=expected_goal(is_refactor=is_ref, capacity_pct=capacity_pct),
                is_refactor=is_ref,
            )
        )
        next_start = end
    return SprintPlan(to_create=to_create, to_update=to_update)


# --- capacity check ---


@dataclass(frozen=True, slots=True)
class Share:
    """A sprint's refactoring share: story points (or issue counts) and the percentage (None if empty)."""

    refactor: float
    total: float
    pct: float | None


def refactor_share(issues: Sequence[Issue], *, refactor_label: str, by_points: bool) -> Share:
    """Share of the sprint carried by issues labelled ``refactor_label`` (matched case-insensitively).

    With ``by_points`` (the board estimates) it weighs story points and an unestimated issue weighs 0;
    otherwise every issue weighs 1.
    """
    label = refactor_label.casefold()
    refactor = total = 0.0
    for issue in issues:
        weight = (issue.points or 0.0) if by_points else 1.0
        total += weight
        if any(existing.casefold() == label for existing in issue.labels):
            refactor += weight
    return Share(refactor=refactor, total=total, pct=refactor / total * 100 if total > 0 else None)


def is_below_capacity(share: Share, *, capacity_pct: int) -> bool:
    """Whether the share falls short of the reservation; an empty sprint (no measure) is not reported."""
    return share.pct is not None and share.pct < capacity_pct


def capacity_checkpoints(sprint: Sprint, now: datetime) -> list[Checkpoint]:
    """The capacity checkpoints due by ``now``: "start" from the sprint's start, "mid" from its midpoint.

    The caller records which it has already reported, so each goes out once; a sprint first seen after its
    midpoint has both due, in order.
    """
    if sprint.start is None:
        return []
    # In UTC: Python subtracts and compares datetimes sharing a tzinfo by wall clock, which is off by the DST
    # hour in a sprint that spans the change.
    start, now_utc = sprint.start.astimezone(UTC), now.astimezone(UTC)
    if now_utc < start:
        return []
    due: list[Checkpoint] = ["start"]
    if sprint.end is not None and now_utc >= start + (sprint.end.astimezone(UTC) - start) / 2:
        due.append("mid")
    return due
