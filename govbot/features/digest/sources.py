"""What the digest reads: the week's figures from Jira, the survey indices, the tracks and the refactoring cadence.

Each reader returns plain domain data; the service decides what a failure means (a figure named missing).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from govbot.adapters.tracker import weekly
from govbot.core import board
from govbot.core.teams import StoredTeam
from govbot.domain import cadence
from govbot.domain import digest as domain
from govbot.domain import tracks as tracks_domain
from govbot.domain.surveys import release_threshold
from govbot.features.digest import repo

log = logging.getLogger(__name__)


def zone_of(team: StoredTeam) -> ZoneInfo:
    """The team's timezone."""
    return ZoneInfo(team.spec.timezone)


def counting_rules(team: StoredTeam, *, estimation_field: str | None) -> domain.CountingRules:
    """What counts as a feature, an incident and a rollback for this team."""
    settings = team.settings
    return domain.CountingRules(
        by_points=estimation_field is not None,
        feature_types=tuple(settings.feature_issue_types),
        incident_types=tuple(settings.incident_issue_types),
        incident_label=settings.labels.incident,
        rollback_label=settings.labels.rollback,
    )


def read_figures(
    *, tracker: Any, team: StoredTeam, span: domain.WeekSpan, now: datetime, measure_queue: bool
) -> domain.WeekFigures:
    estimation = tracker.estimation_field(team.spec.jira_board_id)
    issues = weekly.week_issues(
        tracker, project=team.spec.jira_project, start=span.start, end=span.end, estimation_field=estimation
    )
    queue = None
    if measure_queue:
        statuses = team.settings.review_statuses
        in_review = weekly.review_queue(tracker, project=team.spec.jira_project, statuses=statuses)
        queue = domain.review_queue(in_review, statuses=statuses, now=now)
    return domain.measure_week(span, issues=issues, rules=counting_rules(team, estimation_field=estimation),
                               queue=queue)


def read_people(*, session: Session, team: StoredTeam) -> tuple[domain.People | None, domain.PeopleState]:
    """The last closed survey's indices through the anonymity gate, and whether they may be shown.

    The gate is the surveys' one (SPEC §5): nothing below the threshold the survey promised, or the team's current
    one if higher; the previous survey counts for the burnout rise only when it passed its own gate.
    """
    try:
        surveys = repo.last_closed_surveys(session=session, team_id=team.id)
    except SQLAlchemyError:
        log.warning("the survey results of team %s could not be read", team.name, exc_info=True)
        session.rollback()
        return None, "unreadable"
    if not surveys:
        return None, "no_survey"

    def released(survey: repo.ClosedSurvey) -> bool:
        return survey.responses >= release_threshold(promised=survey.min_responses,
                                                     current=team.settings.anonymity_min_responses)

    latest = surveys[0]
    if not released(latest):
        return None, "below_threshold"
    previous = surveys[1] if len(surveys) > 1 and released(surveys[1]) else None
    people = domain.People(latest.burnout_index, latest.learning_index, latest.response_rate,
                           previous.burnout_index if previous is not None else None)
    return people, "shown"


def _policy(team: StoredTeam) -> tracks_domain.StaffingPolicy:
    settings = team.settings
    return tracks_domain.StaffingPolicy(
        target_human_first_pct=settings.track_target_human_first_pct,
        tolerance_pct=settings.track_tolerance_pct,
        human_first_label=settings.labels.human_first,
        ai_heavy_label=settings.labels.ai_heavy,
    )


def read_sprint_sections(
    *, session: Session, tracker: Any, team: StoredTeam
) -> tuple[domain.Refactoring | None, domain.Tracks | None]:
    """The active sprint's place in the refactoring cadence and its track split (None, None without one).

    One read of the board and its sprints, one search for the sprint's issues and one for their epics' labels
    (an issue without a track label takes its epic's). Open violations are those the staffing checks stored.
    """
    snapshot = board.read_snapshot(session=session, tracker=tracker, team=team)
    session.rollback()  # end the read before Jira is read again: on SQLite a transaction holds the write lock
    current = snapshot.active
    if current is None:
        return None, None
    settings = team.settings
    estimation = snapshot.board.estimation_field
    by_points = estimation is not None
    issues = weekly.sprint_issues(tracker, sprint_id=current.sprint.id, estimation_field=estimation)
    epics = weekly.labels_of(tracker, [i.parent_key for i in issues if i.parent_key]) if issues else {}
    split = tracks_domain.compute_split(issues, epics, _policy(team), by_points=by_points)
    tracks = domain.Tracks(
        human_first_pct=split.human_first_pct,
        target_pct=settings.track_target_human_first_pct,
        tolerance_pct=settings.track_tolerance_pct,
        open_violations=repo.open_violations(session=session, team_id=team.id),
    )
    every = settings.refactor_every
    is_refactor = cadence.is_refactor_sprint(current.number, every=every, overrides=snapshot.overrides)
    share_pct = None
    if is_refactor:
        # Weighed as the refactoring feature's capacity check weighs the sprint, so both say the same share.
        share_pct = cadence.refactor_share(issues, refactor_label=settings.labels.refactor, by_points=by_points).pct
    upcoming = cadence.next_refactor_sprint(current.number, every=every, overrides=snapshot.overrides)
    refactoring = domain.Refactoring(
        sprint_number=current.number,
        is_refactor_sprint=is_refactor,
        sprints_until_next=0 if is_refactor else upcoming - current.number,
        refactor_share_pct=share_pct,
        capacity_pct=settings.refactor_capacity_pct,
    )
    return refactoring, tracks
