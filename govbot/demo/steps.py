"""The demo's feature steps: each drives one feature through the real Slack surface against the sandboxes.

They live with the demo, not in the features, because they drive the sandbox (which only the demo and the tests
may import).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session

from govbot.adapters.db.tables import Survey
from govbot.adapters.slack.blocks import initial_state
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.core import audit, teams
from govbot.core.board import SprintTracker
from govbot.core.deps import Runtime
from govbot.domain.surveys import BLOCK_IDS as ANSWER_BLOCKS
from govbot.features.refactoring.messages import day_text
from govbot.features.surveys import messages as ui
from govbot.features.surveys import repo, service
from govbot.features.surveys.jobs import results_text
from govbot.features.teams.service import TeamNotFound
from govbot.runtime import run_job
from govbot.sandbox.slack_api import dm_channel_id

if TYPE_CHECKING:
    from govbot.demo import DemoContext

T = TypeVar("T")


class RunningBot(Protocol):
    """What a step drives: the running bot's runtime, the Slack sandbox and the request simulator."""

    @property
    def runtime(self) -> Runtime: ...
    @property
    def sandbox(self) -> Any: ...  # govbot.sandbox.slack_api.SlackSandbox
    @property
    def sim(self) -> Any: ...  # govbot.sandbox.slack_client.SlackRequestSimulator


def wait_until(check: Callable[[], T | None], *, timeout: float, what: str, poll: float = 0.02) -> T:
    """Poll ``check`` until it returns something truthy; a RuntimeError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo timed out waiting for {what}")
        time.sleep(poll)


# --- refactoring sprints


def _board_lines(ctx: DemoContext, board_id: int) -> list[str]:
    """The board's last sprints as the Jira sandbox holds them."""
    zone = ZoneInfo("Europe/Berlin")
    with ctx.jira.lock:
        rows = sorted((s for s in ctx.jira.sprints.values() if s.board_id == board_id),
                      key=lambda s: (s.start is None, s.start or datetime.max.replace(tzinfo=zone), s.id))
    lines = []
    for sprint in rows[-6:]:
        dates = (f"{day_text(sprint.start.astimezone(zone))} – {day_text(sprint.end.astimezone(zone))}"
                 if sprint.start and sprint.end else "no dates")
        goal = f"  goal: {sprint.goal}" if sprint.goal else ""
        lines.append(f"    #{sprint.id} {sprint.state:<7} {sprint.name:<30} {dates}{goal}")
    return lines


def _wait_for_reply(ctx: DemoContext, seen: int, timeout: float = 15.0) -> dict[str, Any]:
    def reply() -> dict[str, Any] | None:
        calls = [c for c in ctx.slack.calls_of("response_url") if not c.failed]
        return calls[seen].body if len(calls) > seen else None

    return wait_until(reply, timeout=timeout, what="a reply to the slash command")


def _section_text(blocks: list[dict[str, Any]], title: str) -> list[str]:
    """The text of the status section under ``title`` in a status reply's blocks."""
    texts = [str((b.get("text") or {}).get("text", "")) for b in blocks if b.get("type") == "section"]
    heading = f"*{title}*"
    if heading not in texts:
        return []
    return texts[texts.index(heading) + 1].splitlines()


