"""What a team is and how it is configured (SPEC §2), validated once for every way in.

The same models validate the settings modal, `govbot team import` and `/govbot setup`, so a value is valid or
not the same way everywhere, and every error names the field and says what is valid. Field names are the
setting names users see (and the modal's block ids).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from govbot.config import SLACK_USER
from govbot.domain.schedule import ScheduleError, validate_rule, zone

TEAM_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"
PROJECT_KEY = r"^[A-Z][A-Z0-9_]{0,9}$"
SLACK_CHANNEL = r"^[CG][A-Z0-9]{2,20}$"
JIRA_FIELD = r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$"
LABEL = r"^[^\s,]{1,255}$"

SlackUser = Annotated[str, StringConstraints(strip_whitespace=True, pattern=SLACK_USER)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, pattern=LABEL)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Seniority = Literal["junior", "mid", "senior"]

DEFAULT_ZONES: dict[int, list[str]] = {1: ["auth", "payments", "data-access"], 2: [], 3: []}
DEFAULT_SURVEY_RRULE = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=14;BYMINUTE=0"
DEFAULT_DIGEST_RRULE = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
# Rules are checked against a fixed instant: validity must not depend on when a file is imported.
RULE_CHECK_TIME = datetime(2026, 1, 5, tzinfo=UTC)


@functools.lru_cache(maxsize=256)
def _checked_rule(value: str) -> str:
    """``validate_rule`` at the fixed check time: a pure function of the text, remembered because every read of
    a team's settings validates both rules again (walking 30 occurrences each, a fifth of a status render's CPU).
    A rule that fails raises each time; nothing is remembered for it."""
    return validate_rule(value, tz="UTC", now=RULE_CHECK_TIME)


class Labels(BaseModel):
    """The Jira labels govbot reads and writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    human_first: Label = "human-first"
    ai_heavy: Label = "ai-heavy"
    refactor: Label = "refactor"
    incident: Label = "incident"
    rollback: Label = "rollback"

    @model_validator(mode="after")
    def _distinct(self) -> Labels:
        values = [v.lower() for v in self.model_dump().values()]
        if len(set(values)) != len(values):
            raise ValueError("each label must be different from the others")
        return self


class TeamSettings(BaseModel):
    """Every team setting with its default and valid range (SPEC §2)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    refactor_every: int = Field(3, ge=2, le=12, description="every Nth sprint is a refactoring sprint")
    refactor_capacity_pct: int = Field(50, ge=10, le=100)
    sprint_length_days: int | None = Field(None, ge=5, le=28, description="empty: from the board, else 14")
    plan_horizon_sprints: int = Field(3, ge=1, le=6)
    track_target_human_first_pct: int = Field(60, ge=0, le=100)
    track_tolerance_pct: int = Field(10, ge=0, le=50)
    junior_min_human_first_pct: int = Field(50, ge=0, le=100)
    senior_review_cap: int = Field(8, ge=1, le=100)
    zones: dict[int, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_ZONES.items()})
    reviewer_field: str | None = Field(None, pattern=JIRA_FIELD)
    jira_comments: bool = False
    survey_rrule: str = DEFAULT_SURVEY_RRULE
    survey_open_hours: int = Field(72, ge=24, le=168)
    survey_reminder_after_hours: int = Field(48, ge=1, le=167)
    anonymity_min_responses: int = Field(5, ge=3, le=50)
    digest_rrule: str = DEFAULT_DIGEST_RRULE
    labels: Labels = Field(default_factory=Labels)
    incident_issue_types: list[Name] = Field(default_factory=lambda: ["Incident"], min_length=1)
    feature_issue_types: list[Name] = Field(default_factory=lambda: ["Story"], min_length=1)
    review_statuses: list[Name] = Field(default_factory=lambda: ["In Review", "Code Review"], min_length=1)

    @field_validator("zones", mode="before")
    @classmethod
    def _zones_shape(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must map zone numbers 1, 2, 3 to lists of Jira component names")
        out: dict[int, list[str]] = {1: [], 2: [], 3: []}
        for key, components in value.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"zone {key!r} is not 1, 2 or 3") from None
            if number not in out:
                raise ValueError(f"zone {number} is not 1, 2 or 3")
            if isinstance(components, str):
                components = [c for c in re.split(r"[,\n]", components)]
            if not isinstance(components, list | tuple):
                raise ValueError(f"zone {number} must be a list of component names")
            out[number] = [str(c).strip() for c in components if str(c).strip()]
        return out

    @field_validator("zones")
    @classmethod
    def _zones_unique(cls, value: dict[int, list[str]]) -> dict[int, list[str]]:
        seen: dict[str, int] = {}
        for number in sorted(value):
            for component in value[number]:
                key = component.casefold()
                if key in seen:
                    where = "twice" if seen[key] == number else f"in zones {seen[key]} and {number}"
                    raise ValueError(f"component {component!r} is listed {where}: list each component once")
                seen[key] = number
        return value

    @field_validator("survey_rrule", "digest_rrule")
    @classmethod
    def _rule(cls, value: str) -> str:
        try:
            return _checked_rule(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("incident_issue_types", "feature_issue_types", "review_statuses")
    @classmethod
    def _distinct_names(cls, value: list[str]) -> list[str]:
        folded = [v.casefold() for v in value]
        if len(set(folded)) != len(folded):
            raise ValueError("lists the same name twice: list each once")
        return value

    @model_validator(mode="after")
    def _reminder_before_close(self) -> TeamSettings:
        if self.survey_reminder_after_hours >= self.survey_open_hours:
            raise ValueError(
                f"survey_reminder_after_hours: the reminder ({self.survey_reminder_after_hours} h) must come before "
                f"the survey closes ({self.survey_open_hours} h)"
            )
        return self

    def zone_of(self, component: str) -> int:
        """The zone of one component (case-insensitive); unlisted components are zone 3."""
        folded = component.casefold()
        for number in (1, 2, 3):
            if folded in (c.casefold() for c in self.zones.get(number, [])):
                return number
        return 3

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (zone keys as strings, as JSON needs)."""
        return self.model_dump(mode="json")


