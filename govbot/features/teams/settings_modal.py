"""The settings modal (SPEC §2, §3): every team setting as a Block Kit input, and reading a submission back.

Block ids: each setting's input has the setting's name as its ``block_id``. Settings made of several inputs keep
the setting's name on their main input and name the others ``<setting>__<part>``:

- ``survey_rrule`` / ``digest_rrule`` — the main input is the RRULE text itself ("advanced": when filled it wins);
  the weekly editor that writes the rule is ``<rule>__day``, ``<rule>__time`` and ``<rule>__weeks``;
- ``zones`` — zone 1's component list; zones 2 and 3 are ``zones__2`` and ``zones__3``;
- ``labels`` — the human-first label; the others are ``labels__ai_heavy``, ``labels__refactor``,
  ``labels__incident`` and ``labels__rollback``.

Validation errors are keyed by the block the wrong value came from. Action ids carry the settings version: Slack
keeps what a user typed in an updated view only when block and action ids are unchanged, so a modal refreshed
with someone else's newer settings shows those values instead of the stale ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from govbot.adapters.slack.blocks import (
    seal,
)
from govbot.adapters.slack.ids import CallbackId
from govbot.teamconfig import (
    DEFAULT_DIGEST_RRULE,
    DEFAULT_SURVEY_RRULE,
    Labels,
    TeamSettings,
)

PART = "__"
WEEKDAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
            "SA": "Saturday", "SU": "Sunday"}
MAX_WEEKS = 12
RULE_SETTINGS = {"survey_rrule": DEFAULT_SURVEY_RRULE, "digest_rrule": DEFAULT_DIGEST_RRULE}
ZONE_BLOCKS = {1: "zones", 2: f"zones{PART}2", 3: f"zones{PART}3"}
LABEL_PARTS = list(Labels.model_fields)
LIST_SETTINGS = ("incident_issue_types", "feature_issue_types", "review_statuses")
JIRA_COMMENTS_ON = "on"

# Labels and hints for the number settings; the ranges come from TeamSettings so they cannot drift apart.
NUMBER_SETTINGS: dict[str, tuple[str, str]] = {
    "refactor_every": ("Every Nth sprint is a refactoring sprint", "Sprints between refactoring sprints."),
    "refactor_capacity_pct": ("Refactoring share of a refactoring sprint (%)",
                              "At least this share of the sprint's capacity goes to issues labelled refactor."),
    "sprint_length_days": ("Sprint length (days)",
                           "Leave empty to use the length of the board's last sprints (14 if there are none)."),
    "plan_horizon_sprints": ("Future sprints kept planned in Jira", "How many sprints ahead govbot plans."),
    "track_target_human_first_pct": ("Target human-first share (%)", "ai-heavy is the rest."),
    "track_tolerance_pct": ("Tolerance around the target (± %)", "A split inside target ± tolerance is fine."),
    "junior_min_human_first_pct": ("Juniors' minimum human-first share (%)",
                                   "Of the points assigned to each junior, so juniors keep learning by doing."),
    "senior_review_cap": ("ai-heavy reviews per senior per sprint", "More than this is flagged as review overload."),
    "survey_open_hours": ("Survey open for (hours)", "After this the survey closes and results are computed."),
    "survey_reminder_after_hours": ("Reminder after (hours)",
                                    "Non-responders get one reminder; it must come before the survey closes."),
    "anonymity_min_responses": ("Minimum responses to show results",
                                "Below this, results show only \"not enough responses\"."),
}


class SettingsMetadata(BaseModel):
    """What the settings modal carries through Slack (signed): the team and the settings version it shows."""

    team: str
    version: int
    # The team's row id: a team removed and created again under the same name starts again at version 1, and a
    # form opened for the old team must not save onto the new one.
    team_id: int | None = None


@dataclass(frozen=True)
class WeeklyRule:
    """A rule the weekday + time + "every N weeks" editor can show."""

    day: str
    hour: int
    minute: int
    weeks: int = 1


def parse_weekly(rule: str) -> WeeklyRule | None:
    """The weekly editor's reading of an RRULE, or None when the rule needs the advanced field."""
    parts: dict[str, str] = {}
    for piece in rule.strip().removeprefix("RRULE:").split(";"):
        key, sep, value = piece.partition("=")
        if not sep or key.strip().upper() in parts:
            return None
        parts[key.strip().upper()] = value.strip().upper()
    if set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE"} or parts.get("FREQ") != "WEEKLY":
        return None
    if parts.get("BYDAY") not in WEEKDAYS:
        return None
    numbers = [parts.get("BYHOUR", ""), parts.get("BYMINUTE", ""), parts.get("INTERVAL", "1")]
    if not all(n.isdigit() for n in numbers):
        return None
    hour, minute, weeks = (int(n) for n in numbers)
    if hour > 23 or minute > 59 or not 1 <= weeks <= MAX_WEEKS:
        return None
    return WeeklyRule(day=parts["BYDAY"], hour=hour, minute=minute, weeks=weeks)


