"""The whole survey life cycle and the refactoring plan, driven only by each job's ``now``.

Run in-process by ``test_wall_clock.py`` with the lease clock moved far away, and as a subprocess under
``faketime`` (``python -m tests.clock_lifecycle DATABASE_URL``), which moves every wall-clock read at once. What
is due and what is recorded must follow the job's ``now`` alone, so the outcome is the same whatever the date.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from govbot.adapters.db.migrate import upgrade
from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.notifier import RecordingNotifier
from govbot.adapters.tracker import JiraTracker
from govbot.config import load_settings
from govbot.core import teams as repo
from govbot.domain.schedule import anchor_in, next_after
from govbot.domain.surveys import SurveyResults
from govbot.features.surveys import repo as surveys_repo
from govbot.features.surveys import service as surveys
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import build_runtime, run_job
from govbot.sandbox.jira_api import JiraSandbox

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
KEY = b"test-secret-key-0123456789"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # the seed's active sprint started 5 days before
ANSWERS = {"burnout": "2", "review_drain": "3", "review_hours": "2", "learning": "4", "comprehension": "4",
           "ai_share": "2", "comment": ""}
RESPONDERS = 5  # of the example team's 8 members; the team's anonymity threshold is 5

# What the life cycle must produce, whatever the wall clock says.
EXPECTED: dict[str, Any] = {
    "plan_created": ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"],
    "replan_created": [],
    "invitations": 8, "early_reminders": 0, "reminders": 3, "second_reminders": 0,
    "closed": True, "result_responses": RESPONDERS,
}


def run_life_cycle(db_url: str) -> dict[str, Any]:
    """Plan sprints twice, then start, answer, remind (early, due, again), close and read a survey."""
    jira = JiraSandbox(now=NOW).start()
    try:
        settings = load_settings(sandbox=True, DATABASE_URL=db_url, GOVBOT_SECRET_KEY=KEY.decode(),
                                 SLACK_API_URL="http://127.0.0.1:9/api/")
        runtime = build_runtime(settings, tracker_factory=lambda: JiraTracker(url=jira.url, **jira.credentials))
        notifier = RecordingNotifier(echo=lambda _line: None)
        with session_scope(runtime.engine) as session:
            apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=parse_team_file(EXAMPLE),
                        source="test")

        def run(kind: str, now: datetime) -> str:
            return run_job(runtime, kind, "payments", now=now, notifier=notifier, echo=lambda _line: None)

        def created_by(kind: str, now: datetime) -> list[str]:
            before = len(jira.calls_to("/rest/agile/1.0/sprint", "POST"))
            run(kind, now)
            return [c[3]["name"] for c in jira.calls_to("/rest/agile/1.0/sprint", "POST")[before:]]

        outcome: dict[str, Any] = {
            "plan_created": created_by("plan-sprints", NOW),
            "replan_created": created_by("plan-sprints", NOW + timedelta(hours=1)),
        }

        def dms() -> int:
            return sum(1 for kind, _where, _text in notifier.sent if kind == "DM")

        with Session(runtime.engine) as session:
            team = repo.get_team(session=session, name="payments")
        assert team is not None
        tz = team.spec.timezone
        occurrence = next_after(team.settings.survey_rrule, tz=tz, after=NOW, anchor=anchor_in(tz))
        assert occurrence is not None
        run("send-survey", occurrence + timedelta(minutes=1))
        outcome["invitations"] = dms()
        with Session(runtime.engine) as session:
            survey = surveys_repo.get_open_survey(session=session, team_id=team.id)
        assert survey is not None and survey.id is not None
        for member in team.spec.members[:RESPONDERS]:
            with session_scope(runtime.engine) as session:
                surveys.submit_response(session=session, key=KEY, survey_id=survey.id, team_id=team.id,
                                        user_id=member.slack, raw=ANSWERS,
                                        now=occurrence + timedelta(hours=1))
        for name, when in (("early_reminders", survey.remind_at - timedelta(minutes=1)),
                           ("reminders", survey.remind_at + timedelta(minutes=5)),
                           ("second_reminders", survey.remind_at + timedelta(minutes=20))):
            before = dms()
            run("remind-survey", when)
            outcome[name] = dms() - before
        run("close-survey", survey.closes_at + timedelta(minutes=1))
        with Session(runtime.engine) as session:
            closed = surveys_repo.closed_results(session=session, team=team)
        outcome["closed"] = closed is not None and closed.survey.id == survey.id
        shown = closed.shown if closed is not None else None
        outcome["result_responses"] = shown.responses if isinstance(shown, SurveyResults) else None
        runtime.engine.dispose()
        return outcome
    finally:
        jira.stop()


if __name__ == "__main__":
    url = sys.argv[1]
    upgrade(url)
    print(json.dumps({"wall_clock": datetime.now(UTC).isoformat(), **run_life_cycle(url)}))
