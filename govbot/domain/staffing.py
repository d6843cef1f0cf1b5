"""Two-track staffing and AI code zones: rules R1–R6 over the active sprint (SPEC §6).

Pure: plain dataclasses in and out, no clock and no I/O. Tracks, zones and the split are in
``govbot.domain.tracks``. Each violation has a stable identity (rule + team + sprint + issue or person), a
severity, a sentence a manager can act on, and a ``state`` + ``magnitude`` pair from which its fingerprint is
made: the service re-notifies when the state changes or the magnitude grows (``should_renotify``), not when a
violation merely improves.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from govbot.domain.tracks import (
    Member,
    Split,
    StaffingPolicy,
    compute_split,
    has_both_tracks,
    own_track,
    sprint_work,
    track_of,
    weight,
    zone_of,
)
from govbot.domain.work import Issue

Rule = Literal["R1", "R2", "R3", "R4", "R5", "R6"]
Severity = Literal["critical", "warning", "info"]

RULES: tuple[Rule, ...] = ("R1", "R2", "R3", "R4", "R5", "R6")
RULE_TITLES: dict[Rule, str] = {
    "R1": "split",
    "R2": "unlabelled",
    "R3": "zone 1",
    "R4": "zone 2",
    "R5": "junior learning",
    "R6": "review load",
}
SEVERITIES: dict[Rule, Severity] = {
    "R1": "warning",
    "R2": "info",
    "R3": "critical",
    "R4": "warning",
    "R5": "warning",
    "R6": "warning",
}
# A share that drifts further out re-notifies once per this many percentage points, not on every wobble.
RENOTIFY_STEP_PCT = 5


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, identified by rule + team + sprint + issue or person."""

    rule: Rule
    team: str
    sprint_id: int
    issue: str | None  # issue key for R2–R4
    person: str | None  # Slack user id: the junior (R5), the senior (R6), else the issue's assignee if known
    detail: str
    state: str = ""  # what the violation is (who, which side); a change re-notifies
    magnitude: int = 0  # how far it is (in steps); growth re-notifies, shrinking does not

    @property
    def severity(self) -> Severity:
        """critical for R3 (zone 1 is human-only), info for the R2 nudge, else warning."""
        return SEVERITIES[self.rule]

    @property
    def key(self) -> str:
        """Stable identity: the same breach on a later run has the same key."""
        subject = self.issue if self.rule in ("R2", "R3", "R4") else (self.person if self.rule != "R1" else None)
        parts = [self.rule, self.team, str(self.sprint_id)]
        if subject:
            parts.append(subject)
        return "/".join(parts)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the violation's state or magnitude changes."""
        text = f"{self.key}|{self.state}|{self.magnitude}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the rules found in one sprint."""

    split: Split
    violations: tuple[Violation, ...]
    not_configured: Mapping[Rule, str]

    def by_rule(self) -> dict[Rule, int]:
        """How many violations each rule has (every rule listed, zero included)."""
        counts: dict[Rule, int] = dict.fromkeys(RULES, 0)
        for violation in self.violations:
            counts[violation.rule] += 1
        return counts


def should_renotify(*, previous_state: str, previous_magnitude: int, current: Violation) -> bool:
    """Whether a known violation has changed enough to tell people again: new state, or further away."""
    return current.state != previous_state or current.magnitude > previous_magnitude


# --- the rules


def evaluate(
    *,
    team: str,
    sprint_id: int,
    issues: Sequence[Issue],
    epic_labels: Mapping[str, Sequence[str]],
    members: Sequence[Member],
    policy: StaffingPolicy,
    by_points: bool,
) -> Evaluation:
    """Rules R1–R6 over the sprint's issues; R4 and R6 report "not configured" without a reviewer field."""
    work = sprint_work(issues)
    split = compute_split(work, epic_labels, policy, by_points=by_points)
    people = {member.jira.casefold(): member for member in members}
    context = _Context(team, sprint_id, policy, by_points, people, epic_labels)
    found: list[Violation] = []
    found += _split_rule(context, split)
    for issue in work:
        found += _issue_rules(context, issue)
    found += _junior_rule(context, work)
    not_configured: dict[Rule, str] = {}
    if policy.reviewer_field:
        found += _review_load_rule(context, work)
    else:
        reason = "not configured: set reviewer_field to the Jira field that holds an issue's reviewer"
        not_configured = {"R4": reason, "R6": reason}
    order = {rule: index for index, rule in enumerate(RULES)}
    found.sort(key=lambda v: (order[v.rule], v.key))
    return Evaluation(split=split, violations=tuple(found), not_configured=not_configured)