def demo_refactoring_step(ctx: DemoContext) -> None:
    """Plan the sandbox board (before/after), show that a second run writes nothing, then postpone over Slack."""
    if ctx.jira is None:
        raise RuntimeError("the Jira sandbox is not available")
    with Session(ctx.runtime.engine) as session:
        team = teams.get_team(session=session, name=ctx.team)
    if team is None:
        raise RuntimeError(f"team {ctx.team} is not imported")
    board_id = team.spec.jira_board_id
    ctx.say(f"Jira board {board_id} before `govbot run-job plan-sprints --team {ctx.team}`:")
    for line in _board_lines(ctx, board_id):
        ctx.say(line)
    tracker: SprintTracker = ctx.runtime.tracker()
    for attempt in ("first", "second"):
        writes_before = len(ctx.jira.calls_to("/rest/agile/1.0/sprint", "POST"))
        calls_before = tracker.calls  # type: ignore[attr-defined]
        summary = run_job(ctx.runtime, "plan-sprints", ctx.team, now=ctx.runtime.clock(), echo=ctx.say)
        writes = len(ctx.jira.calls_to("/rest/agile/1.0/sprint", "POST")) - writes_before
        ctx.say(f"{attempt} run: {summary}")
        ctx.say(f"    {tracker.calls - calls_before} Jira requests, {writes} of them writes")  # type: ignore[attr-defined]
    ctx.say("Jira board after plan-sprints:")
    for line in _board_lines(ctx, board_id):
        ctx.say(line)
    seen = len([c for c in ctx.slack.calls_of("response_url") if not c.failed])
    text = 'refactor postpone --reason "card-network migration lands that sprint"'
    ctx.sim.slash_command(text, user_id=ctx.manager, channel_id=ctx.channel)
    ctx.say(f"/govbot {text} (as manager {ctx.manager}) →")
    for line in str(_wait_for_reply(ctx, seen).get("text", "")).splitlines():
        ctx.say(f"    {line}")
    seen += 1
    ctx.sim.slash_command('refactor skip --reason "just because"', user_id="U0JUNIOR01", channel_id=ctx.channel)
    ctx.say(f"/govbot refactor skip (as member U0JUNIOR01) → {_wait_for_reply(ctx, seen).get('text')}")
    seen += 1
    ctx.say("Jira board after the postpone:")
    for line in _board_lines(ctx, board_id):
        ctx.say(line)
    ctx.sim.slash_command("status", user_id="U0JUNIOR01", channel_id=ctx.channel)
    ctx.say("/govbot status (as member U0JUNIOR01), its refactoring section:")
    for line in _section_text(_wait_for_reply(ctx, seen).get("blocks") or [], "Refactoring sprints"):
        ctx.say(f"    {line}")
    ctx.say(f"check-policy: {run_job(ctx.runtime, 'check-policy', ctx.team, now=ctx.runtime.clock(), echo=ctx.say)}")


# --- settings


def _wait_for_view(sandbox: Any, seen: int, timeout: float = 10.0) -> dict[str, Any]:
    def view() -> dict[str, Any] | None:
        calls = [c for c in sandbox.calls_of("views.open") if not c.failed]
        return calls[seen].body["view"] if len(calls) > seen else None

    return wait_until(view, timeout=timeout, what="the settings modal")


def demo_settings_step(ctx: RunningBot, *, team_name: str = "payments") -> list[str]:
    """As the team's first manager, change refactor_every through the settings modal and back; show the audit."""
    with Session(ctx.runtime.engine, expire_on_commit=False) as session:
        team = teams.get_team(session=session, name=team_name)
    if team is None:
        raise TeamNotFound(f"no team is named {team_name!r}")
    manager, original = team.spec.managers[0], team.settings.refactor_every
    changed = original + 1 if original < 12 else original - 1
    lines = [f"Settings: {manager} changes refactor_every of team {team_name} in the settings modal"]
    for value in (changed, original):
        seen = len([c for c in ctx.sandbox.calls_of("views.open") if not c.failed])
        ctx.sim.slash_command(f"settings --team {team_name}", user_id=manager, channel_id=team.spec.digest_channel)
        view = _wait_for_view(ctx.sandbox, seen)
        values = initial_state(view)
        next(iter(values["refactor_every"].values()))["value"] = str(value)
        answer = ctx.sim.view_submission(user_id=manager, callback_id=CallbackId.SETTINGS, values=values,
                                         private_metadata=view["private_metadata"])
        if answer.status != 200 or answer.body.strip():
            raise RuntimeError(f"the settings modal did not save: {answer.status} {answer.body[:200]}")
        with Session(ctx.runtime.engine) as session:
            event = audit.recent(session=session, team=team_name, limit=1)[0]
        lines.append(f"  audit #{event.id} {event.at:%Y-%m-%d %H:%M} UTC {event.actor} {event.action}: "
                     f"before {event.before} → after {event.after} (hash {event.hash[:12]}…)")
    return lines


# --- pulse survey

_DEMO_WEIGHTS: dict[str, list[int]] = {
    "burnout": [3, 4, 2, 1, 0],
    "review_drain": [1, 2, 3, 3, 1],
    "review_hours": [1, 3, 3, 2, 1],
    "learning": [0, 1, 2, 4, 2],
    "comprehension": [0, 2, 2, 3, 1],
    "ai_share": [2, 3, 2, 1],
}
_DEMO_COMMENTS = [
    "Reviewing AI-generated PRs takes longer than writing the code myself.",
    "The refactoring sprint helped: I finally understand the payments flow.",
    "Too many large diffs land on Friday afternoons.",
    "Pairing on the ledger changes was the best part of this sprint.",
]


