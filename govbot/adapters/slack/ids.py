"""Interaction ids (SPEC §3): the stable names integrations and tests rely on. Use these, never literals."""

from __future__ import annotations

from enum import StrEnum


class CallbackId(StrEnum):
    """Modal callback ids."""

    TEAM_SETUP = "team_setup"
    SETTINGS = "settings"
    SURVEY_SUBMIT = "survey_submit"
    VIOLATION_ACK = "violation_ack"


class ActionId(StrEnum):
    """Button action ids."""

    SURVEY_OPEN = "survey_open"
    TRACK_HUMAN_FIRST = "track_human_first"
    TRACK_AI_HEAVY = "track_ai_heavy"
    VIOLATION_ACK = "violation_ack"
    OPEN_SETTINGS = "open_settings"


COMMAND = "/govbot"
