"""Block Kit for pulse surveys: invitation and reminder DMs, the survey modal, notices, results and status.

Pure builders over ``slack_sdk.models``; the questionnaire itself (texts, options, order) comes from
``govbot.domain.surveys`` so there is exactly one copy of the validated wording.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from govbot.adapters.slack.blocks import escape
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.domain.surveys import (
    NOT_ENOUGH_RESPONSES,
    Bucket,
    Deltas,
    Flag,
    Item,
    NotEnoughResponses,
    SurveyResults,
    active_items,
)

# Every answer element has this action_id; the block_id (SPEC §3) says which question it answers.
ANSWER_ACTION = "answer"
MODAL_TITLE = "Pulse survey"
SECTION_CHARS = 2900  # Slack allows 3,000 characters of text in a section block


class SurveyModalMetadata(BaseModel):
    """What the survey modal carries in ``private_metadata``: which survey of which team it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Bounded like the database's integers, so a forged value is refused instead of overflowing a query.
    survey_id: int = Field(gt=0, lt=2**31)
    team_id: int = Field(gt=0, lt=2**31)

    def dump(self) -> str:
        """The compact JSON Slack stores with the view."""
        return self.model_dump_json()

    @classmethod
    def load(cls, text: str | None) -> SurveyModalMetadata | None:
        """Parse private_metadata; None when it is missing or not ours."""
        try:
            return cls.model_validate_json(text or "")
        except ValidationError:
            return None


def when_text(moment: datetime, tz: str) -> str:
    """A time as people of the team read it, e.g. ``Thu 26 Nov 14:00 (Europe/Berlin)``."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M") + f" ({tz})"


# --- messages ---


def invitation_message(
    *, survey_id: int, team_name: str, questions: int, closes: str, k: int, reminder: bool = False
) -> tuple[str, list[Block]]:
    """The DM with the ``survey_open`` button: plain-text fallback and blocks (also used for the reminder)."""
    if reminder:
        text = (f"Reminder: the pulse survey for team {team_name} is open until {closes}. It takes about two "
                "minutes and is anonymous.")
    else:
        text = (f"Pulse survey for team {team_name}: {questions} short questions, about two minutes, anonymous. "
                f"Open until {closes}.")
    shown = f"*{escape(text)}*" if reminder else escape(text)
    button = ButtonElement(text="Answer the survey", action_id=ActionId.SURVEY_OPEN, value=str(survey_id),
                           style="primary")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=shown)),
        ActionsBlock(block_id="survey_invitation", elements=[button]),
        ContextBlock(elements=[MarkdownTextObject(text=anonymity_note(k))]),
    ]
    return text, blocks


def anonymity_note(k: int) -> str:
    """The promise every survey surface repeats."""
    return (f"Your answers are stored without your name or any link to you. Results are shown only when at "
            f"least {k} people answered, and comments only after the survey closes, in random order.")


def close_message(*, team_name: str, lines: Sequence[str]) -> str:
    """The channel note posted when a survey closes."""
    head = f"The pulse survey for team {team_name} has closed. `/govbot survey results` shows the results."
    return "\n".join([head, *lines])


# --- the survey modal ---


def _answer_options(item: Item) -> list[Option]:
    # Slack caps option text at 75 characters; the validated burnout answers are longer, so they are printed
    # in full above the input and the radio buttons carry their numbers only (never a shortened paraphrase).
    if item.validated:
        return [Option(value=str(o.value), text=str(o.value)) for o in item.options]
    return [Option(value=str(o.value), text=o.label) for o in item.options]


def _item_blocks(item: Item) -> list[Block]:
    optional = not item.required
    if item.kind == "text":
        text = PlainTextInputElement(action_id=ANSWER_ACTION, multiline=True, max_length=item.max_chars)
        return [InputBlock(block_id=item.block_id, label=item.label, element=text, optional=optional)]
    radio = RadioButtonsElement(action_id=ANSWER_ACTION, options=_answer_options(item))
    if not item.validated:
        return [InputBlock(block_id=item.block_id, label=item.label, element=radio, optional=optional)]
    statements = "\n".join(f"*{o.value}.* {o.label}" for o in item.options)
    return [
        SectionBlock(block_id=f"{item.block_id}_statements",
                     text=MarkdownTextObject(text=f"*{item.label}:*\n{statements}")),
        InputBlock(block_id=item.block_id, label="Your answer: the number of the statement above",
                   element=radio, optional=optional),
    ]


def survey_modal(*, survey_id: int, team_id: int, team_name: str, disabled: Collection[str], closes: str,
                 k: int) -> View:
    """The ``survey_submit`` modal: each active item under its SPEC block id, in questionnaire order."""
    blocks: list[Block] = [
        SectionBlock(block_id="survey_intro", text=MarkdownTextObject(
            text=f"Team *{escape(team_name)}* · open until {closes}")),
        ContextBlock(block_id="survey_anonymity", elements=[MarkdownTextObject(text=anonymity_note(k))]),
    ]
    for item in active_items(disabled):
        blocks.extend(_item_blocks(item))
    return View(
        type="modal",
        callback_id=CallbackId.SURVEY_SUBMIT,
        title=MODAL_TITLE,
        submit="Submit",
        close="Cancel",
        private_metadata=SurveyModalMetadata(survey_id=survey_id, team_id=team_id).dump(),
        blocks=blocks,
    )


def notice_modal(text: str, *, title: str = MODAL_TITLE) -> View:
    """A modal with one message and a Close button (refusals, thanks)."""
    return View(type="modal", title=title, close="Close",
                blocks=[SectionBlock(block_id="notice", text=MarkdownTextObject(text=text))])


def thanks_modal(k: int) -> View:
    """What replaces the survey modal once the answers are stored."""
    text = f"Thank you: your answers are stored, anonymously. {anonymity_note(k)}"
    return notice_modal(text, title="Thank you")


def submitted_answers(values: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    """The raw answer per block id from a view's ``state.values`` (radio: the option's value; text: text)."""
    answers: dict[str, str | None] = {}
    for block_id, actions in values.items():
        if not isinstance(actions, Mapping):
            continue
        for action in actions.values():
            if not isinstance(action, Mapping):
                continue
            if "selected_option" in action:
                selected = action.get("selected_option")
                answers[block_id] = selected.get("value") if isinstance(selected, Mapping) else None
            else:
                value = action.get("value")
                answers[block_id] = value if isinstance(value, str) else None
    return answers


def state_values(answers: Mapping[str, int | str | None]) -> dict[str, dict[str, Any]]:
    """The ``state.values`` Slack would send for these answers (the demo and tests submit through it)."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, answer in answers.items():
        if block_id == "comment":
            values[block_id] = {ANSWER_ACTION: {"type": "plain_text_input", "value": answer}}
        else:
            selected = None if answer is None else {"text": {"type": "plain_text", "text": str(answer)},
                                                     "value": str(answer)}
            values[block_id] = {ANSWER_ACTION: {"type": "radio_buttons", "selected_option": selected}}
    return values