def compose_weekly(rule: WeeklyRule) -> str:
    """The RRULE the weekly editor writes."""
    interval = f"INTERVAL={rule.weeks};" if rule.weeks != 1 else ""
    return f"FREQ=WEEKLY;{interval}BYDAY={rule.day};BYHOUR={rule.hour};BYMINUTE={rule.minute}"


def describe_rule(rule: str) -> str:
    """A schedule in words where the weekly editor understands it, else the RRULE itself."""
    weekly = parse_weekly(rule)
    if weekly is None:
        return f"`{rule}`"
    every = "every" if weekly.weeks == 1 else f"every {weekly.weeks} weeks on"
    return f"{every} {WEEKDAYS[weekly.day]} at {weekly.hour:02d}:{weekly.minute:02d}"


def bounds(name: str) -> tuple[int | None, int | None]:
    """The (lowest, highest) value a numeric setting accepts, from its pydantic field."""
    metadata = TeamSettings.model_fields[name].metadata
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    return low, high


# ------------------------------------------------------------------------------------------------ building


def _number_input(name: str, value: int | None, action: str) -> InputBlock:
    label, hint = NUMBER_SETTINGS[name]
    low, high = bounds(name)
    return InputBlock(
        block_id=name,
        label=label,
        hint=f"{hint} From {low} to {high}.",
        optional=TeamSettings.model_fields[name].default is None,
        element=NumberInputElement(action_id=action, is_decimal_allowed=False, min_value=low, max_value=high,
                                   initial_value=value),
    )


def _text_input(block_id: str, label: str, value: str | None, action: str, *, hint: str | None = None,
                optional: bool = False, multiline: bool = False, placeholder: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        hint=hint,
        optional=optional,
        element=PlainTextInputElement(action_id=action, initial_value=value or None, multiline=multiline,
                                      placeholder=placeholder),
    )


def _rule_editor(name: str, title: str, current: str, timezone: str, action: str) -> list[Block]:
    """Weekday + time + every N weeks, then the advanced RRULE field (pre-filled only when the editor can't)."""
    weekly = parse_weekly(current)
    shown = weekly or parse_weekly(RULE_SETTINGS[name])
    assert shown is not None
    days = [Option(value=code, text=day) for code, day in WEEKDAYS.items()]
    return [
        InputBlock(block_id=f"{name}{PART}day", label=f"{title}: day",
                   element=StaticSelectElement(action_id=action, options=days,
                                               initial_option=next(o for o in days if o.value == shown.day))),
        InputBlock(block_id=f"{name}{PART}time", label=f"{title}: time ({timezone})",
                   element=TimePickerElement(action_id=action, initial_time=f"{shown.hour:02d}:{shown.minute:02d}")),
        InputBlock(block_id=f"{name}{PART}weeks", label=f"{title}: every N weeks",
                   hint=f"1 = every week, 2 = every other week (up to {MAX_WEEKS}).",
                   element=NumberInputElement(action_id=action, is_decimal_allowed=False, min_value=1,
                                              max_value=MAX_WEEKS, initial_value=shown.weeks)),
        _text_input(name, f"{title}: advanced RRULE (wins when filled)", None if weekly else current, action,
                    optional=True, placeholder="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0",
                    hint="Leave empty to use the day and time above. An RFC 5545 rule, in the team's timezone, "
                         "firing at most once a day."),
    ]


def _section_header(title: str) -> list[Block]:
    return [DividerBlock(), HeaderBlock(text=title)]


