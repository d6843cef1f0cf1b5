"""Refactoring sprints (SPEC §4) on the Slack and scheduler surfaces.

Registers the `plan-sprints` and `check-policy` jobs, `/govbot refactor skip|postpone --reason "…"`, the
refactoring section of `/govbot status` and the App Home, a re-plan after every settings change, and the demo
step. The work itself is in ``govbot.features.refactoring.service`` and ``govbot.features.refactoring.policy``.
"""

from __future__ import annotations

import logging
import time
import weakref
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from sqlmodel import Session

from govbot.adapters.scheduler.context import JobContext, job
from govbot.adapters.scheduler.triggers import daily_at
from govbot.adapters.slack.ids import COMMAND
from govbot.config import ConfigError
from govbot.core.commands import CommandContext
from govbot.core.events import settings_changed
from govbot.core.registry import listeners, status_section, subcommand
from govbot.core.status import escape
from govbot.core.teams import StoredTeam
from govbot.features.refactoring import policy
from govbot.features.refactoring import service as sprints
from govbot.features.refactoring.service import (
    USER_FACING_ERRORS,
    OverrideError,
    OverrideKind,
    OverrideOutcome,
    PlanBusy,
)

if TYPE_CHECKING:
    from slack_bolt import App

    from govbot.demo import DemoContext
    from govbot.runtime import Runtime

log = logging.getLogger(__name__)

NO_JIRA = ("govbot has no Jira connection configured (JIRA_URL with JIRA_EMAIL + JIRA_API_TOKEN, or JIRA_PAT): "
           "ask your govbot admin.")


# ------------------------------------------------------------------------------------------------ jobs


def _policy_context(ctx: JobContext, tracker: Any) -> policy.PolicyContext:
    return policy.PolicyContext(session=ctx.session, engine=ctx.runtime.engine, key=ctx.key, team=ctx.team,
                                now=ctx.now, tracker=tracker, notifier=ctx.notifier, dry_run=ctx.dry_run)


@job("plan-sprints", "keep the team's future sprints planned in Jira, refactoring sprints included",
     schedule=daily_at(5))
def plan_sprints_job(ctx: JobContext) -> str:
    """Plan the board; on a Jira or board problem tell the managers (once a day) and fail the run."""
    tracker = ctx.tracker()
    if not ctx.dry_run:
        # Each Jira write is committed with its record as it happens: end the transaction run_job opened, so
        # the planning lock (its own connection) can be taken on SQLite too.
        ctx.session.commit()
    lock = nullcontext() if ctx.dry_run else sprints.plan_lock(engine=ctx.runtime.engine, team=ctx.team)
    try:
        with lock:
            report = sprints.plan_team_sprints(
                session=ctx.session, tracker=tracker, key=ctx.key, team=ctx.team, now=ctx.now,
                checkpoint=ctx.session.flush if ctx.dry_run else ctx.session.commit)
    except PlanBusy as busy:
        return f"skipped: {busy}"
    except USER_FACING_ERRORS as error:
        policy.tell_managers_jira_failed(_policy_context(ctx, tracker), doing="plan the team's sprints in Jira",
                                         error=error)
        raise
    return report.summary()


@job("check-policy", "check the active sprint against the team's rules (refactoring capacity, ...)",
     schedule=daily_at(9))
def check_policy_job(ctx: JobContext) -> str:
    """Run every registered policy check; when Jira stopped one, tell the managers and fail the run."""
    pctx = _policy_context(ctx, ctx.tracker())
    report = policy.run_policy_checks(pctx)
    if report.errors:
        pctx.end_transaction()  # keep what the other checks recorded
        policy.tell_managers_jira_failed(pctx, doing="check the team's active sprint", error=report.errors[0])
        raise report.errors[0]
    return report.summary()


# ------------------------------------------------------------------------------------------------ dates in words


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _dates(dates: tuple[datetime, datetime] | None) -> str:
    return f"{_day(dates[0])} – {_day(dates[1])}" if dates else "dates not planned yet"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# ------------------------------------------------------------------------------------------------ /govbot refactor


