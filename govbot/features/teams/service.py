"""Creating, changing and removing governed teams; every change is one audit event with before and after."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from govbot.adapters.db.tables import Team, TeamManager, TeamMember, TeamSettingsRow
from govbot.adapters.tracker import TrackerError
from govbot.core import audit, teams
from govbot.core.events import Signal, send_after_commit
from govbot.features.teams.teamfile import TeamFileUnreadable, load_team_file
from govbot.teamconfig import MemberSpec, TeamSettings, TeamSpec, error_sentence


class TeamFileError(ValueError):
    """A team file that cannot be imported; ``problems`` lists every error as 'file: team: field: problem'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class TeamExists(ValueError):
    """A team with this name already exists."""


class TeamNotFound(LookupError):
    """No team has this name."""


class StaleSettings(RuntimeError):
    """The settings changed since the form was opened; ``current`` holds the new values."""

    def __init__(self, current: TeamSettings, version: int):
        super().__init__("the team's settings were changed by someone else")
        self.current = current
        self.version = version


@dataclass
class ApplyReport:
    """What an import did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_team_file(path: Path) -> list[TeamSpec]:
    """Read and validate a team file as a whole; raise TeamFileError naming file, team, field and problem."""
    name = str(path)
    try:
        document = load_team_file(path)
    except FileNotFoundError:
        raise TeamFileError([f"{name}: the file does not exist"]) from None
    except TeamFileUnreadable as exc:
        raise TeamFileError([f"{name}: {exc}"]) from None
    except OSError as exc:
        raise TeamFileError([f"{name}: cannot be read ({exc.strerror or exc.__class__.__name__})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TeamFileError([f"{name}: is not valid YAML{where}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("teams"), list):
        raise TeamFileError([f"{name}: must have a top-level 'teams:' list"])
    specs: list[TeamSpec] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["teams"]):
        label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{index + 1}"
        if not isinstance(raw, dict):
            problems.append(f"{name}: team {label}: must be a mapping of fields")
            continue
        try:
            spec = TeamSpec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(f"{name}: team {label}: {error_sentence(dict(error))}" for error in exc.errors())
            continue
        if spec.name in seen:
            problems.append(f"{name}: team {label}: name: appears twice in the file")
        seen.add(spec.name)
        specs.append(spec)
    if problems:
        raise TeamFileError(problems)
    return specs


def snapshot(spec: TeamSpec) -> dict[str, Any]:
    """The JSON form of a team used for audit before/after and for comparing imports."""
    return spec.model_dump(mode="json")


def _write(session: Session, team: Team, spec: TeamSpec, now: datetime) -> None:
    team.name = spec.name
    team.jira_board_id = spec.jira_board_id
    team.jira_project = spec.jira_project
    team.digest_channel = spec.digest_channel
    team.timezone = spec.timezone
    team.cadence_anchor_sprint_id = spec.cadence_anchor_sprint_id
    team.updated_at = now
    session.add(team)
    session.flush()
    assert team.id is not None
    session.exec(delete(TeamManager).where(col(TeamManager.team_id) == team.id))
    session.exec(delete(TeamMember).where(col(TeamMember.team_id) == team.id))
    for manager in spec.managers:
        session.add(TeamManager(team_id=team.id, slack_user_id=manager))
    for member in spec.members:
        session.add(TeamMember(team_id=team.id, slack_user_id=member.slack, jira_account=member.jira,
                               seniority=member.seniority))
    row = session.get(TeamSettingsRow, team.id)
    values = spec.settings.as_json()
    if row is None:
        session.add(TeamSettingsRow(team_id=team.id, values=values, version=1, updated_at=now))
    elif row.values != values:
        row.values = values
        row.version += 1
        row.updated_at = now
        session.add(row)
    session.flush()


def apply_specs(
    *, session: Session, key: bytes, now: datetime, actor: str, specs: list[TeamSpec], source: str,
    settings_changed: Signal | None = None,
) -> ApplyReport:
    """Create or update each team to match its spec; identical teams are left untouched (no audit event).

    ``settings_changed`` fires after commit for each team whose settings changed (None: no listener here).
    """
    report = ApplyReport()
    for spec in specs:
        row = session.exec(select(Team).where(Team.name == spec.name)).first()
        if row is None:
            _write(session, Team(name=spec.name, jira_board_id=0, jira_project="", digest_channel="",
                                 timezone="UTC", created_at=now, updated_at=now), spec, now)
            audit.record(session=session, key=key, now=now, actor=actor, action="team.create", team=spec.name,
                         target=f"team:{spec.name}", before=None, after=snapshot(spec), reason=source)
            report.created.append(spec.name)
            continue
        stored = teams.get_team(session=session, name=spec.name)
        assert stored is not None
        if spec.cadence_anchor_sprint_id is None and stored.spec.cadence_anchor_sprint_id is not None:
            # A file that does not name an anchor keeps the one govbot chose: re-anchoring would silently shift
            # the refactoring cadence (and the same file imported again must change nothing).
            spec = spec.model_copy(update={"cadence_anchor_sprint_id": stored.spec.cadence_anchor_sprint_id})
        before = snapshot(stored.spec)
        if before == snapshot(spec):
            report.unchanged.append(spec.name)
            continue
        _write(session, row, spec, now)
        audit.record(session=session, key=key, now=now, actor=actor, action="team.update", team=spec.name,
                     target=f"team:{spec.name}", before=before, after=snapshot(spec), reason=source)
        report.updated.append(spec.name)
        if stored.spec.settings != spec.settings:
            send_after_commit(session, settings_changed, spec.name)
    return report


def add_team(*, session: Session, key: bytes, now: datetime, actor: str, spec: TeamSpec) -> None:
    """Create a new team; refuse a name that exists."""
    if teams.get_team(session=session, name=spec.name) is not None:
        raise TeamExists(f"a team named {spec.name!r} already exists: choose another name or edit that team")
    apply_specs(session=session, key=key, now=now, actor=actor, specs=[spec], source="add")


def remove_team(*, session: Session, key: bytes, now: datetime, actor: str, name: str, reason: str | None) -> None:
    """Delete a team and everything that belongs to it (the audit trail keeps its history)."""
    stored = teams.get_team(session=session, name=name)
    if stored is None:
        raise TeamNotFound(f"no team is named {name!r}: `govbot team list` shows the teams")
    row = session.get(Team, stored.id)
    session.delete(row)
    session.flush()
    audit.record(session=session, key=key, now=now, actor=actor, action="team.remove", team=name,
                 target=f"team:{name}", before=snapshot(stored.spec), after=None, reason=reason)


def update_settings(
    *,
    session: Session,
    key: bytes,
    now: datetime,
    actor: str,
    team_name: str,
    settings: TeamSettings,
    expected_version: int,
    settings_changed: Signal | None = None,
) -> bool:
    """Save new settings if nobody saved since ``expected_version``; return whether anything changed.

    Raises StaleSettings with the current values when another manager saved first, so no update is lost
    silently. The version check is a compare-and-swap in the UPDATE itself, so it holds across processes.
    ``settings_changed`` fires after commit (None: no listener in this process).
    """
    stored = teams.get_team(session=session, name=team_name)
    if stored is None:
        raise TeamNotFound(f"no team is named {team_name!r}")
    if stored.settings_version != expected_version:
        raise StaleSettings(stored.settings, stored.settings_version)
    before, after = stored.settings.as_json(), settings.as_json()
    if before == after:
        return False
    result = session.exec(
        update(TeamSettingsRow)
        .where(col(TeamSettingsRow.team_id) == stored.id, col(TeamSettingsRow.version) == expected_version)
        .values(values=after, version=expected_version + 1, updated_at=now)
    )
    if result.rowcount != 1:
        current = teams.get_team(session=session, name=team_name)
        assert current is not None
        raise StaleSettings(current.settings, current.settings_version)
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before.get(k) != after[k]}
    audit.record(session=session, key=key, now=now, actor=actor, action="settings.update", team=team_name,
                 target=f"team:{team_name}", before={k: v["before"] for k, v in changed.items()},
                 after={k: v["after"] for k, v in changed.items()})
    send_after_commit(session, settings_changed, team_name)
    return True


# --- team setup from Slack
#
# The setup modal names people by Slack user; Jira needs an account: the accountId on Jira Cloud, the username on
# Data Center. govbot asks Jira's user search for the member's Slack e-mail and takes the one account it finds.
# Members it cannot match keep a visible placeholder (their e-mail, or their Slack user id when Slack shows no
# e-mail) and are listed to the admin, who corrects them with `govbot team import`.


@dataclass(frozen=True)
class MemberMapping:
    """The spec with members' Jira accounts, and who could not be matched (and why)."""

    spec: TeamSpec
    no_email: list[str] = field(default_factory=list)  # Slack showed no e-mail
    not_found: list[str] = field(default_factory=list)  # Jira found no single account for the e-mail
    jira_problem: str | None = None  # Jira could not be searched (or is not configured): e-mails kept
    searched: bool = False


def with_jira_accounts(spec: TeamSpec, emails: Mapping[str, str | None],
                       find_user: Callable[[str], str | None] | None = None) -> MemberMapping:
    """Each member's Jira account from Jira's user search by Slack e-mail (``find_user``); placeholders otherwise."""
    members: list[MemberSpec] = []
    no_email: list[str] = []
    not_found: list[str] = []
    problem = None
    for member in spec.members:
        email = (emails.get(member.slack) or "").strip()
        account = email or member.slack
        if not email:
            no_email.append(member.slack)
        elif find_user is not None and problem is None:
            try:
                found = find_user(email)
            except TrackerError as error:
                problem = str(error)
                found = None
            if found:
                account = found
            elif problem is None:
                not_found.append(member.slack)
        members.append(member.model_copy(update={"jira": account}))
    return MemberMapping(spec=spec.model_copy(update={"members": members}), no_email=no_email,
                         not_found=not_found, jira_problem=problem, searched=find_user is not None)
