"""The team setup modal (`/govbot setup`): the fields of a team, and reading a submission into a TeamSpec.

Block ids are TeamSpec's field names (``name``, ``jira_board_id``, ``jira_project``, ``digest_channel``,
``timezone``, ``managers``) plus ``seniors``, ``mids`` and ``juniors`` for the members by seniority.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    PlainTextInputElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from govbot.adapters.slack.blocks import sentence, state_value, text_value, whole_number
from govbot.adapters.slack.ids import CallbackId
from govbot.teamconfig import TeamSpec, describe_error

ACTION = "value"
SENIORITY_BLOCKS = {"senior": "seniors", "mid": "mids", "junior": "juniors"}
SPEC_BLOCKS = ("name", "jira_board_id", "jira_project", "digest_channel", "timezone", "managers")


def setup_blocks(*, channel_id: str | None, timezone: str) -> list[Block]:
    """The inputs of the setup modal; the digest channel starts as the channel the command came from."""
    initial_channel = channel_id if channel_id and channel_id[:1] in ("C", "G") else None
    people = {"seniors": "Senior engineers", "mids": "Mid-level engineers", "juniors": "Junior engineers"}
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(
            text="Creates a governed team with the default settings; its managers can change them with "
                 "`/govbot settings`.")]),
        InputBlock(block_id="name", label="Team name", hint="Lowercase letters, digits and '-', e.g. payments.",
                   element=PlainTextInputElement(action_id=ACTION, max_length=40, placeholder="payments")),
        InputBlock(block_id="jira_board_id", label="Jira board id", hint="The scrum board's number, from its URL.",
                   element=NumberInputElement(action_id=ACTION, is_decimal_allowed=False, min_value=1)),
        InputBlock(block_id="jira_project", label="Jira project key", hint="Capital letters and digits, e.g. PAY.",
                   element=PlainTextInputElement(action_id=ACTION, max_length=10, placeholder="PAY")),
        InputBlock(block_id="digest_channel", label="Digest channel",
                   hint="The weekly digest is posted here; commands used here act on this team. Invite govbot.",
                   element=ConversationSelectElement(
                       action_id=ACTION, initial_conversation=initial_channel,
                       filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True))),
        InputBlock(block_id="timezone", label="Timezone", hint="An IANA name such as Europe/Berlin.",
                   element=PlainTextInputElement(action_id=ACTION, initial_value=timezone)),
        InputBlock(block_id="managers", label="Managers", hint="They change settings, overrides and "
                   "acknowledgements.", element=UserMultiSelectElement(action_id=ACTION)),
    ]
    for block_id, label in people.items():
        blocks.append(InputBlock(block_id=block_id, label=label, optional=True,
                                 element=UserMultiSelectElement(action_id=ACTION)))
    return blocks


def build_setup_view(*, channel_id: str | None, timezone: str = "UTC") -> View:
    """The `team_setup` modal."""
    return View(type="modal", callback_id=CallbackId.TEAM_SETUP, title="New governed team", submit="Create",
                close="Cancel", blocks=setup_blocks(channel_id=channel_id, timezone=timezone))


def _users(values: dict[str, Any], block_id: str) -> list[str]:
    return [str(u) for u in state_value(values, block_id).get("selected_users") or []]


def read_setup(values: dict[str, Any]) -> tuple[TeamSpec | None, dict[str, str]]:
    """A draft TeamSpec (members' Jira accounts set to their Slack ids for now), or {block_id: sentence}."""
    errors: dict[str, str] = {}
    board = whole_number(text_value(values, "jira_board_id"))
    if board is None:
        errors["jira_board_id"] = "Enter the board's number, e.g. 12."
    members: list[dict[str, str]] = []
    member_block: list[str] = []
    seen: dict[str, str] = {}
    for seniority, block_id in SENIORITY_BLOCKS.items():
        for user in _users(values, block_id):
            if user in seen:
                errors.setdefault(block_id, f"Each person has one seniority: someone here is also under "
                                            f"{seen[user]}.")
                continue
            seen[user] = block_id
            members.append({"slack": user, "jira": user, "seniority": seniority})
            member_block.append(block_id)
    raw = {
        "name": text_value(values, "name").lower(),
        "jira_board_id": board if board is not None else 1,
        "jira_project": text_value(values, "jira_project").upper(),
        "digest_channel": str(state_value(values, "digest_channel").get("selected_conversation") or ""),
        "timezone": text_value(values, "timezone") or "UTC",
        "managers": _users(values, "managers"),
        "members": members,
    }
    try:
        spec = TeamSpec.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path, message = describe_error(dict(error))
            head, _, rest = path.partition(".")
            if head == "members":
                index = rest.split(".")[0]
                block = member_block[int(index)] if index.isdigit() else "seniors"
            else:
                block = head if head in SPEC_BLOCKS else "name"
            if head == "digest_channel":
                message = "must be a channel (not a direct message)"
            elif head == "managers" and error.get("type") == "too_short":
                message = "must name at least one manager"
            errors.setdefault(block, sentence(message))
        return None, errors
    return (None, errors) if errors else (spec, {})
