"""The one wiring file: builds the Runtime, lists the features, and wires them into Slack, the scheduler and the CLI.

Every feature lives in ``govbot/features/<name>/`` and offers the same few parts: its Slack listeners
(``register(app, runtime)``), its scheduled jobs (``JOBS``), its `/govbot` subcommands and status sections, its
check-policy checks, its reaction to a settings change, and its `govbot <name>` Typer sub-app. ``Feature`` names
those parts, one frozen dataclass per feature, and ``FEATURES`` lists them. Why this shape:

- Nothing registers itself at import time. A decorator that fills a global registry makes what runs depend on
  which modules happened to be imported (and in what order); here the list is read top to bottom, and a feature
  that is not in FEATURES does not exist.
- It is typed: mypy checks that each part has the signature the router, the scheduler and the App Home call it
  with, so a feature cannot plug in half-wired.
- The dependencies point one way. Features never import this module (the Runtime they are handed is defined in
  ``govbot.core.deps``); this module imports the features. So there is no cycle to break, no module-level
  runtime and no import hidden inside a function.

Adding a feature is: write its folder, add one ``Feature(...)`` line below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import typer
from slack_bolt import App
from sqlmodel import Session

from govbot.adapters.db.migrate import schema_is_current
from govbot.adapters.db.session import engine_for
from govbot.adapters.scheduler.runner import SchedulerService, TeamJob
from govbot.adapters.slack.client import make_slack_client
from govbot.adapters.slack.notifier import Notifier
from govbot.config import Settings
from govbot.core import jobs, teams
from govbot.core.app import ignore_other_events, new_bolt_app
from govbot.core.commands import HELP, StatusSection, Subcommand, Surface
from govbot.core.deps import Runtime, system_clock
from govbot.core.jobs import JobSpec, UnknownJob, UnknownTeam
from govbot.core.lanes import LANE_SIZES, Lanes
from govbot.core.leases import keeper_for
from govbot.core.policy import NamedCheck, check_policy_job
from govbot.core.status import STATUS
from govbot.features.audit import cli as audit_cli
from govbot.features.audit import slack as audit_slack
from govbot.features.digest import cli as digest_cli
from govbot.features.digest import jobs as digest_jobs
from govbot.features.digest import slack as digest_slack
from govbot.features.refactoring import jobs as refactoring_jobs
from govbot.features.refactoring import policy as refactoring_policy
from govbot.features.refactoring import slack as refactoring_slack
from govbot.features.staffing import cli as staffing_cli
from govbot.features.staffing import jobs as staffing_jobs
from govbot.features.staffing import slack as staffing_slack
from govbot.features.surveys import cli as surveys_cli
from govbot.features.surveys import jobs as surveys_jobs
from govbot.features.surveys import slack as surveys_slack
from govbot.features.teams import cli as teams_cli
from govbot.features.teams import slack as teams_slack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feature:
    """One feature's parts, as the wiring below uses them; every part is optional."""

    name: str
    register: Callable[[App, Runtime], None] | None = None  # its actions, views and events
    jobs: Sequence[JobSpec] = ()
    subcommands: Sequence[Subcommand] = ()
    status_sections: Sequence[StatusSection] = ()
    policy_checks: Sequence[NamedCheck] = ()  # run by the one check-policy job, in FEATURES order
    on_settings_changed: Callable[[Runtime, str], None] | None = None  # (runtime, team name), after commit
    cli: typer.Typer | None = None  # added as `govbot <its name>`


FEATURES: tuple[Feature, ...] = (
    Feature("teams", register=teams_slack.register, subcommands=teams_slack.SUBCOMMANDS,
            status_sections=teams_slack.STATUS_SECTIONS, cli=teams_cli.app),
    Feature("refactoring", jobs=refactoring_jobs.JOBS, subcommands=refactoring_slack.SUBCOMMANDS,
            status_sections=refactoring_slack.STATUS_SECTIONS, policy_checks=refactoring_policy.POLICY_CHECKS,
            on_settings_changed=refactoring_jobs.replan_after_settings_change),
    Feature("surveys", register=surveys_slack.register, jobs=surveys_jobs.JOBS,
            subcommands=surveys_slack.SUBCOMMANDS, status_sections=surveys_slack.STATUS_SECTIONS,
            cli=surveys_cli.app),
    Feature("digest", jobs=digest_jobs.JOBS, subcommands=digest_slack.SUBCOMMANDS, cli=digest_cli.app),
    Feature("staffing", register=staffing_slack.register, subcommands=staffing_slack.SUBCOMMANDS,
            status_sections=staffing_slack.STATUS_SECTIONS, policy_checks=staffing_jobs.POLICY_CHECKS,
            cli=staffing_cli.app),
    Feature("audit", subcommands=audit_slack.SUBCOMMANDS, cli=audit_cli.app),
)


# --- the runtime


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    tracker_factory: Callable[[], Any] | None = None,
    features: Sequence[Feature] = FEATURES,
) -> Runtime:
    """A Runtime from settings, with each feature's settings-changed listener connected."""
    engine = engine_for(settings.database_url)
    keeper_for(engine, failover_seconds=settings.failover_seconds)  # this process's leases on that database
    runtime = Runtime(settings=settings, engine=engine, slack=make_slack_client(settings), clock=clock,
                      tracker_factory=tracker_factory, lanes=Lanes(LANE_SIZES))
    for feature in features:
        if feature.on_settings_changed is not None:
            runtime.events.settings_changed.connect(partial(feature.on_settings_changed, runtime))
    return runtime


