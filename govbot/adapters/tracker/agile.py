"""Jira Agile: boards and sprints (read, create, partial update, move issues)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from govbot.adapters.tracker.client import (
    AGILE,
    SPRINT_STATES,
    BoardHasNoSprints,
    JiraClient,
    TrackerError,
    _parse_time,
    _positive_id,
)
from govbot.adapters.tracker.jql import validate_issue_key
from govbot.domain.work import Board, BoardType, Sprint

SPRINT_PAGE_SIZE = 50
MOVE_BATCH_SIZE = 50  # Jira moves at most 50 issues into a sprint per request
BOARD_TYPES: tuple[BoardType, ...] = ("scrum", "kanban", "simple")
NO_SPRINTS = re.compile(r"does(?: not|n't) support sprints", re.IGNORECASE)


class JiraAgile(JiraClient):
    """Boards and sprints over the Agile REST API."""

    def board(self, board_id: int) -> Board:
        """The board's name, type, project and estimation field, from its configuration (one request: the
        configuration names the board too; the board itself is read only when it does not)."""
        board_id = _positive_id(board_id, "board")
        config = self._board_configuration(board_id)
        location = config.get("location") or {}
        project_key = location.get("key") if location.get("type") == "project" else None
        if not config.get("type") or not config.get("name"):
            raw = self._call(
                f"reading board {board_id}",
                lambda: self._jira._get_json(f"board/{board_id}", base=AGILE),
                not_found=_board_not_found(board_id),
            )
            config = {**config, "type": raw.get("type"), "name": raw.get("name")}
            project_key = (raw.get("location") or {}).get("projectKey") or project_key
        kind = str(config.get("type") or "").lower()
        return Board(
            id=board_id,
            name=str(config.get("name") or ""),
            type=kind if kind in BOARD_TYPES else "simple",  # type: ignore[arg-type]
            project_key=project_key,
            estimation_field=_estimation_of(config),
        )

    def estimation_field(self, board_id: int) -> str | None:
        """The field the board estimates with (e.g. customfield_10016), or None when it counts issues."""
        return _estimation_of(self._board_configuration(_positive_id(board_id, "board")))

    def _board_configuration(self, board_id: int) -> dict:
        return self._call(
            f"reading board {board_id}",
            lambda: self._jira._get_json(f"board/{board_id}/configuration", base=AGILE),
            not_found=_board_not_found(board_id),
        )

    def sprints(self, board_id: int, *, states: Sequence[str] = SPRINT_STATES) -> list[Sprint]:
        """The board's sprints in ``states``, oldest first; BoardHasNoSprints for a Kanban board."""
        board_id = _positive_id(board_id, "board")
        unknown = [s for s in states if s not in SPRINT_STATES]
        if unknown or isinstance(states, str) or not states:
            raise ValueError("sprint states must be a non-empty list of future, active and closed")

        def no_sprints(status: int | None, detail: str) -> TrackerError | None:
            if status == 400 and NO_SPRINTS.search(detail):
                return BoardHasNoSprints(
                    f"Jira board {board_id} has no sprints (it is a Kanban board): govbot needs a Scrum "
                    "board, so check the team's jira_board_id.",
                    status=status,
                )
            return None

        found: list[Sprint] = []
        start_at = 0
        while True:
            params = {"state": ",".join(states), "startAt": start_at, "maxResults": SPRINT_PAGE_SIZE}
            page = self._call(
                f"reading the sprints of board {board_id}",
                partial(self._jira._get_json, f"board/{board_id}/sprint", params=params, base=AGILE),
                not_found=_board_not_found(board_id),
                special=no_sprints,
            )
            values = page.get("values") or []
            found.extend(_to_sprint(v) for v in values)
            start_at += len(values)
            if not values or page.get("isLast", True):
                return found

    def sprint(self, sprint_id: int) -> Sprint:
        """One sprint by id."""
        sprint_id = _positive_id(sprint_id, "sprint")
        raw = self._call(
            f"reading sprint {sprint_id}",
            lambda: self._jira._get_json(f"sprint/{sprint_id}", base=AGILE),
            not_found=_sprint_not_found(sprint_id),
        )
        return _to_sprint(raw)

    def create_sprint(self, *, board_id: int, name: str, start: datetime, end: datetime, goal: str) -> Sprint:
        """Create a future sprint on the board."""
        board_id = _positive_id(board_id, "board")
        name = _sprint_name(name)
        if end <= start:
            raise ValueError("a sprint must end after it starts")
        start_text, end_text = _agile_time(start), _agile_time(end)
        created = self._call(
            f"creating sprint {name!r} on board {board_id}",
            lambda: self._jira.create_sprint(
                name, board_id, startDate=start_text, endDate=end_text, goal=goal or None
            ),
            not_found=_board_not_found(board_id),
            idempotent=False,
        )
        return _to_sprint(created.raw)

    def update_sprint(
        self,
        sprint_id: int,
        *,
        name: str | None = None,
        goal: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sprint:
        """Change only the given fields of a sprint (POST: a partial update; PUT would null the others)."""
        sprint_id = _positive_id(sprint_id, "sprint")
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = _sprint_name(name)
        if goal is not None:
            body["goal"] = goal
        if start is not None:
            body["startDate"] = _agile_time(start)
        if end is not None:
            body["endDate"] = _agile_time(end)
        if not body:
            return self.sprint(sprint_id)
        url = self._jira._get_url(f"sprint/{sprint_id}", base=AGILE)
        updated = self._call(
            f"updating sprint {sprint_id}",
            lambda: self._session.post(url, data=json.dumps(body)).json(),
            not_found=_sprint_not_found(sprint_id),
        )
        return _to_sprint(updated)

    def move_issues_to_sprint(self, sprint_id: int, keys: Sequence[str]) -> None:
        """Move issues into a sprint (in batches of 50, as Jira requires)."""
        sprint_id = _positive_id(sprint_id, "sprint")
        keys = [validate_issue_key(k) for k in keys]
        for first in range(0, len(keys), MOVE_BATCH_SIZE):
            batch = keys[first : first + MOVE_BATCH_SIZE]
            self._call(
                f"moving {len(batch)} issue(s) into sprint {sprint_id}",
                partial(self._jira.add_issues_to_sprint, sprint_id, batch),
                not_found=_sprint_not_found(sprint_id),
            )

    # --- issues


# --- mapping helpers


def _board_not_found(board_id: int) -> str:
    return (
        f"Jira board {board_id} does not exist or govbot's Jira account cannot see it: check the team's "
        "jira_board_id and the account's permissions."
    )


def _sprint_not_found(sprint_id: int) -> str:
    return f"Jira sprint {sprint_id} does not exist or govbot's Jira account cannot see it: was it deleted?"


def _estimation_of(config: dict) -> str | None:
    """The estimation field of a board configuration; None when the board counts issues."""
    estimation = config.get("estimation") or {}
    if estimation.get("type") != "field":
        return None
    return (estimation.get("field") or {}).get("fieldId")


def _agile_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("sprint dates must be timezone-aware")
    return moment.isoformat(timespec="milliseconds")


def _sprint_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a sprint needs a name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValueError("a sprint name must not contain control characters")
    return name.strip()


def _to_sprint(raw: dict) -> Sprint:
    state = str(raw.get("state") or "").lower()
    if state not in SPRINT_STATES:
        raise TrackerError(f"Jira returned sprint {raw.get('id')} in an unknown state {state!r}.")
    board_id = raw.get("originBoardId")
    return Sprint(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        state=state,  # type: ignore[arg-type]
        start=_parse_time(raw.get("startDate")),
        end=_parse_time(raw.get("endDate")),
        goal=str(raw.get("goal") or ""),
        board_id=int(board_id) if board_id is not None else None,
    )
