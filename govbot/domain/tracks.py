"""Tracks and AI code zones: which track an issue is on, which zone it touches, and the sprint's split.

Pure: plain dataclasses in and out. SPEC §6 is the contract:

- an issue's track is its own track label, else its parent epic's (an issue or epic carrying both track labels
  has no track until someone picks one);
- an issue's zone is the lowest zone of its components, matched case-insensitively; unlisted components, and
  issues without components, are zone 3;
- work is weighed in story points when the board estimates (an unestimated issue weighs 0), else every issue
  weighs 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from govbot.domain.work import Issue

Track = Literal["human-first", "ai-heavy"]
Seniority = Literal["junior", "mid", "senior"]
Unit = Literal["points", "issues"]

UNLISTED_ZONE = 3
EPIC_TYPE = "epic"


@dataclass(frozen=True, slots=True)
class Member:
    """A team member: Slack user id, Jira reference (Cloud accountId or Data Center username), seniority."""

    slack: str
    jira: str
    seniority: Seniority
    name: str = ""

    @property
    def shown(self) -> str:
        """How a sentence names this person."""
        return self.name or self.jira


@dataclass(frozen=True, slots=True)
class StaffingPolicy:
    """The team settings rules R1–R6 read (SPEC §2), as plain data."""

    target_human_first_pct: int = 60
    tolerance_pct: int = 10
    junior_min_human_first_pct: int = 50
    senior_review_cap: int = 8
    zones: Mapping[int, Sequence[str]] = field(
        default_factory=lambda: {1: ("auth", "payments", "data-access"), 2: (), 3: ()}
    )
    reviewer_field: str | None = None
    human_first_label: str = "human-first"
    ai_heavy_label: str = "ai-heavy"

    def zone_of_component(self, component: str) -> int:
        """The zone of one component (case-insensitive); unlisted components are zone 3."""
        folded = component.casefold()
        for number in sorted(self.zones):
            if any(folded == listed.casefold() for listed in self.zones[number]):
                return number
        return UNLISTED_ZONE

    def label_of(self, track: Track) -> str:
        """The Jira label that carries ``track`` for this team."""
        return self.human_first_label if track == "human-first" else self.ai_heavy_label


@dataclass(frozen=True, slots=True)
class Split:
    """The sprint's tracked work by track; percentages are whole numbers that always sum to 100."""

    human_first: float
    ai_heavy: float
    unlabelled: float
    unit: Unit

    @property
    def tracked(self) -> float:
        """Weight of the work that has a track."""
        return self.human_first + self.ai_heavy

    @property
    def share(self) -> Fraction | None:
        """The exact human-first share of tracked work (0..1), None when nothing is tracked."""
        total = Fraction(self.tracked)
        return Fraction(self.human_first) / total if total > 0 else None

    @property
    def human_first_pct(self) -> int | None:
        """Human-first share in whole percent (half up), None when nothing is tracked."""
        share = self.share
        return None if share is None else math.floor(share * 100 + Fraction(1, 2))

    @property
    def ai_heavy_pct(self) -> int | None:
        """Ai-heavy share in whole percent: the rest of 100."""
        pct = self.human_first_pct
        return None if pct is None else 100 - pct

def own_track(labels: Iterable[str], policy: StaffingPolicy) -> Track | None:
    """The track its own labels give (case-insensitive); None when it has no track label or both."""
    folded = {label.casefold() for label in labels}
    human = policy.human_first_label.casefold() in folded
    ai = policy.ai_heavy_label.casefold() in folded
    if human == ai:
        return None
    return "human-first" if human else "ai-heavy"


def has_both_tracks(labels: Iterable[str], policy: StaffingPolicy) -> bool:
    """Whether the labels carry both track labels (so neither counts)."""
    folded = {label.casefold() for label in labels}
    return policy.human_first_label.casefold() in folded and policy.ai_heavy_label.casefold() in folded


def track_of(issue: Issue, epic_labels: Mapping[str, Sequence[str]], policy: StaffingPolicy) -> Track | None:
    """The issue's own track label, else its parent epic's; None when neither gives one."""
    own = own_track(issue.labels, policy)
    if own is not None or has_both_tracks(issue.labels, policy):
        return own
    if issue.parent_key and issue.parent_key in epic_labels:
        return own_track(epic_labels[issue.parent_key], policy)
    return None


def zone_of(issue: Issue, policy: StaffingPolicy) -> tuple[int, str | None]:
    """The issue's zone (the lowest of its components') and the component that puts it there."""
    zones = [(policy.zone_of_component(component), component) for component in issue.components]
    if not zones:
        return UNLISTED_ZONE, None
    lowest = min(number for number, _ in zones)
    return lowest, next(component for number, component in zones if number == lowest)


def weight(issue: Issue, *, by_points: bool) -> float:
    """Story points when the board estimates (unestimated weighs 0), else 1 per issue."""
    if not by_points:
        return 1.0
    return max(0.0, issue.points or 0.0)


def sprint_work(issues: Iterable[Issue]) -> list[Issue]:
    """The issues the rules weigh: everything in the sprint except epics, which only group work."""
    return [issue for issue in issues if issue.issue_type.casefold() != EPIC_TYPE]


def compute_split(
    issues: Iterable[Issue], epic_labels: Mapping[str, Sequence[str]], policy: StaffingPolicy, *, by_points: bool
) -> Split:
    """The sprint's human-first / ai-heavy split of tracked work, and how much has no track."""
    totals = {"human-first": 0.0, "ai-heavy": 0.0, None: 0.0}
    for issue in sprint_work(issues):
        totals[track_of(issue, epic_labels, policy)] += weight(issue, by_points=by_points)
    return Split(
        human_first=totals["human-first"],
        ai_heavy=totals["ai-heavy"],
        unlabelled=totals[None],
        unit="points" if by_points else "issues",
    )