def _override_command(ctx: CommandContext, kind: OverrideKind) -> None:
    assert ctx.team is not None
    usage = f'`{COMMAND} refactor {kind} --reason "…"`'
    try:
        reason = sprints.check_reason(ctx.options.get("reason"))
    except OverrideError as error:
        ctx.reply(f"{str(error).capitalize()}: {usage}, e.g. `--reason \"release week\"`. The reason is kept in "
                  "the audit trail. Nothing was changed.")
        return
    try:
        outcome = sprints.apply_override(engine=ctx.runtime.engine, tracker=ctx.runtime.tracker(),
                                         key=ctx.runtime.key, team=ctx.team, now=ctx.now, kind=kind,
                                         reason=reason, actor=ctx.user_id)
    except ConfigError:
        ctx.reply(f"{NO_JIRA} Nothing was changed.")
        return
    except OverrideError as error:
        ctx.reply(f"{str(error).capitalize()}. Nothing was changed.")
        return
    except USER_FACING_ERRORS as error:
        ctx.reply(f"Nothing was changed: {escape(str(error))}")
        return
    ctx.reply(override_reply(outcome, team=ctx.team, reason=reason, now=ctx.now))


def override_reply(outcome: OverrideOutcome, *, team: StoredTeam, reason: str, now: datetime) -> str:
    """The confirmation: which refactoring sprint moved where, the reason, and what changed in Jira."""
    number = outcome.sprint_number

    def when(n: int) -> str:
        return _dates(sprints.sprint_dates(outcome.snapshot, team, n, now))

    if outcome.kind == "postpone":
        moved_to = min(outcome.effect.added, default=number + 1)
        head = (f"Postponed refactoring sprint {number} ({when(number)}) by one sprint: sprint {moved_to} "
                f"({when(moved_to)}) is the refactoring sprint now, and the cadence counts on from there.")
    else:
        head = (f"Skipped refactoring sprint {number} ({when(number)}): it is an ordinary sprint now. The next "
                f"refactoring sprint is sprint {outcome.next_number} ({when(outcome.next_number)}).")
    lines = [head, f"Reason (kept in the audit trail): “{escape(reason)}”"]
    if outcome.plan_error is not None:
        lines.append(f"The decision is saved, but Jira could not be updated now: {escape(outcome.plan_error)} "
                     "govbot applies it at its next daily plan.")
    elif outcome.plan is not None and (outcome.plan.updated or outcome.plan.created):
        changes = [f"{escape(w.before_name or '')} → {escape(w.name)}" for w in outcome.plan.updated
                   if w.before_name != w.name]
        changes += [f"created {escape(w.name)}" for w in outcome.plan.created]
        lines.append("Jira updated: " + "; ".join(changes) + "." if changes else "Jira updated.")
    else:
        lines.append(f"Nothing to change in Jira yet: the sprints planned ahead "
                     f"({team.settings.plan_horizon_sprints}) are already right; later ones are named when planned.")
    return "\n".join(lines)


@subcommand("refactor skip", usage='refactor skip --reason "…"', who="managers",
            summary="skip the next refactoring sprint (it is not held); the reason is audited")
def refactor_skip(ctx: CommandContext) -> None:
    """Skip the next refactoring sprint."""
    _override_command(ctx, "skip")


@subcommand("refactor postpone", usage='refactor postpone --reason "…"', who="managers",
            summary="move the next refactoring sprint one sprint later; the reason is audited")
def refactor_postpone(ctx: CommandContext) -> None:
    """Postpone the next refactoring sprint by one sprint."""
    _override_command(ctx, "postpone")


# ------------------------------------------------------------------------------------------------ status


@status_section(order=10, title="Refactoring sprints")
def refactoring_section(runtime: Runtime, session: Session, team: StoredTeam, now: datetime) -> list[Any]:
    """Current sprint number, next refactoring sprint (number and dates), this sprint's refactor share."""
    try:
        status = sprints.cadence_status(session=session, tracker=runtime.tracker(), team=team, now=now)
    except ConfigError:
        return [ContextBlock(elements=[MarkdownTextObject(text=NO_JIRA)])]
    except USER_FACING_ERRORS as error:
        return [SectionBlock(text=f"Jira could not be read: {escape(str(error))}"[:3000])]
    return [SectionBlock(text="\n".join(status_lines(status, team=team))[:3000])]