@dataclass(frozen=True, slots=True)
class _Context:
    team: str
    sprint_id: int
    policy: StaffingPolicy
    by_points: bool
    people: Mapping[str, Member]
    epic_labels: Mapping[str, Sequence[str]]

    def member(self, jira_ref: str | None) -> Member | None:
        return self.people.get(jira_ref.casefold()) if jira_ref else None

    def violation(self, rule: Rule, *, issue: str | None, person: str | None, detail: str, **kw: object) -> Violation:
        return Violation(rule, self.team, self.sprint_id, issue, person, detail, **kw)  # type: ignore[arg-type]

    def amount(self, value: float) -> str:
        unit = "point" if self.by_points else "issue"
        return f"{_number(value)} {unit}{'' if value == 1 else 's'}"


def _split_rule(context: _Context, split: Split) -> list[Violation]:
    share = split.share
    if share is None:
        return []
    policy = context.policy
    low = policy.target_human_first_pct - policy.tolerance_pct
    high = policy.target_human_first_pct + policy.tolerance_pct
    pct = share * 100
    if pct < low:
        side, distance = "below", low - pct
        advice = "label more of the sprint's work human-first, or move ai-heavy work out of the sprint"
    elif pct > high:
        side, distance = "above", pct - high
        advice = "more of the sprint's work can go ai-heavy, or move human-first work out of the sprint"
    else:
        return []
    detail = (
        f"This sprint's human-first share is {split.human_first_pct}% ({context.amount(split.human_first)} of "
        f"{context.amount(split.tracked)} with a track), {side} the target of "
        f"{policy.target_human_first_pct}% ± {policy.tolerance_pct}%: {advice}."
    )
    return [context.violation("R1", issue=None, person=None, detail=detail, state=side,
                              magnitude=_steps(distance))]


def _issue_rules(context: _Context, issue: Issue) -> list[Violation]:
    policy = context.policy
    assignee = context.member(issue.assignee)
    person = assignee.slack if assignee else None
    owner = assignee.shown if assignee else (issue.assignee or "nobody")
    track = track_of(issue, context.epic_labels, policy)
    if track is None:
        both = has_both_tracks(issue.labels, policy)
        why = (
            f"carries both {policy.human_first_label} and {policy.ai_heavy_label}"
            if both
            else "has no track"
        )
        detail = (
            f"{issue.key} (assigned to {owner}) {why}: label it {policy.human_first_label} or "
            f"{policy.ai_heavy_label} (/govbot track {issue.key} human-first|ai-heavy), or label its epic."
        )
        state = f"{issue.assignee or ''}|{'both' if both else 'none'}"
        return [context.violation("R2", issue=issue.key, person=person, detail=detail, state=state)]
    if track != "ai-heavy":
        return []
    zone, component = zone_of(issue, policy)
    inherited = "" if own_track(issue.labels, policy) else f" (through its epic {issue.parent_key})"
    if zone == 1:
        detail = (
            f"{issue.key} (assigned to {owner}) is {policy.ai_heavy_label}{inherited} but touches zone-1 "
            f"component {component}, which is human-only: relabel it {policy.human_first_label} "
            f"(/govbot track {issue.key} human-first) or split the zone-1 work into a human-first issue."
        )
        return [context.violation("R3", issue=issue.key, person=person, detail=detail,
                                  state=issue.assignee or "")]
    if zone == 2 and policy.reviewer_field:
        reviewer = context.member(issue.reviewer)
        if reviewer is not None and reviewer.seniority == "senior":
            return []
        if issue.reviewer is None:
            problem, state = "has no reviewer", "none"
        else:
            shown = reviewer.shown if reviewer else issue.reviewer
            problem, state = f"is reviewed by {shown}, who is not one of the team's seniors", issue.reviewer
        detail = (
            f"{issue.key} (assigned to {owner}) is {policy.ai_heavy_label}{inherited} in zone 2 (component "
            f"{component}) but {problem}: set a senior as its reviewer ({policy.reviewer_field})."
        )
        return [context.violation("R4", issue=issue.key, person=person, detail=detail,
                                  state=f"{issue.assignee or ''}|{state}")]
    return []