def settings_blocks(*, team_name: str, timezone: str, settings: TeamSettings, version: int,
                    notice: str | None = None) -> list[Block]:
    """Every setting as an input block, pre-filled with ``settings``."""
    action = f"value_v{version}"
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(text=f":warning: {notice}"))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"Team *{team_name}* · times are in the team's timezone, {timezone}")]))

    blocks += _section_header("Refactoring sprints")
    for name in ("refactor_every", "refactor_capacity_pct", "sprint_length_days", "plan_horizon_sprints"):
        blocks.append(_number_input(name, getattr(settings, name), action))

    blocks += _section_header("Two tracks")
    for name in ("track_target_human_first_pct", "track_tolerance_pct", "junior_min_human_first_pct",
                 "senior_review_cap"):
        blocks.append(_number_input(name, getattr(settings, name), action))

    blocks += _section_header("AI code zones")
    zone_text = {1: "Zone 1 — human-only", 2: "Zone 2 — AI-assisted, senior reviewer",
                 3: "Zone 3 — AI-friendly"}
    for number, block_id in ZONE_BLOCKS.items():
        blocks.append(_text_input(block_id, f"{zone_text[number]}: Jira components",
                                  "\n".join(settings.zones.get(number, [])), action, optional=True, multiline=True,
                                  hint="One component per line (or separated by commas), matched case-insensitively."
                                  + (" Unlisted components are zone 3." if number == 3 else "")))

    blocks += _section_header("Jira")
    blocks.append(_text_input("reviewer_field", "Reviewer field", settings.reviewer_field, action, optional=True,
                              placeholder="customfield_10050",
                              hint="The Jira field holding an issue's reviewer. Without it the zone-2 reviewer "
                                   "and review-load rules report \"not configured\"."))
    comment_option = Option(value=JIRA_COMMENTS_ON, text="Also comment on Jira issues that break a rule")
    blocks.append(InputBlock(block_id="jira_comments", label="Jira comments", optional=True,
                             element=CheckboxesElement(action_id=action, options=[comment_option],
                                                       initial_options=[comment_option] if settings.jira_comments
                                                       else None)))
    label_text = {"human_first": "Label: human-first track", "ai_heavy": "Label: ai-heavy track",
                  "refactor": "Label: refactoring work", "incident": "Label: incident", "rollback": "Label: rollback"}
    for part in LABEL_PARTS:
        blocks.append(_text_input(label_block(part), label_text.get(part, f"Label: {part}"),
                                  getattr(settings.labels, part), action))
    list_text = {"incident_issue_types": ("Incident issue types", "An issue of these types, or labelled incident, "
                                          "is an incident."),
                 "feature_issue_types": ("Feature issue types", "Resolved ones count as features shipped."),
                 "review_statuses": ("Review statuses", "Issues in these statuses are in the review queue.")}
    for name in LIST_SETTINGS:
        label, hint = list_text[name]
        blocks.append(_text_input(name, label, "\n".join(getattr(settings, name)), action, multiline=True,
                                  hint=hint + " One per line."))

    blocks += _section_header("Pulse surveys")
    blocks += _rule_editor("survey_rrule", "Survey", settings.survey_rrule, timezone, action)
    for name in ("survey_open_hours", "survey_reminder_after_hours", "anonymity_min_responses"):
        blocks.append(_number_input(name, getattr(settings, name), action))

    blocks += _section_header("Weekly digest")
    blocks += _rule_editor("digest_rrule", "Digest", settings.digest_rrule, timezone, action)
    return blocks


def build_settings_view(*, team_name: str, timezone: str, settings: TeamSettings, version: int, key: bytes,
                        notice: str | None = None, team_id: int | None = None) -> View:
    """The settings modal for one team, with the signed team name and settings version it was opened at."""
    metadata = seal(SettingsMetadata(team=team_name, version=version, team_id=team_id), key=key,
                    purpose=CallbackId.SETTINGS)
    return View(
        type="modal",
        callback_id=CallbackId.SETTINGS,
        title="Team settings",
        submit="Save",
        close="Cancel",
        private_metadata=metadata,
        blocks=settings_blocks(team_name=team_name, timezone=timezone, settings=settings, version=version,
                               notice=notice),
    )


def label_block(part: str) -> str:
    """The block id of one label's input."""
    return "labels" if part == LABEL_PARTS[0] else f"labels{PART}{part}"
