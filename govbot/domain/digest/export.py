"""The digest as one JSON object: the stable interface `govbot digest show --format json` prints.

Field names and shapes are a contract with dashboards (documented in docs/digest.md): add fields, never rename
or remove one. Numbers are rounded for reading (percentages and hours to 0.1, ratios to 0.01); a figure that
cannot be given is null, and ``missing`` says which ones could not be read.
"""

from __future__ import annotations

from typing import Any

from govbot.domain.digest.compose import Digest


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _figure(value: float) -> int | float:
    """Whole numbers as integers (issue counts, whole points), others to 0.01."""
    return int(value) if float(value).is_integer() else round(value, 2)


def to_json(digest: Digest) -> dict[str, Any]:
    """The digest's JSON object (see the module docstring)."""
    figures = digest.figures
    queue = figures.review_queue if figures is not None else None
    people = digest.people
    tracks = digest.tracks
    refactoring = digest.refactoring
    return {
        "team": digest.team,
        "week": digest.week.label,
        "start": digest.span.start.isoformat(),
        "end": digest.span.end.isoformat(),
        "velocity": None
        if figures is None
        else {
            "value": _figure(figures.velocity),
            "unit": figures.unit,
            "previous_mean": _round(digest.velocity_trend.previous_mean, 2),
            "change_pct": _round(digest.velocity_trend.change_pct, 1),
        },
        "features_shipped": None if figures is None else figures.features_shipped,
        "incidents": None if figures is None else figures.incidents,
        "incidents_per_feature": None if figures is None else _round(figures.incidents_per_feature, 2),
        "rollbacks": None if figures is None else figures.rollbacks,
        "review_queue": None
        if queue is None
        else {
            "count": queue.count,
            "median_age_hours": _round(queue.median_age_hours, 1),
            "oldest_age_hours": _round(queue.oldest_age_hours, 1),
        },
        "people": None
        if people is None
        else {
            "burnout_index": _round(people.burnout_index, 1),
            "learning_index": _round(people.learning_index, 1),
            "response_rate": _round(people.response_rate, 1),
        },
        "tracks": None
        if tracks is None
        else {
            "human_first_pct": _round(tracks.human_first_pct, 1),
            "target_pct": tracks.target_pct,
            "open_violations": tracks.violations_by_rule(),
        },
        "refactoring": None
        if refactoring is None
        else {
            "sprint_number": refactoring.sprint_number,
            "is_refactor_sprint": refactoring.is_refactor_sprint,
            "sprints_until_next": refactoring.sprints_until_next,
            "refactor_share_pct": _round(refactoring.refactor_share_pct, 1),
            "capacity_pct": refactoring.capacity_pct,
        },
        "verdict": digest.verdict,
        "flags": [{"kind": flag.kind, "message": flag.message} for flag in digest.flags],
        "missing": list(digest.missing),
    }
