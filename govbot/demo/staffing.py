"""The demo's staffing step: a sprint with one violation of each rule, a nudge answered by a click, an
acknowledgement with a reason, and violations resolved by relabelling — all through the real Slack surface
against the sandboxes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.adapters.slack.blocks import initial_state
from govbot.adapters.slack.ids import ActionId, CallbackId
from govbot.core import audit, teams
from govbot.demo.steps import wait_until
from govbot.features.staffing import messages, repo
from govbot.features.teams.service import apply_specs
from govbot.runtime import run_job
from govbot.sandbox.jira_staffing import seed_staffing_sprint
from govbot.sandbox.slack_api import dm_channel_id
from govbot.teamconfig import TeamSpec

if TYPE_CHECKING:
    from govbot.demo import DemoContext

TEAM = "platform"


def _replies(ctx: DemoContext) -> list[dict[str, Any]]:
    return [c.body for c in ctx.slack.calls_of("response_url") if not c.failed]


def _check(ctx: DemoContext, label: str) -> None:
    summary = run_job(ctx.runtime, "check-policy", TEAM, now=ctx.runtime.clock(), echo=ctx.say)
    ctx.say(f"{label}: {summary}")


def _listing(ctx: DemoContext, status: str = "all") -> list[str]:
    with Session(ctx.runtime.engine) as session:
        team = teams.get_team(session=session, name=TEAM)
        assert team is not None
        rows = repo.listing(session=session, team_id=team.id, status=status)
    return messages.as_text(rows, team=TEAM, status=status).splitlines()


def demo_staffing_step(ctx: DemoContext) -> None:
    """Play the staffing rules on a seeded sprint, end to end."""
    scenario = seed_staffing_sprint(ctx.jira)
    with session_scope(ctx.runtime.engine) as session:
        apply_specs(session=session, key=ctx.runtime.key, now=ctx.runtime.clock(), actor="demo", source="demo",
                    specs=[TeamSpec.model_validate(scenario.team)])
    ctx.say(f"Team `{TEAM}`: Jira board {scenario.board_id}, active sprint {scenario.sprint_id} with 11 issues "
            "seeded to break each rule R1–R6 once (zone 2: reporting; review cap 3).")
    _check(ctx, "check-policy")
    for line in _listing(ctx):
        ctx.say(f"    {line}")
    sent = len(ctx.slack.calls_of("chat.postMessage"))
    _check(ctx, "check-policy again")
    ctx.say(f"    {len(ctx.slack.calls_of('chat.postMessage')) - sent} DMs on the second run")

    # The R2 nudge, answered by its assignee with a click.
    key = scenario.keys["unlabelled"]
    assignee = next(person for rule, _issue, person in scenario.expected if rule == "R2" and person)
    seen = len(_replies(ctx))
    ctx.sim.block_action(user_id=assignee, action_id=ActionId.TRACK_HUMAN_FIRST, value=key,
                         channel_id=dm_channel_id(assignee))
    reply = wait_until(lambda: _replies(ctx)[seen:] or None, timeout=15, what="the nudge's answer")[0]
    ctx.say(f"{assignee} clicks human-first on the nudge for {key} → {reply.get('text')}")
    ctx.say(f"    Jira labels of {key}: {ctx.jira.issues[key].labels}")

    # An acknowledgement with a reason, through the violation_ack modal.
    with Session(ctx.runtime.engine) as session:
        team = teams.get_team(session=session, name=TEAM)
        assert team is not None
        r5 = next(r for r in repo.listing(session=session, team_id=team.id) if r.rule == "R5")
    manager = scenario.team["managers"][0]
    opened = len(ctx.slack.calls_of("views.open"))
    ctx.sim.block_action(user_id=manager, action_id=ActionId.VIOLATION_ACK, value=str(r5.id),
                         channel_id=dm_channel_id(manager))
    call = wait_until(lambda: ctx.slack.calls_of("views.open")[opened:] or None, timeout=15, what="the modal")[0]
    view = call.body["view"] if isinstance(call.body["view"], dict) else json.loads(call.body["view"])
    reason = "Linus pairs with Ada on the ledger work next sprint"
    values = initial_state(view)
    values[messages.REASON_BLOCK] = {"value": {"type": "plain_text_input", "value": reason}}
    ctx.sim.view_submission(user_id=manager, callback_id=CallbackId.VIOLATION_ACK, values=values,
                            private_metadata=view["private_metadata"])
    with Session(ctx.runtime.engine) as session:
        event = audit.recent(session=session, team=TEAM, limit=1)[0]
    ctx.say(f"{manager} acknowledges R5 with a reason → audit: {event.action} by {event.actor}: “{event.reason}”")

    # A relabel through /govbot track resolves the zone-1 violation (and, with the click, the split).
    seen = len(_replies(ctx))
    zone1 = scenario.keys["zone1"]
    ctx.sim.slash_command(f"track {zone1} human-first --team {TEAM}", user_id=manager,
                          channel_id=scenario.team["digest_channel"])
    reply = wait_until(lambda: _replies(ctx)[seen:] or None, timeout=15, what="the track reply")[0]
    ctx.say(f"/govbot track {zone1} human-first → {reply.get('text')}")
    _check(ctx, "check-policy after the relabels")
    for line in _listing(ctx, "all"):
        ctx.say(f"    {line}")
    with Session(ctx.runtime.engine) as session:
        team = teams.get_team(session=session, name=TEAM)
        assert team is not None
        rows = repo.listing(session=session, team_id=team.id, status="all")
    path = ctx.out_dir / "violations.json"
    path.write_text(json.dumps([messages.as_json(r) for r in rows], indent=2), encoding="utf-8")
    ctx.artefacts.append(path)
    ctx.say(f"    `govbot violations list --team {TEAM} --status all --format json` → {path.name}")