def _junior_rule(context: _Context, work: Sequence[Issue]) -> list[Violation]:
    policy = context.policy
    found = []
    for member in sorted(context.people.values(), key=lambda m: m.slack):
        if member.seniority != "junior":
            continue
        human = tracked = 0.0
        for issue in work:
            if context.member(issue.assignee) is not member:
                continue
            track = track_of(issue, context.epic_labels, policy)
            if track is None:
                continue
            amount = weight(issue, by_points=context.by_points)
            tracked += amount
            human += amount if track == "human-first" else 0.0
        if tracked <= 0:
            continue
        pct = Fraction(human) / Fraction(tracked) * 100
        minimum = policy.junior_min_human_first_pct
        if pct >= minimum:
            continue
        detail = (
            f"{member.shown} (junior) has {_whole(pct)}% human-first work this sprint ({context.amount(human)} of "
            f"{context.amount(tracked)} with a track), below the {minimum}% minimum: give them human-first work "
            "so they keep learning by hand."
        )
        found.append(context.violation("R5", issue=None, person=member.slack, detail=detail,
                                       magnitude=_steps(minimum - pct)))
    return found


def _review_load_rule(context: _Context, work: Sequence[Issue]) -> list[Violation]:
    policy = context.policy
    reviews: dict[str, list[str]] = {}
    for issue in work:
        reviewer = context.member(issue.reviewer)
        if reviewer is None or reviewer.seniority != "senior":
            continue
        if track_of(issue, context.epic_labels, policy) == "ai-heavy":
            reviews.setdefault(reviewer.slack, []).append(issue.key)
    found = []
    by_slack = {member.slack: member for member in context.people.values()}
    for slack, keys in sorted(reviews.items()):
        cap = policy.senior_review_cap
        if len(keys) <= cap:
            continue
        detail = (
            f"{by_slack[slack].shown} (senior) reviews {len(keys)} {policy.ai_heavy_label} issues this sprint, "
            f"over the cap of {cap}: hand some of the reviews to another senior."
        )
        found.append(context.violation("R6", issue=None, person=slack, detail=detail, magnitude=len(keys) - cap))
    return found


# --- helpers


def _steps(distance: Fraction | float) -> int:
    """How many RENOTIFY_STEP_PCT steps out a share is (anything out counts as at least one step)."""
    return max(1, math.ceil(Fraction(distance) / RENOTIFY_STEP_PCT))


def _whole(pct: Fraction) -> int:
    return math.floor(pct + Fraction(1, 2))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- reconciling with what is stored

Action = Literal["open", "reopen", "change", "renotify", "resolve"]


@dataclass(frozen=True, slots=True)
class Known:
    """A stored violation as reconciliation needs it."""

    key: str
    sprint_id: int
    status: str  # open | acknowledged | resolved
    fingerprint: str
    notified_state: str
    notified_magnitude: int


@dataclass(frozen=True, slots=True)
class Step:
    """What one run does about one violation; ``notify`` says whether people are told (again)."""

    action: Action
    key: str
    violation: Violation | None  # None when resolving
    notify: bool


def reconcile(*, known: Sequence[Known], found: Sequence[Violation], sprint_id: int | None) -> list[Step]:
    """Compare what is stored with what the rules found now.

    New: open and notify. Resolved before and back: reopen and notify. Changed: renotify when
    ``should_renotify`` says so (an acknowledged violation opens again), else just record the change. Stored but
    no longer found: resolve; the managers are told when it was in this sprint (older sprints close quietly).
    """
    by_key = {k.key: k for k in known}
    steps: list[Step] = []
    for violation in found:
        stored = by_key.get(violation.key)
        if stored is None:
            steps.append(Step("open", violation.key, violation, True))
        elif stored.status == "resolved":
            steps.append(Step("reopen", violation.key, violation, True))
        elif stored.fingerprint != violation.fingerprint:
            again = should_renotify(previous_state=stored.notified_state,
                                    previous_magnitude=stored.notified_magnitude, current=violation)
            steps.append(Step("renotify" if again else "change", violation.key, violation, again))
    now_found = {v.key for v in found}
    for stored in known:
        if stored.status != "resolved" and stored.key not in now_found:
            steps.append(Step("resolve", stored.key, None, stored.sprint_id == sprint_id))
    return steps