class MemberSpec(BaseModel):
    """A team member: Slack user ↔ Jira account (Cloud accountId or Data Center username)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slack: SlackUser
    jira: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    seniority: Seniority


class TeamSpec(BaseModel):
    """A team as written in a team file or created in the setup modal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, pattern=TEAM_NAME)]
    jira_board_id: int = Field(gt=0)
    jira_project: Annotated[str, StringConstraints(strip_whitespace=True, pattern=PROJECT_KEY)]
    digest_channel: Annotated[str, StringConstraints(strip_whitespace=True, pattern=SLACK_CHANNEL)]
    timezone: str = "UTC"
    cadence_anchor_sprint_id: int | None = Field(None, gt=0)
    managers: list[SlackUser] = Field(min_length=1)
    members: list[MemberSpec] = Field(default_factory=list)
    settings: TeamSettings = Field(default_factory=TeamSettings)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zone(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("managers")
    @classmethod
    def _unique_managers(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists the same manager twice")
        return value

    @field_validator("members")
    @classmethod
    def _unique_members(cls, value: list[MemberSpec]) -> list[MemberSpec]:
        ids = [m.slack for m in value]
        if len(set(ids)) != len(ids):
            raise ValueError("lists the same Slack user twice")
        return value


# What each field of a team file holds, in words: (the field, one entry of it when it is a list).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "name": ("lowercase letters, digits and '-' (at most 40 characters)", None),
    "jira_board_id": ("a Jira board id, a whole number such as 12", None),
    "jira_project": ("a Jira project key such as PAY", None),
    "digest_channel": ("a Slack channel id such as C0123456789", None),
    "timezone": ("an IANA timezone such as Europe/Berlin", None),
    "cadence_anchor_sprint_id": ("a Jira sprint id, a whole number such as 3417", None),
    "managers": ("a list of Slack user ids like U0123ABCD", "a Slack user id like U0123ABCD"),
    "members": ("a list of members like {slack: U0123ABCD, jira: 5b10ac8d82e05b22cc7d4ef5, seniority: mid}",
                "a member like {slack: U0123ABCD, jira: 5b10ac8d82e05b22cc7d4ef5, seniority: mid}"),
    "slack": ("a Slack user id like U0123ABCD", None),
    "jira": ("the member's Jira account: the accountId on Jira Cloud, the username on Data Center", None),
    "seniority": ("junior, mid or senior", None),
    "settings": ("a mapping of settings such as {refactor_every: 3}", None),
    "labels": ("a mapping of labels such as {refactor: refactor}", None),
    "zones": ("a mapping of zone numbers to component names such as {1: [auth, payments]}", None),
    "reviewer_field": ("a Jira field id such as customfield_10050", None),
    "survey_rrule": ("a schedule rule such as FREQ=WEEKLY;BYDAY=TH;BYHOUR=14", None),
    "digest_rrule": ("a schedule rule such as FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", None),
    "incident_issue_types": ("a list of Jira issue type names such as [Incident]", "a Jira issue type name"),
    "feature_issue_types": ("a list of Jira issue type names such as [Story]", "a Jira issue type name"),
    "review_statuses": ("a list of Jira status names such as [In Review]", "a Jira status name"),
}
# What a value of each kind must be, when the field is not in EXPECTED (pydantic's error type → words).
KINDS = {"list": "a list", "string": "text", "int": "a whole number", "bool": "true or false",
         "dict": "a mapping of fields (name: value)", "model": "a mapping of fields (name: value)",
         "float": "a number"}


def describe_error(error: dict[str, Any]) -> tuple[str, str]:
    """Turn one pydantic error (its type, loc and ctx) into (dotted field path, what is wrong or expected)."""
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    last = next((p for p in reversed(loc) if not p.isdigit()), "")
    field, entry = EXPECTED.get(last, (None, None))
    item = bool(loc) and loc[-1].isdigit()
    expected = entry if item else field
    if kind == "extra_forbidden":
        message = "is not a known field"
    elif kind == "missing":
        message = "is required"
    elif kind == "string_pattern_mismatch":
        message = _pattern_sentence(loc)
        message = f"must be {expected}" if expected and message == "has an invalid format" else message
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = _range_sentence(loc, ctx, kind)
        message = f"must be {expected}" if expected and "from" not in message else message
    elif kind == "too_short" and field is not None:
        plural = field.removeprefix("a list of ")
        message = f"must list at least one {entry or plural}" if ctx.get("min_length") == 1 else f"must be {field}"
        message = message.replace("one a ", "one ").replace("one an ", "one ")
    elif kind == "literal_error":
        message = f"must be {expected or str(ctx.get('expected', '')).replace(chr(39), '')}"
    elif kind.split("_")[0] in KINDS and kind.endswith(("_type", "_parsing", "_from_float", "_attributes_type")):
        message = f"must be {expected or KINDS[kind.split('_')[0]]}"
        if kind.startswith("int") and not expected:
            ranged = _range_sentence(loc, ctx, "")
            message = ranged if ranged.startswith("must be a whole number from") else message
    elif kind == "string_too_short":
        message = f"must be {expected}" if expected else "must not be empty"
    elif kind == "string_too_long":
        message = f"must be at most {ctx.get('max_length')} characters"
    elif message.startswith(("Input should be ", "String should ", "List should ", "Value should ")):
        message = "must " + message.split(" should ", 1)[1]  # any other pydantic check, in the same voice
    if message.startswith("survey_reminder_after_hours: "):
        loc, message = [*loc, "survey_reminder_after_hours"], message.split(": ", 1)[1]
    return ".".join(loc), message


def yaml_place(path: str) -> tuple[str, str]:
    """Where a dotted field path is in the YAML, as (the list entry that holds it or "", the field).

    ``members.0.seniority`` is ("`members` entry 1", "`seniority`"); ``settings.zones`` is ("", "`settings.zones`").
    """
    parts = path.split(".") if path else []
    holder, keys = "", list[str]()
    for part in parts:
        if part.isdigit():
            holder = f"{holder + ', ' if holder else ''}`{'.'.join(keys)}` entry {int(part) + 1}" if keys else holder
            keys = []
        else:
            keys.append(part)
    return holder, f"`{'.'.join(keys)}`" if keys else ""


def error_sentence(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence that names the field as written in the YAML and says what is expected,
    e.g. "`managers` must be a list of Slack user ids like U0123ABCD"."""
    path, message = describe_error(error)
    holder, field = yaml_place(path)
    joined = f"{field} {message}" if message.startswith(("must ", "is ")) else f"{field}: {message}"
    if not field:
        return f"{holder} {message}" if holder else f"the team {message}"
    return f"in {holder}, {joined}" if holder else joined


def _pattern_sentence(loc: list[str]) -> str:
    last = next((p for p in reversed(loc) if not p.isdigit()), "")
    return {
        "name": "must be lowercase letters, digits and '-' (at most 40 characters)",
        "jira_project": "must be a Jira project key such as PAY (capital letters and digits)",
        "digest_channel": "must be a Slack channel ID such as C0123456789",
        "managers": "must be a Slack user ID such as U0123ABCD",
        "slack": "must be a Slack user ID such as U0123ABCD",
        "reviewer_field": "must be a Jira field id such as customfield_10050",
    }.get(last, "must be a single word without spaces or commas" if "labels" in loc else "has an invalid format")


def _range_sentence(loc: list[str], ctx: dict[str, Any], kind: str) -> str:
    field = loc[-1] if loc else ""
    info = TeamSettings.model_fields.get(field)
    bounds = {type(m).__name__: m for m in (info.metadata if info else [])}
    low = getattr(bounds.get("Ge"), "ge", None)
    high = getattr(bounds.get("Le"), "le", None)
    if low is not None and high is not None:
        return f"must be a whole number from {low} to {high}"
    limit = next(iter(ctx.values()), "?")
    return {"greater_than_equal": f"must be at least {limit}", "less_than_equal": f"must be at most {limit}",
            "greater_than": f"must be more than {limit}", "less_than": f"must be less than {limit}"}.get(
                kind, "must be a whole number")
