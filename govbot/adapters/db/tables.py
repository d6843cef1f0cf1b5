"""The schema, as SQLModel tables. Alembic (govbot/migrations) owns how it gets into a database.

Unique constraints carry idempotency: a digest week, a survey invitation, a planned sprint or an audit
predecessor can only be recorded once, so a retry or a second process loses the race instead of acting twice.

Anonymity is a property of this file (SPEC §5): ``survey_response`` holds the survey, the answers and the day —
no user id, no hash of one, no finer timestamp, and a random primary key so that row order says nothing about
who answered when; ``survey_participation`` holds only an HMAC of survey id + user id. tests/test_survey_schema.py
fails if an identifying column appears on the response table.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from govbot.adapters.db.types import UTCDateTime


def utcnow() -> datetime:
    """Row timestamps only; domain logic never reads the clock."""
    return datetime.now(UTC)


class Team(SQLModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    jira_board_id: int
    jira_project: str = Field(max_length=20)
    digest_channel: str = Field(max_length=32)
    timezone: str = Field(max_length=64)
    cadence_anchor_sprint_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TeamSettingsRow(SQLModel, table=True):
    """The team's full, validated settings; ``version`` makes concurrent saves detectable (optimistic lock)."""

    __tablename__ = "team_settings"

    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), primary_key=True))
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id", name="uq_member_team_slack"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    slack_user_id: str = Field(max_length=32)
    jira_account: str = Field(max_length=128)
    seniority: str = Field(max_length=8)


class TeamManager(SQLModel, table=True):
    __tablename__ = "team_manager"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id", name="uq_manager_team_slack"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    slack_user_id: str = Field(max_length=32)


class AuditEvent(SQLModel, table=True):
    """Append-only; each row carries the hash of its predecessor (unique, so the chain cannot fork)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=255)
    before: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # Which key signed the hash (a public fingerprint, see core/keys.py); NULL for events from before key ids.
    key_id: str | None = Field(default=None, max_length=16)


class AuditHead(SQLModel, table=True):
    """The chain's tip: how many events there are and the last one's hash, keyed.

    Walking the chain finds an edited, inserted or reordered event and a deleted one in the middle; only this row
    can tell that the newest events were deleted. It is updated in the same transaction as every append.
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    count: int
    last_hash: str = Field(sa_column=Column(String(64), nullable=False))
    mac: str = Field(sa_column=Column(String(64), nullable=False))
    key_id: str | None = Field(default=None, max_length=16)