def status_lines(status: sprints.CadenceStatus, *, team: StoredTeam) -> list[str]:
    """The refactoring section in words."""
    label = escape(team.settings.labels.refactor)
    lines = [f"Every {_ordinal(status.every)} sprint on board _{escape(status.board_name)}_ is a refactoring "
             f"sprint, with at least {status.capacity_pct}% of its capacity on refactoring."]
    current = status.current
    if current is None:
        lines.append("*Current sprint:* none is active.")
    else:
        end = f", until {_day(current.sprint.end.astimezone(_zone(team)))}" if current.sprint.end else ""
        kind = " (a refactoring sprint)" if status.current_is_refactor else ""
        lines.append(f"*Current sprint:* {current.number} — {escape(current.sprint.name)}{end}{kind}")
    if status.current_is_refactor and status.share is not None:
        share = status.share
        unit = "story points" if status.by_points else "issues"
        if share.pct is None:
            lines.append(f"*Refactor share:* nothing to measure yet (no {unit} in the sprint).")
        else:
            verdict = ("below the reservation" if share.pct < status.capacity_pct else "within the reservation")
            lines.append(f"*Refactor share:* {share.pct:.0f}% of the sprint's {unit} ({share.refactor:g} of "
                         f"{share.total:g}) are labelled `{label}`: {verdict} of {status.capacity_pct}%.")
    where = (f"in Jira as _{escape(status.next_sprint.name)}_" if status.next_sprint is not None
             else "not in Jira yet")
    lines.append(f"*Next refactoring sprint:* {status.next_number} — {_dates(status.next_dates)} ({where})")
    return lines


def _zone(team: StoredTeam) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(team.spec.timezone)


# ------------------------------------------------------------------------------------------------ settings changed

# The runtime of the app in this process: the signal carries only a team name. A weak reference, so a runtime
# that is gone (a stopped app) is never used.
_bound_runtime: weakref.ref[Runtime] | None = None


def bind_runtime(runtime: Runtime | None) -> None:
    """Re-plan with this runtime after settings changes (None: stop re-planning in this process)."""
    global _bound_runtime
    _bound_runtime = weakref.ref(runtime) if runtime is not None else None


@listeners
def _bind_app_runtime(app: App, runtime: Runtime) -> None:
    bind_runtime(runtime)


def _has_jira(runtime: Runtime) -> bool:
    return runtime.tracker_factory is not None or runtime.settings.jira_url is not None


@settings_changed.connect
def replan_after_settings_change(team_name: str) -> None:
    """Re-plan the team's sprints with a fresh session; Jira trouble is told to the managers, never raised.

    Signals run their receivers on a background worker, so the save that fired this does not wait for Jira.
    """
    runtime = _bound_runtime() if _bound_runtime is not None else None
    if runtime is None or not _has_jira(runtime):
        return
    from govbot.core.jobs import UnknownTeam, run_job

    try:
        summary = run_job(runtime, "plan-sprints", team_name, now=runtime.clock(), echo=log.info)
        log.info("re-planned the sprints of team %s after a settings change: %s", team_name, summary)
    except UnknownTeam:
        log.info("team %s is gone: no re-plan", team_name)
    except USER_FACING_ERRORS as error:
        log.warning("re-plan of team %s after a settings change failed (the managers were told): %s",
                    team_name, error)


# ------------------------------------------------------------------------------------------------ demo


def _board_lines(ctx: DemoContext, board_id: int) -> list[str]:
    """The board's last sprints as the Jira sandbox holds them."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    with ctx.jira.lock:
        rows = sorted((s for s in ctx.jira.sprints.values() if s.board_id == board_id),
                      key=lambda s: (s.start is None, s.start or datetime.max.replace(tzinfo=zone), s.id))
    lines = []
    for sprint in rows[-6:]:
        dates = (f"{_day(sprint.start.astimezone(zone))} – {_day(sprint.end.astimezone(zone))}"
                 if sprint.start and sprint.end else "no dates")
        goal = f"  goal: {sprint.goal}" if sprint.goal else ""
        lines.append(f"    #{sprint.id} {sprint.state:<7} {sprint.name:<30} {dates}{goal}")
    return lines


def _wait_for_reply(ctx: DemoContext, seen: int, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [c for c in ctx.slack.calls_of("response_url") if not c.failed]
        if len(calls) > seen:
            return calls[seen].body
        time.sleep(0.05)
    raise RuntimeError("no reply to the slash command arrived")


def _section_text(blocks: list[dict[str, Any]], title: str) -> list[str]:
    """The text of the status section under ``title`` in a status reply's blocks."""
    texts = [str((b.get("text") or {}).get("text", "")) for b in blocks if b.get("type") == "section"]
    heading = f"*{title}*"
    if heading not in texts:
        return []
    return texts[texts.index(heading) + 1].splitlines()


def demo_refactoring_step(ctx: DemoContext) -> None:
    """Plan the sandbox board (before/after), show that a second run writes nothing, then postpone over Slack."""
    from govbot.core.jobs import run_job
    from govbot.features.refactoring.service import SprintTracker

    if ctx.jira is None:
        raise RuntimeError("the Jira sandbox is not available")
    with Session(ctx.runtime.engine) as session:
        from govbot.core import teams as repo

        team = repo.get_team(session=session, name=ctx.team)
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
