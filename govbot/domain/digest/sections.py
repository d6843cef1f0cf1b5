"""The digest's sections that do not come from the week's issues: people, tracks and refactoring (SPEC §7).

Each is plain data handed in by the services that own it (surveys, staffing, refactoring); each may be absent
when its source could not be read or the feature has nothing to say yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from govbot.domain.cadence import Override, is_refactor_sprint, next_refactor_sprint

PeopleState = Literal["shown", "below_threshold", "no_survey", "unreadable"]
RULES: tuple[str, ...] = ("R1", "R2", "R3", "R4", "R5", "R6")


@dataclass(frozen=True, slots=True)
class People:
    """The last closed survey's indices (0–100) and response rate, released by the anonymity gate."""

    burnout_index: float | None
    learning_index: float | None
    response_rate: float | None
    # The previous released survey's burnout index, for the rise flag (None: no comparable survey).
    previous_burnout_index: float | None = None


@dataclass(frozen=True, slots=True)
class Tracks:
    """This sprint's human-first share against target, and the open staffing violations by rule."""

    human_first_pct: float | None
    target_pct: int
    tolerance_pct: int = 10
    open_violations: Mapping[str, int] | None = field(default_factory=dict)  # None: not checked

    def violations_by_rule(self) -> dict[str, int] | None:
        """Every rule R1–R6 with its open count (0 when none), then any other rule handed in; None: not checked."""
        if self.open_violations is None:
            return None
        counts = {rule: int(self.open_violations.get(rule, 0)) for rule in RULES}
        counts.update({rule: int(n) for rule, n in self.open_violations.items() if rule not in counts})
        return counts

    @property
    def off_target(self) -> bool:
        """Whether the split is outside target ± tolerance."""
        return self.human_first_pct is not None and abs(self.human_first_pct - self.target_pct) > self.tolerance_pct


@dataclass(frozen=True, slots=True)
class Refactoring:
    """Where the team stands in its refactoring cadence.

    In a refactoring sprint: ``sprints_until_next`` is 0 and ``refactor_share_pct`` is the sprint's refactoring
    share (None when the sprint holds nothing to measure). Otherwise: how many sprints until the next one
    (1 = the next sprint).
    """

    sprint_number: int
    is_refactor_sprint: bool
    sprints_until_next: int
    refactor_share_pct: float | None
    capacity_pct: int

    @property
    def below_capacity(self) -> bool:
        return self.is_refactor_sprint and self.refactor_share_pct is not None and (
            self.refactor_share_pct < self.capacity_pct
        )


def refactoring(
    *,
    sprint_number: int,
    every: int,
    overrides: Sequence[Override],
    capacity_pct: int,
    refactor_share_pct: float | None = None,
) -> Refactoring:
    """The refactoring section for the active sprint numbered ``sprint_number`` in the team's cadence."""
    if is_refactor_sprint(sprint_number, every=every, overrides=overrides):
        return Refactoring(sprint_number, True, 0, refactor_share_pct, capacity_pct)
    upcoming = next_refactor_sprint(sprint_number, every=every, overrides=overrides)
    return Refactoring(sprint_number, False, upcoming - sprint_number, None, capacity_pct)
