"""Pulse surveys: questionnaire texts, validation, indices on hand-computed fixtures, the anonymity gate, flags."""

from __future__ import annotations

import dataclasses
import random

import pytest

from govbot.domain.surveys import (
    BLOCK_IDS,
    BURNOUT,
    QUESTIONNAIRE,
    AnswerErrors,
    Answers,
    Bucket,
    NotEnoughResponses,
    SurveyResults,
    active_items,
    compare,
    compute_results,
    flags,
    gate,
    item,
    rescale,
    validate_answers,
)

# --- the questionnaire, word for word as SPEC §5 publishes it ---

SPEC_BURNOUT_QUESTION = "Using your own definition of burnout, please select one of the answers below"
SPEC_BURNOUT_ANSWERS = [
    "I enjoy my work. I have no symptoms of burnout.",
    "Occasionally I am under stress, and I don't always have as much energy as I once did, but I don't feel burned out.",
    "I am definitely burning out and have one or more symptoms of burnout, such as physical and emotional exhaustion.",
    "The symptoms of burnout that I'm experiencing won't go away. I think about frustration at work a lot.",
    "I feel completely burned out and often wonder if I can go on. I am at the point where I may need some changes or may need to seek some sort of help.",
]
SPEC_QUESTIONS = {
    "review_drain": "Reviewing pull requests this sprint left me drained.",
    "review_hours": "Hours I spent reviewing others' code this week",
    "learning": "This sprint I learned something new about how our system works.",
    "comprehension": "I could explain every change I shipped this sprint to a teammate without help.",
    "ai_share": "Share of my shipped code that AI generated",
}
AGREE = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]


def test_burnout_item_is_asked_exactly_as_published():
    assert BURNOUT.block_id == "burnout"
    assert BURNOUT.label == SPEC_BURNOUT_QUESTION
    assert [(o.value, o.label) for o in BURNOUT.options] == list(enumerate(SPEC_BURNOUT_ANSWERS, start=1))
    assert BURNOUT.validated and BURNOUT.required and BURNOUT.kind == "scale"


def test_other_items_match_the_spec():
    assert BLOCK_IDS == (
        "burnout",
        "review_drain",
        "review_hours",
        "learning",
        "comprehension",
        "ai_share",
        "comment",
    )
    for block_id, text in SPEC_QUESTIONS.items():
        assert item(block_id).label == text
    for block_id in ("review_drain", "learning", "comprehension"):
        assert item(block_id).kind == "scale"
        assert [(o.value, o.label) for o in item(block_id).options] == list(enumerate(AGREE, start=1))
    assert [(o.value, o.label) for o in item("review_hours").options] == list(
        enumerate(["0–2", "3–5", "6–10", "11–20", ">20"], start=1)
    )
    assert [(o.value, o.label) for o in item("ai_share").options] == list(
        enumerate(["<25%", "25–50%", "50–75%", ">75%"], start=1)
    )
    comment = item("comment")
    assert (comment.kind, comment.required, comment.max_chars, comment.options) == ("text", False, 1000, ())
    assert [i.block_id for i in QUESTIONNAIRE if i.validated] == ["burnout"]
    assert [i.block_id for i in QUESTIONNAIRE if not i.required] == ["comment"]


def test_items_can_be_disabled_but_unknown_ids_are_refused():
    assert [i.block_id for i in active_items({"burnout", "ai_share"})] == [
        "review_drain",
        "review_hours",
        "learning",
        "comprehension",
        "comment",
    ]
    assert active_items() == QUESTIONNAIRE
    with pytest.raises(ValueError, match="unknown survey items burnot"):
        active_items({"burnot"})


# --- validation ---

COMPLETE = {
    "burnout": "2",
    "review_drain": "4",
    "review_hours": "3",
    "learning": "5",
    "comprehension": "1",
    "ai_share": "4",
    "comment": None,
}


def test_a_complete_submission_is_stripped_and_typed():
    raw = {**COMPLETE, "burnout": " 2 ", "comment": "  reviews pile up  ", "unrelated_block": "x"}
    assert validate_answers(raw) == Answers(
        burnout=2,
        review_drain=4,
        review_hours=3,
        learning=5,
        comprehension=1,
        ai_share=4,
        comment="reviews pile up",
    )
    assert validate_answers({**COMPLETE, "comment": "   "}).comment is None


