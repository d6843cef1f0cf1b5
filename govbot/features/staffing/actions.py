"""Two-track staffing's user actions: acknowledging a violation, setting an issue's track (from the nudge's
buttons or `/govbot track`), and what the Tracks status section shows.

Jira writes are audited *before* they are sent, so a crash after Jira's answer never leaves a write unaudited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.tracker import JiraTracker, TrackerError, TrackerNotFound
from govbot.adapters.tracker import staffing as jira
from govbot.core import audit, teams
from govbot.core.teams import StoredTeam
from govbot.domain.tracks import Split, Track, compute_split, own_track
from govbot.domain.work import Board, Issue
from govbot.features.staffing import messages, repo
from govbot.features.staffing.service import SprintRead, policy_of, read_sprint

# --- acknowledging


@dataclass(frozen=True)
class Outcome:
    """The result of a user's action: whether it was done, and the sentence to show them."""

    done: bool
    message: str


def acknowledge(*, engine: Engine, key: bytes, violation_id: int, user_id: str, reason: str,
                now: datetime) -> Outcome:
    """A manager of the violation's team acknowledges it with a reason (audited; not re-notified until it
    changes)."""
    reason = (reason or "").strip()
    with Session(engine, expire_on_commit=False) as session:
        row = repo.get(session=session, violation_id=violation_id)
        team = teams.get_team_by_id(session=session, team_id=row.team_id) if row else None
        if row is None or team is None:
            return Outcome(False, "This violation does not exist any more, so there is nothing to acknowledge.")
        if not team.is_manager(user_id):
            return Outcome(False, f"Sorry, only the managers of team `{team.name}` can acknowledge a violation.")
        if len(reason) < 3:
            return Outcome(False, "Please give a reason of at least 3 characters: it is kept in the audit trail.")
        if row.status == "resolved":
            return Outcome(False, f"{messages.rule_name(row.rule)} is already resolved: the rule holds again.")
        if row.status == "acknowledged":
            return Outcome(False, f"<@{row.acknowledged_by}> already acknowledged it: “{row.reason}”.")
        row.status, row.acknowledged_by, row.acknowledged_at, row.reason = "acknowledged", user_id, now, reason
        session.add(row)
        audit.record(session=session, key=key, now=now, actor=user_id, action="violation.acknowledge",
                     team=team.name, target=row.key, before={"status": "open"},
                     after={"status": "acknowledged"}, reason=reason)
        session.commit()
    return Outcome(True, f"Acknowledged {messages.rule_name(row.rule)} with your reason; govbot will not remind "
                         "about it again unless it changes.")


# --- setting a track


class TrackRefused(Exception):
    """The track cannot be set: ``str(error)`` is the sentence for the user; nothing was written."""


@dataclass(frozen=True)
class TrackResult:
    """A track set (or found already set) on an issue."""

    key: str
    label: str
    already: bool
    issue: Issue


def set_track(*, engine: Engine, key: bytes, tracker: JiraTracker, team: StoredTeam, issue_key: str, track: Track,
              actor: str, now: datetime, assignee_or_manager: bool = False) -> TrackResult:
    """Label an issue (or epic) with a track in one update operation that removes the other track label.

    The write is audited before it is sent, so a crash after Jira's answer leaves no write unaudited.
    """
    try:
        issue = jira.issue_brief(tracker, issue_key)
    except TrackerNotFound:
        raise TrackRefused(f"{issue_key} does not exist any more in Jira (or govbot cannot see it).") from None
    if assignee_or_manager and not team.is_manager(actor):
        assignee = next((m.slack for m in team.spec.members
                         if issue.assignee and m.jira.casefold() == issue.assignee.casefold()), None)
        if assignee != actor:
            raise TrackRefused(f"Only the assignee of {issue_key} or a manager of team `{team.name}` can choose its "
                               "track.")
    policy = policy_of(team.settings)
    label = policy.label_of(track)
    other = policy.label_of("ai-heavy" if track == "human-first" else "human-first")
    if own_track(issue.labels, policy) == track:
        return TrackResult(issue_key, label, True, issue)
    with Session(engine) as session:
        audit.record(session=session, key=key, now=now, actor=actor, action="jira.set_track", team=team.name,
                     target=issue_key, before={"labels": list(issue.labels)}, after={"add": label, "remove": other})
        session.commit()
    try:
        jira.set_track_label(tracker, issue_key, add=label, remove=other)
    except TrackerError as error:
        with Session(engine) as session:
            audit.record(session=session, key=key, now=now, actor=actor, action="jira.set_track.failed",
                         team=team.name, target=issue_key, after={"error": str(error)})
            session.commit()
        raise
    return TrackResult(issue_key, label, False, issue)


# --- what the sprint looks like now


def current_read(*, tracker: JiraTracker, team: StoredTeam) -> SprintRead:
    """The board's active sprint, read as the rules read it (two agile calls, then the sprint's searches)."""
    board_id = team.spec.jira_board_id
    estimation = tracker.estimation_field(board_id)
    active = tracker.sprints(board_id, states=["active"])
    board = Board(id=board_id, name="", type="scrum", estimation_field=estimation)
    return read_sprint(tracker=tracker, team=team, board=board, sprint=active[0] if active else None)


def _relabelled(labels: tuple[str, ...], result: TrackResult, other: str) -> tuple[str, ...]:
    kept = tuple(label for label in labels if label.casefold() != other.casefold())
    return kept if any(label.casefold() == result.label.casefold() for label in kept) else (*kept, result.label)


def split_after(*, tracker: JiraTracker, team: StoredTeam, result: TrackResult) -> Split | None:
    """The sprint's split with the label just written (Jira's search may not show its own write yet)."""
    read = current_read(tracker=tracker, team=team)
    if read.sprint is None:
        return None
    policy = policy_of(team.settings)
    other = policy.label_of("ai-heavy" if result.label == policy.human_first_label else "human-first")
    issues = [replace(i, labels=_relabelled(i.labels, result, other)) if i.key == result.key else i
              for i in read.issues]
    epics = dict(read.epic_labels)
    if any(i.parent_key == result.key for i in issues):
        epics[result.key] = _relabelled(tuple(epics.get(result.key, result.issue.labels)), result, other)
    return compute_split(issues, epics, policy, by_points=read.by_points)


def tracks_view(*, session: Session, team: StoredTeam, tracker: JiraTracker | None,
                read_sprint: Callable[[], SprintRead] | None = None) -> messages.TracksView:
    """The Tracks section: the split from Jira (``read_sprint``, by default read now), the stored open
    violations."""
    settings = team.settings
    split, sprint_name, problem = None, None, None
    if tracker is None:
        problem = "govbot has no Jira connection configured"
    else:
        try:
            read = read_sprint() if read_sprint is not None else current_read(tracker=tracker, team=team)
            sprint_name = read.sprint.name if read.sprint else None
            split = compute_split(read.issues, read.epic_labels, policy_of(settings), by_points=read.by_points)
        except TrackerError as error:
            problem = str(error)
    return messages.TracksView(
        sprint_name=sprint_name, split=split, target_pct=settings.track_target_human_first_pct,
        tolerance_pct=settings.track_tolerance_pct, open_by_rule=repo.open_by_rule(session=session, team_id=team.id),
        oldest=repo.oldest_open(session=session, team_id=team.id), problem=problem,
        not_configured=[] if settings.reviewer_field else ["R4", "R6"])
