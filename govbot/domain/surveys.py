"""Pulse surveys: the questionnaire, answer validation, indices, the anonymity gate and flags.

Pure: plain dataclasses in and out; randomness comes from an injected ``random.Random``.
SPEC §5 is the contract.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

# The anonymity gate has a module of its own; its names are part of this one's too.
from govbot.domain.anonymity import NOT_ENOUGH_RESPONSES as NOT_ENOUGH_RESPONSES
from govbot.domain.anonymity import NotEnoughResponses as NotEnoughResponses
from govbot.domain.anonymity import gate as gate
from govbot.domain.anonymity import release_threshold as release_threshold

ItemKind = Literal["scale", "choice", "text"]

COMMENT_MAX_CHARS = 1000
BURNOUT_RISE_POINTS = 10.0  # a rise of this many index points or more is flagged
BURNOUT_HIGH = 60.0  # an index strictly above this is flagged
BURNOUT_LEVEL = 3  # answering 3 or more on the burnout item counts as burnout


# --- the questionnaire ---


@dataclass(frozen=True, slots=True)
class Option:
    """One answer of a closed item: the stored value and the text shown."""

    value: int
    label: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question of the survey; ``block_id`` is its id in the survey modal and in stored answers."""

    block_id: str
    label: str
    kind: ItemKind
    options: tuple[Option, ...] = ()
    validated: bool = False  # a published instrument: asked word for word, never reworded
    required: bool = True
    max_chars: int | None = None


def _options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(value=i, label=label) for i, label in enumerate(labels, start=1))


AGREEMENT = _options("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")

# The Mini-Z / Physician Worklife Study single-item burnout measure, exactly as SPEC §5 publishes it.
BURNOUT = Item(
    block_id="burnout",
    label="Using your own definition of burnout, please select one of the answers below",
    kind="scale",
    options=_options(
        "I enjoy my work. I have no symptoms of burnout.",
        "Occasionally I am under stress, and I don't always have as much energy as I once did, "
        "but I don't feel burned out.",
        "I am definitely burning out and have one or more symptoms of burnout, "
        "such as physical and emotional exhaustion.",
        "The symptoms of burnout that I'm experiencing won't go away. "
        "I think about frustration at work a lot.",
        "I feel completely burned out and often wonder if I can go on. "
        "I am at the point where I may need some changes or may need to seek some sort of help.",
    ),
    validated=True,
)

QUESTIONNAIRE: tuple[Item, ...] = (
    BURNOUT,
    Item("review_drain", "Reviewing pull requests this sprint left me drained.", "scale", AGREEMENT),
    Item(
        "review_hours",
        "Hours I spent reviewing others' code this week",
        "choice",
        _options("0–2", "3–5", "6–10", "11–20", ">20"),
    ),
    Item("learning", "This sprint I learned something new about how our system works.", "scale", AGREEMENT),
    Item(
        "comprehension",
        "I could explain every change I shipped this sprint to a teammate without help.",
        "scale",
        AGREEMENT,
    ),
    Item(
        "ai_share",
        "Share of my shipped code that AI generated",
        "choice",
        _options("<25%", "25–50%", "50–75%", ">75%"),
    ),
    Item(
        "comment",
        "Anything else you would like to tell us? (optional)",
        "text",
        required=False,
        max_chars=COMMENT_MAX_CHARS,
    ),
)
BLOCK_IDS: tuple[str, ...] = tuple(item.block_id for item in QUESTIONNAIRE)
_BY_ID = {item.block_id: item for item in QUESTIONNAIRE}


def item(block_id: str) -> Item:
    """The questionnaire item with this block id."""
    return _BY_ID[block_id]


def active_items(disabled: Collection[str] = ()) -> tuple[Item, ...]:
    """The items a team asks, in questionnaire order, without the ones its managers disabled.

    Managers may disable any item, the validated burnout item included, but there is no way to reword an item:
    the texts are fixed here, so the validated measure is always asked exactly as published.
    """
    unknown = sorted(set(disabled) - set(BLOCK_IDS))
    if unknown:
        raise ValueError(f"unknown survey items {', '.join(unknown)}: the items are {', '.join(BLOCK_IDS)}")
    return tuple(item for item in QUESTIONNAIRE if item.block_id not in disabled)


# --- answers ---


