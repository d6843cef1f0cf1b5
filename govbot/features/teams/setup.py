"""Creating a team from the setup modal: members' Jira accounts and the welcome message.

The modal names people by Slack user; Jira needs an account. govbot uses the member's Slack email (Jira Cloud
finds users by email, and Data Center usernames are often the email) and falls back to the Slack user id as a
visible placeholder when Slack shows no email (the app lacks ``users:read.email``, or the profile hides it).
The placeholders are listed to the admin, who corrects them with `govbot team import`.
"""

from __future__ import annotations

from collections.abc import Mapping

from govbot.teamconfig import MemberSpec, TeamSpec


def with_jira_accounts(spec: TeamSpec, emails: Mapping[str, str | None]) -> tuple[TeamSpec, list[str]]:
    """The spec with each member's Jira account set to their email; also the Slack ids left as placeholders."""
    members: list[MemberSpec] = []
    placeholders: list[str] = []
    for member in spec.members:
        email = (emails.get(member.slack) or "").strip()
        if not email:
            placeholders.append(member.slack)
        members.append(member.model_copy(update={"jira": email or member.slack}))
    return spec.model_copy(update={"members": members}), placeholders


def welcome_text(spec: TeamSpec) -> str:
    """The short welcome posted in a new team's digest channel."""
    managers = ", ".join(f"<@{m}>" for m in spec.managers)
    return (
        f":wave: govbot now looks after team *{spec.name}* (Jira {spec.jira_project}, board {spec.jira_board_id}) "
        f"in this channel: refactoring sprints, pulse surveys, two-track staffing and a weekly digest. "
        f"Managers ({managers}) can change the settings with `/govbot settings`; everyone can see where the team "
        f"stands with `/govbot status` or in govbot's App Home."
    )


def created_text(spec: TeamSpec, placeholders: list[str]) -> str:
    """The confirmation to the admin who created the team, saying how members' Jira accounts were chosen."""
    text = f"Team *{spec.name}* is created with {len(spec.members)} members and the default settings."
    if spec.members and not placeholders:
        text += " Members' Jira accounts were taken from their Slack emails."
    if placeholders:
        people = ", ".join(f"<@{u}>" for u in placeholders)
        text += (f" Slack showed no email for {people}, so their Jira account is their Slack user id for now: "
                 "correct it with `govbot team import` (field `jira` of each member).")
    return text