# --- jobs


def all_jobs(features: Sequence[Feature] = FEATURES) -> dict[str, JobSpec]:
    """Every job kind: the features' jobs and check-policy (which runs every feature's checks)."""
    checks = [check for feature in features for check in feature.policy_checks]
    specs = [spec for feature in features for spec in feature.jobs] + [check_policy_job(checks)]
    return {spec.kind: spec for spec in specs}


def run_job(
    runtime: Runtime,
    kind: str,
    team_name: str,
    *,
    now: datetime,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    notifier: Notifier | None = None,
    features: Sequence[Feature] = FEATURES,
) -> str:
    """Run the job ``kind`` for one team at ``now`` (what `govbot run-job` and the scheduler do)."""
    known = all_jobs(features)
    spec = known.get(kind)
    if spec is None:
        raise UnknownJob(f"there is no job {kind!r}; the jobs are: {', '.join(sorted(known))}")
    return jobs.run_job(runtime, spec, team_name, now=now, dry_run=dry_run, echo=echo, notifier=notifier)


def _run_logged(runtime: Runtime, features: Sequence[Feature], kind: str, team_name: str, now: datetime) -> None:
    try:
        summary = run_job(runtime, kind, team_name, now=now, echo=log.info, features=features)
        log.info("job %s for team %s: %s", kind, team_name, summary)
    except UnknownTeam:
        log.warning("job %s skipped: team %s no longer exists", kind, team_name)


def run_scheduled(runtime: Runtime, features: Sequence[Feature], kind: str, team_name: str) -> None:
    """What the scheduler runs for a (kind, team): reads the clock once and runs the job under its job-run
    claim (so a run its process could not finish is resumed by the next leader)."""
    jobs.run_claimed(engine=runtime.engine, kind=kind, team_name=team_name, now=runtime.clock(),
                     run=partial(_run_logged, runtime, features, kind, team_name))


def resume_scheduled(runtime: Runtime, features: Sequence[Feature], key: str) -> None:
    """What the leader runs for a job run a stopped process left unfinished: the same job, the same ``now``."""
    jobs.resume_run(engine=runtime.engine, key=key, run=partial(_run_logged, runtime, features))


def scheduled_jobs(runtime: Runtime, features: Sequence[Feature] = FEATURES) -> list[TeamJob]:
    """Every (kind, team) that runs on a schedule, with its trigger."""
    with Session(runtime.engine) as session:
        stored = teams.list_teams(session=session)
    return [TeamJob(kind=spec.kind, team=team.name, trigger=spec.schedule(team))
            for team in stored for spec in all_jobs(features).values() if spec.schedule is not None]


def create_scheduler(runtime: Runtime, features: Sequence[Feature] = FEATURES,
                     poll_seconds: float | None = None) -> SchedulerService:
    """The scheduler service for this runtime (started by the caller), re-synced on every settings change.

    It looks every GOVBOT_FAILOVER_SECONDS / 6 (or ``poll_seconds``): a standby for the lock, the leader for
    job runs a stopped process left unfinished.
    """
    keeper = keeper_for(runtime.engine, failover_seconds=runtime.settings.failover_seconds)
    service = SchedulerService(engine=runtime.engine, run=partial(run_scheduled, runtime, features),
                               wanted=partial(scheduled_jobs, runtime, features),
                               interrupted=partial(jobs.interrupted_runs, engine=runtime.engine),
                               resume=partial(resume_scheduled, runtime, features), keeper=keeper,
                               poll_seconds=poll_seconds or keeper.timing.poll_every,
                               failover_seconds=runtime.settings.failover_seconds,
                               not_ready=partial(schema_problem, runtime.engine))
    runtime.events.settings_changed.connect(service.on_settings_changed)
    return service


def schema_problem(engine: Any) -> str | None:
    """Why the scheduler must not lead on this database yet, or None: jobs written for this version's schema
    would fail on an older one (the migration Job or `govbot db upgrade` has not run)."""
    if schema_is_current(engine):
        return None
    return "the database schema is not at this govbot version's head: run `govbot db upgrade`"


# --- Slack


def surface(features: Sequence[Feature] = FEATURES) -> Surface:
    """The `/govbot` subcommands and the status sections of every feature (with help and status)."""
    return Surface.of([HELP, STATUS, *(sub for feature in features for sub in feature.subcommands)],
                      [section for feature in features for section in feature.status_sections])


def create_bolt_app(runtime: Runtime, features: Sequence[Feature] = FEATURES) -> App:
    """The bolt App: the `/govbot` command and App Home of every feature, then each feature's listeners."""
    app = new_bolt_app(runtime, surface(features))
    for feature in features:
        if feature.register is not None:
            feature.register(app, runtime)
    ignore_other_events(app)
    return app


# --- the command line


def add_feature_commands(cli: typer.Typer, features: Sequence[Feature] = FEATURES) -> None:
    """Add each feature's Typer sub-app to the root command line."""
    for feature in features:
        if feature.cli is not None:
            cli.add_typer(feature.cli)