@dataclass(frozen=True, slots=True)
class Answers:
    """One person's answers, validated; None for an item not asked (or the comment left empty)."""

    burnout: int | None = None
    review_drain: int | None = None
    review_hours: int | None = None
    learning: int | None = None
    comprehension: int | None = None
    ai_share: int | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerErrors:
    """Why a submission was refused: one sentence per ``block_id``, ready for a modal's ``errors``."""

    errors: Mapping[str, str]


def _choices_sentence(item: Item) -> str:
    if item.kind == "scale" and item.options == AGREEMENT:
        return "choose a value from 1 (strongly disagree) to 5 (strongly agree)"
    if item.kind == "scale":
        return f"choose a value from 1 to {len(item.options)}"
    return "choose one of " + ", ".join(option.label for option in item.options)


def _validate_choice(item: Item, text: str) -> int | str:
    """The chosen option's value, or the error sentence."""
    try:
        value = int(text)
    except ValueError:
        return f"{text!r} is not one of the answers: {_choices_sentence(item)}."
    if value not in {option.value for option in item.options}:
        return f"{value} is out of range: {_choices_sentence(item)}."
    return value


def validate_answers(
    raw: Mapping[str, str | None], *, disabled: Collection[str] = ()
) -> Answers | AnswerErrors:
    """Check a submission against the active items: every required answer present, every value an option.

    Values are option values as text (``"3"``), whitespace stripped; an empty value counts as no answer.
    Answers to disabled or unknown blocks are ignored and never stored.
    """
    values: dict[str, int | str | None] = {}
    errors: dict[str, str] = {}
    for item in active_items(disabled):
        text = (raw.get(item.block_id) or "").strip()
        if not text:
            if item.required:
                errors[item.block_id] = f"This question needs an answer: {_choices_sentence(item)}."
            values[item.block_id] = None
        elif item.kind == "text":
            limit = item.max_chars or COMMENT_MAX_CHARS
            if len(text) > limit:
                errors[item.block_id] = (
                    f"The comment is {len(text):,} characters long; keep it to {limit:,} characters."
                )
            values[item.block_id] = text
        else:
            checked = _validate_choice(item, text)
            if isinstance(checked, str):
                errors[item.block_id] = checked
            else:
                values[item.block_id] = checked
    if errors:
        return AnswerErrors(errors=errors)
    return Answers(**values)  # type: ignore[arg-type]  # keys are Answers' fields, types checked above


# --- results ---


@dataclass(frozen=True, slots=True)
class Bucket:
    """How many respondents chose one option of a choice item."""

    value: int
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class SurveyResults:
    """Aggregate results of one survey. Indices are 0–100 and None when no one answered the items they need.

    Formulas (a 1–5 mean m is rescaled as ``(m - 1) / 4 * 100``):
    - ``burnout_index``: each respondent's mean of items 1–2 (one of them alone when the other is not asked),
      averaged over respondents, rescaled. Higher is worse.
    - ``burnout_share``: percentage of item-1 respondents answering 3 or more.
    - ``review_drain_index``: item 2's mean, rescaled. Higher is worse.
    - ``learning_index``: like the burnout index, over items 4–5. Higher is better.
    - ``comprehension_index``: item 5's mean, rescaled. Higher is better.
    - ``response_rate``: responses / invited, as a percentage (None when nobody was invited).
    - ``review_hours`` / ``ai_share``: respondents per option, every option listed (None when not asked).
    - ``comments``: only once the survey is closed, in a random order.
    """

    responses: int
    invited: int
    response_rate: float | None
    burnout_index: float | None
    burnout_share: float | None
    review_drain_index: float | None
    learning_index: float | None
    comprehension_index: float | None
    review_hours: tuple[Bucket, ...] | None
    ai_share: tuple[Bucket, ...] | None
    comments: tuple[str, ...]
    closed: bool


def rescale(mean: float | Fraction) -> float:
    """Map a mean on the 1–5 scale to 0–100."""
    return float((Fraction(mean) - 1) / 4 * 100)


# Means are exact fractions, rounded to float once at the end, so an index is the correctly rounded value of
# its formula (a mean of 2.8 gives exactly 45.0, not 44.99999999999999).


def _mean(values: Sequence[int | Fraction]) -> Fraction | None:
    return Fraction(sum(values)) / len(values) if values else None


