"""The teams feature's texts and blocks, pure: the settings in words, the welcome and the setup confirmation."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, SectionBlock

from govbot.adapters.slack.blocks import escape
from govbot.core.teams import StoredTeam
from govbot.features.teams.service import MemberMapping
from govbot.features.teams.settings_modal import describe_rule
from govbot.teamconfig import TeamSpec


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _names(values: list[str]) -> str:
    return ", ".join(escape(v) for v in values) or "—"


def settings_summary_blocks(team: StoredTeam) -> list[Block]:
    """The team's settings in words."""
    s = team.settings
    tz = escape(team.spec.timezone)
    length = f"{s.sprint_length_days} days" if s.sprint_length_days else "as long as the board's last sprints"
    reviewer = f"`{s.reviewer_field}`" if s.reviewer_field else "not configured (zone-2 and review-load rules are off)"
    labels = ", ".join(f"`{escape(v)}`" for v in s.labels.model_dump().values())
    lines = [
        f"*Refactoring:* every {_ordinal(s.refactor_every)} sprint, at least {s.refactor_capacity_pct}% of its "
        f"capacity · sprints {length} · {s.plan_horizon_sprints} planned ahead",
        f"*Tracks:* human-first {s.track_target_human_first_pct}% ± {s.track_tolerance_pct} "
        f"(ai-heavy {100 - s.track_target_human_first_pct}%) · juniors at least {s.junior_min_human_first_pct}% "
        f"human-first · at most {s.senior_review_cap} ai-heavy reviews per senior per sprint",
        f"*Zones:* 1 (human-only): {_names(s.zones.get(1, []))} · 2 (senior review): {_names(s.zones.get(2, []))}"
        f" · 3 (AI-friendly): {_names(s.zones.get(3, [])) + ' and ' if s.zones.get(3) else ''}everything unlisted",
        f"*Jira:* reviewer field {reviewer} · comments on rule breaks {'on' if s.jira_comments else 'off'} · "
        f"labels {labels} · incidents {_names(s.incident_issue_types)} · features {_names(s.feature_issue_types)}"
        f" · review queue {_names(s.review_statuses)}",
        f"*Surveys:* {describe_rule(s.survey_rrule)} ({tz}) · open {s.survey_open_hours} h · reminder after "
        f"{s.survey_reminder_after_hours} h · results shown from {s.anonymity_min_responses} responses",
        f"*Digest:* {describe_rule(s.digest_rrule)} ({tz})",
    ]
    return [SectionBlock(text="\n".join(lines)[:3000])]


def welcome_text(spec: TeamSpec) -> str:
    """The short welcome posted in a new team's digest channel."""
    managers = ", ".join(f"<@{m}>" for m in spec.managers)
    return (
        f":wave: govbot now looks after team *{spec.name}* (Jira {spec.jira_project}, board {spec.jira_board_id}) "
        f"in this channel: refactoring sprints, pulse surveys, two-track staffing and a weekly digest. "
        f"Managers ({managers}) can change the settings with `/govbot settings`; everyone can see where the team "
        f"stands with `/govbot status` or in govbot's App Home."
    )


def created_text(mapping: MemberMapping) -> str:
    """The confirmation to the admin who created the team, saying how members' Jira accounts were found and which
    members could not be matched."""
    spec = mapping.spec
    text = f"Team *{spec.name}* is created with {len(spec.members)} members and the default settings."
    matched = len(spec.members) - len(mapping.no_email) - len(mapping.not_found)
    fix = "correct it with `govbot team import` (field `jira` of each member)."
    if mapping.jira_problem:
        text += (f" Jira's user search failed ({mapping.jira_problem}), so members' Jira accounts are their Slack "
                 f"e-mails for now: check them, and {fix}")
    elif mapping.searched and matched:
        text += (f" Jira's user search found the account of {matched} member(s) by their Slack e-mail (accountId "
                 "on Jira Cloud, username on Data Center).")
    elif spec.members and not mapping.no_email:
        text += (" Members' Jira accounts were taken from their Slack emails (govbot has no Jira connection to "
                 "check them).")
    if mapping.not_found:
        people = ", ".join(f"<@{u}>" for u in mapping.not_found)
        text += (f" Jira found no single account for the e-mail of {people}: their Jira account is their e-mail for "
                 f"now: {fix}")
    if mapping.no_email:
        people = ", ".join(f"<@{u}>" for u in mapping.no_email)
        text += f" Slack showed no email for {people}, so their Jira account is their Slack user id for now: {fix}"
    return text