def test_each_bad_answer_gets_an_error_on_its_own_block():
    raw = {
        "burnout": "6",
        "review_drain": "",
        "review_hours": "abc",
        "learning": "0",
        "comprehension": None,
        "ai_share": "5",
        "comment": "x" * 1001,
    }
    result = validate_answers(raw)
    assert isinstance(result, AnswerErrors)
    assert result.errors == {
        "burnout": "6 is out of range: choose a value from 1 to 5.",
        "review_drain": "This question needs an answer: choose a value from 1 (strongly disagree) to 5 (strongly agree).",
        "review_hours": "'abc' is not one of the answers: choose one of 0–2, 3–5, 6–10, 11–20, >20.",
        "learning": "0 is out of range: choose a value from 1 (strongly disagree) to 5 (strongly agree).",
        "comprehension": "This question needs an answer: choose a value from 1 (strongly disagree) to 5 (strongly agree).",
        "ai_share": "5 is out of range: choose one of <25%, 25–50%, 50–75%, >75%.",
        "comment": "The comment is 1,001 characters long; keep it to 1,000 characters.",
    }


def test_missing_answers_for_disabled_items_are_fine_and_never_stored():
    raw = {**COMPLETE, "burnout": None, "ai_share": "2", "comment": "y" * 1000}
    answers = validate_answers(raw, disabled={"burnout", "ai_share"})
    assert answers == Answers(
        burnout=None,
        review_drain=4,
        review_hours=3,
        learning=5,
        comprehension=1,
        ai_share=None,
        comment="y" * 1000,
    )
    assert isinstance(validate_answers({}), AnswerErrors)
    assert set(validate_answers({}).errors) == set(BLOCK_IDS) - {"comment"}


# --- indices on a fixture with known answers ---

FIXTURE = [
    # burnout, review_drain, review_hours, learning, comprehension, ai_share, comment
    Answers(1, 2, 1, 5, 4, 1, "More pairing please"),
    Answers(3, 4, 3, 4, 4, 2, None),
    Answers(2, 2, 3, 3, 5, 2, "Reviews pile up on Fridays"),
    Answers(4, 5, 5, 2, 3, 4, None),
    Answers(2, 3, 2, 4, 2, 1, "ok"),
]


def test_indices_are_exactly_right():
    results = compute_results(FIXTURE, invited=8, closed=False, rng=random.Random(1))
    # Burnout: per person (1+2)/2=1.5, (3+4)/2=3.5, (2+2)/2=2, (4+5)/2=4.5, (2+3)/2=2.5; mean 14/5=2.8;
    # (2.8-1)/4*100 = 45.
    assert results.burnout_index == 45.0
    # Burnout level 3+: two of five (3 and 4) = 40 %.
    assert results.burnout_share == 40.0
    # Review drain: (2+4+2+5+3)/5 = 3.2; (3.2-1)/4*100 = 55.
    assert results.review_drain_index == 55.0
    # Learning: per person 4.5, 4, 4, 2.5, 3; mean 18/5 = 3.6; (3.6-1)/4*100 = 65.
    assert results.learning_index == 65.0
    # Comprehension: (4+4+5+3+2)/5 = 3.6 -> 65.
    assert results.comprehension_index == 65.0
    # Response rate: 5 of 8 = 62.5 %.
    assert (results.responses, results.invited, results.response_rate) == (5, 8, 62.5)
    # Review hours answered 1, 3, 3, 5, 2; AI share answered 1, 2, 2, 4, 1.
    assert results.review_hours == (
        Bucket(1, "0–2", 1),
        Bucket(2, "3–5", 1),
        Bucket(3, "6–10", 2),
        Bucket(4, "11–20", 0),
        Bucket(5, ">20", 1),
    )
    assert results.ai_share == (
        Bucket(1, "<25%", 2),
        Bucket(2, "25–50%", 2),
        Bucket(3, "50–75%", 0),
        Bucket(4, ">75%", 1),
    )
    assert results.comments == ()  # still open


def test_a_disabled_item_leaves_the_other_one_alone_in_its_index():
    without = [dataclasses.replace(a, review_drain=None, comprehension=None, ai_share=None) for a in FIXTURE]
    results = compute_results(without, invited=5, closed=True, rng=random.Random(1))
    # Burnout from item 1 only: (1+3+2+4+2)/5 = 2.4; (2.4-1)/4*100 = 35.
    assert results.burnout_index == 35.0
    # Learning from item 4 only: (5+4+3+2+4)/5 = 3.6 -> 65.
    assert results.learning_index == 65.0
    assert results.review_drain_index is None and results.comprehension_index is None
    assert results.ai_share is None
    assert results.response_rate == 100.0


