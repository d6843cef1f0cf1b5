"""Reading a submitted settings modal: every field checked, the form validated as a whole, errors per block.

The modal itself is built in ``settings_modal.py``; nothing is saved here.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from govbot.adapters.slack.blocks import (
    checked_values,
    selected_value,
    sentence,
    state_value,
    text_value,
    whole_number,
)
from govbot.features.teams.settings_modal import (
    JIRA_COMMENTS_ON,
    LABEL_PARTS,
    LIST_SETTINGS,
    MAX_WEEKS,
    NUMBER_SETTINGS,
    PART,
    RULE_SETTINGS,
    WEEKDAYS,
    ZONE_BLOCKS,
    WeeklyRule,
    bounds,
    compose_weekly,
    label_block,
    parse_weekly,
)
from govbot.teamconfig import (
    TeamSettings,
    describe_error,
)


def _names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r"[,\n]", text) if n.strip()]


def _read_rule(values: dict[str, Any], name: str, current: str, errors: dict[str, str]) -> str | None:
    """The advanced RRULE when filled, else what the weekly editor says (keeping the stored text when equal)."""
    advanced = text_value(values, name)
    if advanced:
        return advanced
    day_block, time_block, weeks_block = (f"{name}{PART}{p}" for p in ("day", "time", "weeks"))
    if not any(b in values for b in (day_block, time_block, weeks_block)):
        return None  # the form has no editor for this rule: keep the current value
    day = selected_value(values, day_block)
    if day not in WEEKDAYS:
        errors[day_block] = "Choose a day of the week (or write an RRULE in the advanced field)."
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(state_value(values, time_block).get("selected_time")))
    if match is None:
        errors[time_block] = "Choose a time of day such as 09:00."
    weeks = whole_number(text_value(values, weeks_block) or "1")
    if weeks is None or not 1 <= weeks <= MAX_WEEKS:
        errors[weeks_block] = f"Enter a whole number of weeks from 1 to {MAX_WEEKS}."
    if day not in WEEKDAYS or match is None or weeks is None or not 1 <= weeks <= MAX_WEEKS:
        return None
    chosen = WeeklyRule(day=day, hour=int(match.group(1)), minute=int(match.group(2)), weeks=weeks)
    return current if parse_weekly(current) == chosen else compose_weekly(chosen)


def _first_repeat(names: list[str]) -> int | None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name.casefold() in seen:
            return index
        seen.add(name.casefold())
    return None


def _zone_of_repeat(zones: dict[int, list[str]]) -> int:
    seen: set[str] = set()
    for number in sorted(zones):
        for component in zones[number]:
            if component.casefold() in seen:
                return number
            seen.add(component.casefold())
    return 1


def _block_for(path: str, raw: dict[str, Any]) -> str:
    """The block a pydantic error path belongs to."""
    head, _, rest = path.partition(".")
    if head == "zones":
        return ZONE_BLOCKS[_zone_of_repeat(raw["zones"])]
    if head == "labels":
        part = rest.split(".")[0] if rest else None
        if part not in LABEL_PARTS:
            labels = [str(raw["labels"].get(p, "")) for p in LABEL_PARTS]
            repeat = _first_repeat(labels)
            part = LABEL_PARTS[repeat] if repeat is not None else LABEL_PARTS[0]
        return label_block(part)
    if head in TeamSettings.model_fields:
        return head
    return "refactor_every"  # a model-wide problem with no field: shown at the top of the form


def read_settings(values: dict[str, Any], *, current: TeamSettings) -> tuple[TeamSettings | None, dict[str, str]]:
    """Validate a submission as a whole: (new settings, {}) or (None, {block_id: sentence}).

    A setting whose input is missing from the submission keeps its current value; a value that cannot even be
    read gets its own error and is validated as it is now, so the rest of the form is still checked.
    """
    raw: dict[str, Any] = current.model_dump()
    errors: dict[str, str] = {}
    for name in NUMBER_SETTINGS:
        if name not in values:
            continue
        text = text_value(values, name)
        low, high = bounds(name)
        if not text and TeamSettings.model_fields[name].default is None:
            raw[name] = None
        elif (number := whole_number(text)) is None:
            errors[name] = f"Enter a whole number from {low} to {high}."
        else:
            raw[name] = number
    if any(block in values for block in ZONE_BLOCKS.values()):
        raw["zones"] = {n: _names(text_value(values, b)) if b in values else raw["zones"].get(n, [])
                        for n, b in ZONE_BLOCKS.items()}
    if "reviewer_field" in values:
        raw["reviewer_field"] = text_value(values, "reviewer_field") or None
    if "jira_comments" in values:
        raw["jira_comments"] = JIRA_COMMENTS_ON in checked_values(values, "jira_comments")
    for name in RULE_SETTINGS:
        rule = _read_rule(values, name, getattr(current, name), errors)
        if rule is not None:
            raw[name] = rule
    for part in LABEL_PARTS:
        block = label_block(part)
        if block in values:
            if text_value(values, block):
                raw["labels"][part] = text_value(values, block)
            else:
                errors[block] = "Enter a Jira label (one word, no spaces or commas)."
    for name in LIST_SETTINGS:
        if name in values:
            if _names(text_value(values, name)):
                raw[name] = _names(text_value(values, name))
            else:
                errors[name] = "List at least one name, one per line."
    settings = _validate(raw, errors)
    survey_hours = {"survey_open_hours", "survey_reminder_after_hours"}
    if settings is None and errors and not survey_hours & set(errors):
        # The reminder-before-close rule only runs once every field is valid: check again with the other wrong
        # fields as they are now, so a reminder after the close is reported in the same answer.
        now = current.model_dump()
        retry = {**raw, **{e.split(PART)[0]: now[e.split(PART)[0]] for e in errors if e.split(PART)[0] in now}}
        _validate(retry, errors)
    return (None, errors) if errors or settings is None else (settings, {})


def _validate(raw: dict[str, Any], errors: dict[str, str]) -> TeamSettings | None:
    """TeamSettings from ``raw``, or None with each problem added to ``errors`` (first problem per block)."""
    try:
        return TeamSettings.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path, message = describe_error(dict(error))
            errors.setdefault(_block_for(path, raw), sentence(message))
        return None