def _simulated_answers(rng: random.Random, block_ids: list[str]) -> dict[str, int | str | None]:
    answers: dict[str, int | str | None] = {}
    for block_id in block_ids:
        if block_id == "comment":
            answers[block_id] = rng.choice(_DEMO_COMMENTS) if rng.random() < 0.5 else None
        elif block_id in _DEMO_WEIGHTS:
            weights = _DEMO_WEIGHTS[block_id]
            answers[block_id] = rng.choices(range(1, len(weights) + 1), weights=weights)[0]
    return answers


def demo_survey_step(
    bot: RunningBot, *, team_name: str = "payments", respondents: int | None = None, seed: int = 2026,
    timeout: float = 30.0,
) -> list[str]:
    """Run one survey through the real Slack surface and return its results as printable lines.

    A manager runs `/govbot survey start`; each responding member clicks the invitation's button (the modal
    opens through the sandbox's views.open) and submits simulated answers through the ``survey_submit`` modal;
    the manager runs `/govbot survey close`. ``respondents`` defaults to all members but one.
    """
    runtime, sandbox, sim = bot.runtime, bot.sandbox, bot.sim
    with Session(runtime.engine) as session:
        team = teams.get_team(session=session, name=team_name)
    if team is None:
        raise RuntimeError(f"the demo needs team {team_name!r}")
    manager, channel = team.spec.managers[0], team.spec.digest_channel
    members = [m.slack for m in team.spec.members]
    sim.slash_command(f"survey start --team {team_name}", user_id=manager, channel_id=channel)

    def invited() -> Survey | None:
        with Session(runtime.engine) as session:
            survey = repo.get_open_survey(session=session, team_id=team.id)
            if survey is None or survey.id is None:
                return None
            done = repo.delivered_invitations(session=session, survey_id=survey.id)
            return survey if len(done) == len(members) else None

    survey = wait_until(invited, timeout=timeout, what="the invitations")
    rng = random.Random(seed)
    count = len(members) - 1 if respondents is None else respondents
    for user_id in members[:count]:
        click = sim.block_action(user_id=user_id, action_id=ActionId.SURVEY_OPEN, value=str(survey.id),
                                 channel_id=dm_channel_id(user_id))

        def opened(trigger: str | None = click.trigger_id) -> dict[str, Any] | None:
            calls = [c for c in sandbox.calls_of("views.open")
                     if c.body.get("trigger_id") == trigger and not c.failed]
            return calls[-1].body["view"] if calls else None

        modal = wait_until(opened, timeout=timeout, what="the survey modal")
        block_ids = [b["block_id"] for b in modal["blocks"] if b.get("type") == "input"]
        answers = _simulated_answers(rng, block_ids)
        metadata = modal["private_metadata"]
        answer = sim.view_submission(user_id=user_id, callback_id=CallbackId.SURVEY_SUBMIT,
                                     values=ui.state_values(answers), private_metadata=metadata)
        if "Thank you" not in answer.body:
            raise RuntimeError(f"a demo answer was not stored: {answer.status} {answer.body[:200]}")
    again = sim.view_submission(user_id=members[0], callback_id=CallbackId.SURVEY_SUBMIT,
                                values=ui.state_values(_simulated_answers(rng, list(ANSWER_BLOCKS))),
                                private_metadata=modal["private_metadata"])
    refused = service.ALREADY_ANSWERED if service.ALREADY_ANSWERED in again.body else "NOT REFUSED"
    lines = [
        f"{manager}: /govbot survey start → {len(members)} invitations, one DM per member, with a button",
        f"{count} members clicked it (views.open → survey_submit modal) and answered, none linked to a name",
        f"{members[0]} answering a second time → {refused}",
        f"{manager}: /govbot survey close → results (shown because {count} ≥ anonymity_min_responses "
        f"{team.settings.anonymity_min_responses}):",
    ]
    sim.slash_command(f"survey close --team {team_name}", user_id=manager, channel_id=channel)

    def closed() -> repo.ClosedResults | None:
        with Session(runtime.engine) as session:
            row = session.get(Survey, survey.id)
            if row is None or row.status != "closed":
                return None
            return repo.closed_results(session=session, team=team, survey=row)

    found = wait_until(closed, timeout=timeout, what="the survey to close")
    return [*lines, *("  " + line.replace("*", "") for line in ui.result_lines(results_text(team, found)))]