def _pair_index(answers: Sequence[Answers], first: str, second: str) -> float | None:
    per_person = []
    for answer in answers:
        given = [v for v in (getattr(answer, first), getattr(answer, second)) if v is not None]
        if given:
            per_person.append(Fraction(sum(given), len(given)))
    mean = _mean(per_person)
    return None if mean is None else rescale(mean)


def _item_index(answers: Sequence[Answers], block_id: str) -> float | None:
    mean = _mean([v for a in answers if (v := getattr(a, block_id)) is not None])
    return None if mean is None else rescale(mean)


def _percentage(part: int, whole: int) -> float | None:
    return float(Fraction(part * 100, whole)) if whole > 0 else None


def _distribution(answers: Sequence[Answers], block_id: str) -> tuple[Bucket, ...] | None:
    chosen = [v for a in answers if (v := getattr(a, block_id)) is not None]
    if not chosen:
        return None
    return tuple(Bucket(o.value, o.label, chosen.count(o.value)) for o in item(block_id).options)


def compute_results(
    answers: Sequence[Answers], *, invited: int, closed: bool, rng: random.Random
) -> SurveyResults:
    """Aggregate the responses of one survey (see SurveyResults for the formulas); no anonymity gate here."""
    burnout = [a.burnout for a in answers if a.burnout is not None]
    comments: list[str] = []
    if closed:
        # Sorting first makes the shown order depend only on the comments and the random source, never on the
        # order responses were stored in (which follows the order people answered).
        comments = sorted(a.comment for a in answers if a.comment)
        rng.shuffle(comments)
    return SurveyResults(
        responses=len(answers),
        invited=invited,
        response_rate=_percentage(len(answers), invited),
        burnout_index=_pair_index(answers, "burnout", "review_drain"),
        burnout_share=_percentage(sum(1 for v in burnout if v >= BURNOUT_LEVEL), len(burnout)),
        review_drain_index=_item_index(answers, "review_drain"),
        learning_index=_pair_index(answers, "learning", "comprehension"),
        comprehension_index=_item_index(answers, "comprehension"),
        review_hours=_distribution(answers, "review_hours"),
        ai_share=_distribution(answers, "ai_share"),
        comments=tuple(comments),
        closed=closed,
    )


# --- comparison and flags ---

INDEX_NAMES: tuple[str, ...] = (
    "burnout_index",
    "burnout_share",
    "review_drain_index",
    "learning_index",
    "comprehension_index",
    "response_rate",
)


@dataclass(frozen=True, slots=True)
class Deltas:
    """Change of each index against the previous closed survey, in points; None when either side lacks it."""

    burnout_index: float | None
    burnout_share: float | None
    review_drain_index: float | None
    learning_index: float | None
    comprehension_index: float | None
    response_rate: float | None


def compare(current: SurveyResults, previous: SurveyResults | None) -> Deltas:
    """Deltas of every index, current minus previous."""
    values: dict[str, float | None] = {}
    for name in INDEX_NAMES:
        now_value = getattr(current, name)
        before = None if previous is None else getattr(previous, name)
        values[name] = None if now_value is None or before is None else now_value - before
    return Deltas(**values)


@dataclass(frozen=True, slots=True)
class Flag:
    """A burnout signal the digest calls out, with a sentence for people."""

    kind: Literal["burnout_rise", "burnout_high"]
    message: str


def flags(current: SurveyResults, previous: SurveyResults | None) -> list[Flag]:
    """Flag a burnout index rise of 10 points or more, and an index above 60.

    ``previous`` is the last closed survey whose results passed the anonymity gate (None if there is none).
    """
    found: list[Flag] = []
    value = current.burnout_index
    if value is None:
        return found
    before = None if previous is None else previous.burnout_index
    # Rounded so that float noise (40.2 - 30.2 = 10.000000000000004, or 9.99999...) cannot decide a flag.
    if before is not None and round(value - before, 6) >= BURNOUT_RISE_POINTS:
        found.append(
            Flag(
                "burnout_rise",
                f"The burnout index rose {value - before:.1f} points since the last survey, "
                f"from {before:.1f} to {value:.1f}.",
            )
        )
    if round(value, 6) > BURNOUT_HIGH:
        found.append(Flag("burnout_high", f"The burnout index is {value:.1f}, above {BURNOUT_HIGH:.0f}."))
    return found
