"""The anonymity gate of pulse surveys: nothing below the threshold, comments only once closed.

Pure: plain data in, plain data out. ``govbot.domain.surveys`` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govbot.domain.surveys import SurveyResults

NOT_ENOUGH_RESPONSES = "not enough responses"


@dataclass(frozen=True, slots=True)
class NotEnoughResponses:
    """What is shown instead of results below the anonymity threshold: a message, and no count."""

    message: str = NOT_ENOUGH_RESPONSES


def release_threshold(*, promised: int, current: int) -> int:
    """The anonymity threshold of a survey: the one promised when it opened, or the team's current one if higher
    (raising the setting hides results already collected; lowering it never reveals them)."""
    return max(promised, current)


def gate(results: SurveyResults, *, responses: int, k: int) -> SurveyResults | NotEnoughResponses:
    """Release results only for ``k`` responses or more; comments only once the survey is closed.

    Below ``k`` nothing is released: no index, distribution or comment, and not the count or the response
    rate either, because the rate times the (known) team size gives the count, and a small count tells who
    answered when read next to who was asked.
    """
    if responses < k:
        return NotEnoughResponses()
    if not results.closed and results.comments:
        return replace(results, comments=())
    return results