class Delivery(SQLModel, table=True):
    """Ledger of things done at most once: a digest week, a notice, an invitation, a handled Slack event.

    The unique (kind, key) pair is claimed *before* the side effect; ``done_at`` is set after it succeeds, so a
    process killed in between leaves a claimed-but-not-done row that the next run completes instead of repeating.
    """

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_delivery_kind_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=True)
    )
    kind: str = Field(max_length=40)
    key: str = Field(max_length=255)
    ref: str | None = Field(default=None, max_length=255)  # e.g. the Slack ts or Jira id the side effect produced
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Who holds an open claim, and when it last said it is alive, on the database's clock (core/leases.py).
    holder: str | None = Field(default=None, max_length=80)
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class SprintOverride(SQLModel, table=True):
    """A manager's skip or postpone of one refactoring sprint (by cadence number)."""

    __tablename__ = "sprint_override"
    __table_args__ = (UniqueConstraint("team_id", "sprint_number", name="uq_override_team_sprint"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    sprint_number: int
    kind: str = Field(max_length=10)  # skip | postpone
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PlannedSprint(SQLModel, table=True):
    """A sprint govbot created in Jira; found again by name if the process died before recording it."""

    __tablename__ = "planned_sprint"
    __table_args__ = (UniqueConstraint("team_id", "jira_sprint_id", name="uq_planned_team_sprint"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    jira_sprint_id: int
    number: int
    name: str = Field(max_length=255)
    is_refactor: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Survey(SQLModel, table=True):
    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    # Which rrule occurrence (or manual start) this is: unique per team, so a scheduled send cannot run twice.
    occurrence: str = Field(max_length=64)
    status: str = Field(default="open", max_length=10)  # open | closed
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    remind_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closes_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    invited_count: int = 0
    # The anonymity threshold promised when the survey was sent: lowering the team's setting later must not
    # reveal results that were hidden under the promise (results are gated by the larger of the two).
    min_responses: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    disabled_items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    started_by: str = Field(default="system", max_length=64)

    __table_args__ = (UniqueConstraint("team_id", "occurrence", name="uq_survey_team_occurrence"),)


def _response_id() -> str:
    return uuid.uuid4().hex


class SurveyResponse(SQLModel, table=True):
    """One anonymous answer set. Nothing here may identify the person (see the module docstring)."""

    __tablename__ = "survey_response"
    # On SQLite, a rowid would number responses in the order they arrived — the order participation rows arrive
    # in too. Without it rows are stored by their random key. (On PostgreSQL, heap order is broken up by
    # rewriting an open survey's responses in random order on every reminder run, and at close.)
    __table_args__ = {"sqlite_with_rowid": False}

    id: str = Field(default_factory=_response_id, sa_column=Column(String(32), primary_key=True))
    survey_id: int = Field(sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    burnout: int | None = None
    review_drain: int | None = None
    review_hours: int | None = None
    learning: int | None = None
    comprehension: int | None = None
    ai_share: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SurveyParticipation(SQLModel, table=True):
    """Who has answered, as HMAC(GOVBOT_SECRET_KEY, survey id + user id) only: it cannot be joined to a response."""

    __tablename__ = "survey_participation"
    __table_args__ = {"sqlite_with_rowid": False}  # stored by digest, not by arrival (see SurveyResponse)

    digest: str = Field(sa_column=Column(String(64), primary_key=True))



class DigestWeek(SQLModel, table=True):
    """One team's digest figures of one ISO week, kept so that trends and the chart never re-query Jira.

    Unique per (team, week): a backfill and a post racing on the same week update one row. Survey and track
    figures are kept as they were shown that week (None when hidden or not measured).
    """

    __tablename__ = "digest_week"
    __table_args__ = (UniqueConstraint("team_id", "week", name="uq_digest_week_team_week"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    week: str = Field(max_length=8)  # ISO week, "2026-W47"
    week_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    unit: str = Field(max_length=6)  # points | issues
    velocity: float
    features_shipped: int
    incidents: int
    rollbacks: int
    review_count: int | None = None
    review_median_hours: float | None = None
    review_oldest_hours: float | None = None
    burnout_index: float | None = None
    learning_index: float | None = None
    response_rate: float | None = None
    human_first_pct: float | None = None
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the job's now

class StaffingViolation(SQLModel, table=True):
    """A broken staffing or zone rule (SPEC §6), one row per identity (rule + team + sprint + issue or person).

    ``fingerprint`` is what the rules found last; ``notified_state``/``notified_magnitude`` what people were last
    told, so a violation that only improves is not re-notified. ``round`` counts the notices: delivery keys carry
    it, so each round of DMs goes out once even across crashes and retries.
    """

    __tablename__ = "staffing_violation"
    __table_args__ = (UniqueConstraint("key", name="uq_violation_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=False))
    key: str = Field(max_length=255)
    rule: str = Field(max_length=2)
    severity: str = Field(max_length=10)
    sprint_id: int
    issue: str | None = Field(default=None, max_length=32)
    person: str | None = Field(default=None, max_length=32)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=16)
    state: str = Field(default="", max_length=255)
    magnitude: int = 0
    notified_state: str = Field(default="", max_length=255)
    notified_magnitude: int = 0
    round: int = 1
    status: str = Field(default="open", max_length=12)  # open | acknowledged | resolved
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


metadata = SQLModel.metadata
