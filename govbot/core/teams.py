"""Teams as every feature sees them: lookups (keyword-only queries returning ``StoredTeam``) and who may do what.

Only the teams feature writes teams; every other feature reads them through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from govbot.adapters.db.tables import Team, TeamManager, TeamMember, TeamSettingsRow
from govbot.teamconfig import MemberSpec, TeamSettings, TeamSpec


@dataclass(frozen=True)
class StoredTeam:
    """A team as stored: its spec (the same shape a team file has), its row id and its settings version."""

    id: int
    spec: TeamSpec
    settings_version: int

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def settings(self) -> TeamSettings:
        return self.spec.settings

    def is_manager(self, user_id: str) -> bool:
        """Managers change settings, overrides and acknowledgements."""
        return user_id in self.spec.managers

    def is_member(self, user_id: str) -> bool:
        """Members (and managers) see status and results."""
        return user_id in self.spec.managers or any(m.slack == user_id for m in self.spec.members)

    def member(self, user_id: str) -> MemberSpec | None:
        """The member record of a Slack user, if any."""
        return next((m for m in self.spec.members if m.slack == user_id), None)


def _stored(session: Session, team: Team) -> StoredTeam:
    assert team.id is not None
    managers = session.exec(
        select(TeamManager.slack_user_id).where(TeamManager.team_id == team.id).order_by(col(TeamManager.id))
    ).all()
    members = session.exec(
        select(TeamMember).where(TeamMember.team_id == team.id).order_by(col(TeamMember.id))
    ).all()
    settings_row = session.get(TeamSettingsRow, team.id)
    spec = TeamSpec(
        name=team.name,
        jira_board_id=team.jira_board_id,
        jira_project=team.jira_project,
        digest_channel=team.digest_channel,
        timezone=team.timezone,
        cadence_anchor_sprint_id=team.cadence_anchor_sprint_id,
        managers=list(managers),
        members=[MemberSpec(slack=m.slack_user_id, jira=m.jira_account, seniority=m.seniority) for m in members],  # type: ignore[arg-type]
        settings=TeamSettings.model_validate(settings_row.values if settings_row else {}),
    )
    return StoredTeam(id=team.id, spec=spec, settings_version=settings_row.version if settings_row else 0)


def get_team(*, session: Session, name: str) -> StoredTeam | None:
    """The team with this name, or None."""
    row = session.exec(select(Team).where(Team.name == name)).first()
    return _stored(session, row) if row else None


def get_team_by_id(*, session: Session, team_id: int) -> StoredTeam | None:
    """The team with this row id, or None."""
    row = session.get(Team, team_id)
    return _stored(session, row) if row else None


def list_teams(*, session: Session) -> list[StoredTeam]:
    """Every team, by name."""
    return [_stored(session, row) for row in session.exec(select(Team).order_by(Team.name))]


def teams_for_channel(*, session: Session, channel_id: str) -> list[StoredTeam]:
    """Teams whose digest channel this is."""
    rows = session.exec(select(Team).where(Team.digest_channel == channel_id).order_by(Team.name))
    return [_stored(session, row) for row in rows]


def teams_of_user(*, session: Session, user_id: str) -> list[StoredTeam]:
    """Teams this Slack user manages or belongs to."""
    ids = set(session.exec(select(TeamManager.team_id).where(TeamManager.slack_user_id == user_id)).all())
    ids |= set(session.exec(select(TeamMember.team_id).where(TeamMember.slack_user_id == user_id)).all())
    query = select(Team).where(col(Team.id).in_(ids)).order_by(Team.name)
    rows: Iterable[Team] = session.exec(query) if ids else []
    return [_stored(session, row) for row in rows]


# --- authorisation

Who = Literal["anyone", "members", "managers", "admins"]

WHO_TEXT: dict[Who, str] = {
    "anyone": "anyone",
    "members": "team members",
    "managers": "team managers",
    "admins": "govbot admins",
}


def authorise(who: Who, *, user_id: str, team: StoredTeam | None, admins: tuple[str, ...]) -> str | None:
    """None when ``user_id`` may act as ``who`` (on ``team``), else a polite refusal that says who may."""
    if who == "anyone":
        return None
    if who == "admins":
        if user_id in admins:
            return None
        return "Sorry, only govbot admins (GOVBOT_ADMINS) can do that. Ask your Slack admin to add you."
    assert team is not None
    if who == "managers" and not team.is_manager(user_id):
        managers = ", ".join(f"<@{m}>" for m in team.spec.managers)
        return f"Sorry, only the managers of team `{team.name}` can do that. Ask {managers}."
    if who == "members" and not team.is_member(user_id):
        return f"Sorry, only members of team `{team.name}` can see that. Ask a manager to add you."
    return None