def test_rescale_endpoints():
    assert (rescale(1), rescale(3), rescale(5)) == (0.0, 50.0, 100.0)


def test_comments_only_after_close_in_a_random_order_independent_of_storage_order():
    first = compute_results(FIXTURE, invited=8, closed=True, rng=random.Random(7))
    reversed_storage = compute_results(FIXTURE[::-1], invited=8, closed=True, rng=random.Random(7))
    assert sorted(first.comments) == ["More pairing please", "Reviews pile up on Fridays", "ok"]
    assert first.comments == reversed_storage.comments
    orders = {
        compute_results(FIXTURE, invited=8, closed=True, rng=random.Random(seed)).comments
        for seed in range(40)
    }
    assert len(orders) == 6  # every order of three comments turns up


def test_no_responses_gives_no_indices():
    results = compute_results([], invited=0, closed=True, rng=random.Random(1))
    assert results.burnout_index is None and results.burnout_share is None and results.response_rate is None
    assert results.review_hours is None and results.comments == ()


# --- the anonymity gate ---


def test_below_k_only_a_count_free_message():
    results = compute_results(FIXTURE[:4], invited=8, closed=True, rng=random.Random(1))
    hidden = gate(results, responses=4, k=5)
    assert hidden == NotEnoughResponses()
    assert hidden.message == "not enough responses"
    assert [f.name for f in dataclasses.fields(hidden)] == [
        "message"
    ]  # nothing else to leak, not even a count


def test_at_k_results_are_released():
    results = compute_results(FIXTURE, invited=8, closed=True, rng=random.Random(1))
    assert gate(results, responses=5, k=5) is results
    assert len(results.comments) == 3


def test_the_gate_withholds_comments_of_an_open_survey():
    closed = compute_results(FIXTURE, invited=8, closed=True, rng=random.Random(1))
    still_open = dataclasses.replace(closed, closed=False)
    released = gate(still_open, responses=5, k=3)
    assert isinstance(released, SurveyResults)
    assert released.comments == () and released.burnout_index == 45.0


# --- comparison and flags ---


def results_with(burnout_index: float | None, **others) -> SurveyResults:
    base = compute_results(FIXTURE, invited=8, closed=True, rng=random.Random(1))
    return dataclasses.replace(base, burnout_index=burnout_index, **others)


def test_deltas_against_the_previous_survey():
    current = results_with(50.0, learning_index=60.0, comprehension_index=None)
    previous = results_with(45.0, learning_index=65.0)
    deltas = compare(current, previous)
    assert (deltas.burnout_index, deltas.learning_index) == (5.0, -5.0)
    assert deltas.comprehension_index is None
    assert deltas.review_drain_index == 0.0
    assert compare(current, None).burnout_index is None


@pytest.mark.parametrize(
    ("before", "now", "rise_flagged"),
    [(40.0, 49.9, False), (40.0, 50.0, True), (30.2, 40.2, True), (30.3, 40.2, False), (50.0, 45.0, False)],
)
def test_a_rise_of_ten_points_is_flagged(before, now, rise_flagged):
    kinds = [f.kind for f in flags(results_with(now), results_with(before))]
    assert ("burnout_rise" in kinds) == rise_flagged


def test_the_rise_flag_says_what_happened():
    (flag,) = flags(results_with(52.5), results_with(40.0))
    assert flag.message == "The burnout index rose 12.5 points since the last survey, from 40.0 to 52.5."


@pytest.mark.parametrize(("value", "high_flagged"), [(60.0, False), (60.1, True), (100.0, True)])
def test_a_value_above_sixty_is_flagged(value, high_flagged):
    found = flags(results_with(value), None)
    assert [f.kind for f in found] == (["burnout_high"] if high_flagged else [])
    if high_flagged:
        assert found[0].message == f"The burnout index is {value:.1f}, above 60."


def test_both_flags_and_none_without_an_index():
    assert [f.kind for f in flags(results_with(72.5), results_with(55.0))] == ["burnout_rise", "burnout_high"]
    assert flags(results_with(None), results_with(10.0)) == []
    assert [f.kind for f in flags(results_with(61.0), results_with(None))] == ["burnout_high"]