# --- results and status ---


@dataclass(frozen=True)
class ResultsText:
    """What to print for one closed survey: already gated, compared and flagged by the service."""

    team_name: str
    closed: str
    shown: SurveyResults | NotEnoughResponses
    deltas: Deltas | None
    flags: Sequence[Flag]
    k: int


def _delta(deltas: Deltas | None, name: str) -> str:
    value = None if deltas is None else getattr(deltas, name)
    if value is None:
        return ""
    if round(value, 1) == 0:
        return " (no change since the last survey)"
    return f" ({value:+.1f} since the last survey)".replace("-", "−")


def _distribution(buckets: Sequence[Bucket] | None) -> str:
    return "not asked" if buckets is None else " · ".join(f"{b.label}: {b.count}" for b in buckets)


def _index(value: float | None, unit: str = " / 100") -> str:
    return "not asked" if value is None else f"{value:.1f}{unit}"


def result_lines(view: ResultsText, *, with_comments: bool = True) -> list[str]:
    """The results of one survey as mrkdwn lines; below the threshold only "not enough responses"."""
    head = f"*Pulse survey — team {escape(view.team_name)}, closed {view.closed}*"
    shown = view.shown
    if isinstance(shown, NotEnoughResponses):
        return [head, f"{NOT_ENOUGH_RESPONSES.capitalize()}: results are shown only when at least {view.k} "
                      "people answered."]
    rate = "n/a" if shown.response_rate is None else f"{shown.response_rate:.1f}%"
    responded = f"{shown.responses} of {shown.invited} invited ({rate})"

    def figure(label: str, name: str, *, unit: str = " / 100", note: str = "") -> str:
        return f"{label}: {_index(getattr(shown, name), unit)}{note}{_delta(view.deltas, name)}"

    lines = [
        head,
        f"Responses: {responded}{_delta(view.deltas, 'response_rate')}",
        figure("Burnout index", "burnout_index", note=" (higher is worse)"),
        figure("At burnout level 3 or more", "burnout_share", unit="%"),
        figure("Review drain", "review_drain_index"),
        figure("Learning index", "learning_index", note=" (higher is better)"),
        figure("Comprehension", "comprehension_index"),
        f"Hours reviewing others' code per week: {_distribution(shown.review_hours)}",
        f"Share of shipped code AI generated: {_distribution(shown.ai_share)}",
    ]
    lines.extend(f":warning: {flag.message}" for flag in view.flags)
    if shown.comments and with_comments:
        lines.append("Comments (in random order):")
        lines.extend("> " + escape(comment).replace("\n", "\n> ") for comment in shown.comments)
    return lines


def headline(shown: SurveyResults | NotEnoughResponses, *, k: int) -> str:
    """The few figures of a closed survey for status and App Home (or why they are hidden)."""
    if isinstance(shown, NotEnoughResponses):
        return f"{NOT_ENOUGH_RESPONSES} (results need at least {k})"
    rate = "n/a" if shown.response_rate is None else f"{shown.response_rate:.0f}%"
    burnout, learning = _index(shown.burnout_index, ""), _index(shown.learning_index, "")
    return f"burnout index {burnout}, learning index {learning}, response rate {rate}"


def open_survey_line(*, opened: str, closes: str, remind: str, invited: int, responses: int | None,
                     rate: float | None, k: int) -> str:
    """One line on the open survey; the response rate only from ``k`` responses on (like every result)."""
    if responses is None or rate is None:
        progress = f"fewer than {k} responses so far"
    else:
        progress = f"{responses} of {invited} responded ({rate:.1f}%)"
    return (f"Open since {opened}, closes {closes}: {invited} invited, {progress}; "
            f"non-responders are reminded {remind}.")


def text_blocks(lines: Sequence[str], *, max_blocks: int = 40) -> list[Block]:
    """Lines as section blocks under Slack's limits (3,000 characters a section, 50 blocks a message)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) + 1 > SECTION_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(line[:SECTION_CHARS])
        size += len(line) + 1
    kept = chunks[:max_blocks]
    if len(chunks) > max_blocks:
        kept[-1] = [*kept[-1][:-1], "… (cut here: a Slack message cannot hold more)"]
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))) for chunk in kept if chunk]

