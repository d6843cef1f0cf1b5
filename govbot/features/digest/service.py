"""The weekly digest's use cases: build a week's digest, keep its figures, backfill history, post it once.

Jira and the survey store are read first; what cannot be read is named in ``missing`` and the digest goes out
with the rest. The post is exactly once per team and ISO week: its delivery-ledger claim is taken before Slack is
called (a second process, a retry or an ``--as-of`` replay of the same week finds it), and a claim left by a dead
process is taken over once its lease has run out. The chart has a claim of its own, so a chart that failed is
shared by the next run without posting the text twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.slack.notifier import Notifier, NotInChannel
from govbot.adapters.tracker import TrackerError, weekly
from govbot.core import board, delivery
from govbot.core.teams import StoredTeam
from govbot.domain import digest as domain
from govbot.features.digest import chart, messages, repo, sources
from govbot.features.digest.sources import zone_of as zone_of  # re-exported: the surfaces name the week with it

log = logging.getLogger(__name__)

KIND_POST = "digest-post"
KIND_CHART = "digest-chart"
KIND_INVITE_DM = "digest-invite-dm"


def week_key(team: StoredTeam, week: domain.IsoWeek) -> str:
    """The ledger key of one team's week."""
    return f"{team.id}:{week.label}"


# --- building a week's digest


@dataclass(frozen=True)
class Built:
    """A digest and the figures that were read fresh from Jira this time (None: from the kept row, or none)."""

    digest: domain.Digest
    fresh: domain.WeekFigures | None


def build(
    *,
    engine: Engine,
    tracker: Any,
    team: StoredTeam,
    week: domain.IsoWeek,
    now: datetime,
    prefer_kept: bool = False,
    sections: bool = True,
) -> Built:
    """The digest of ``week``: figures from Jira (or kept ones), trends from kept weeks, the other sections.

    The review queue is a "now" figure: it is measured only for the last full week at ``now``. With
    ``prefer_kept`` a kept week is not read again (`digest show` of a past week). No database transaction stays
    open while Jira is read (on SQLite a transaction holds the write lock).
    """
    span = domain.span(week, sources.zone_of(team))
    missing: list[str] = []
    earlier = [week.shifted(-n) for n in range(0, domain.CHART_WEEKS)]
    with Session(engine) as session:
        kept = {f.week: f for f in repo.kept_weeks(session=session, team_id=team.id, weeks=earlier)}
    last_week = week == domain.last_full_week(now, sources.zone_of(team))
    figures: domain.WeekFigures | None = kept.get(week) if prefer_kept else None
    if figures is not None and last_week and figures.review_queue is None:
        figures = None  # kept by a backfill, without the queue the week just ended should show: read Jira
    fresh = None
    if figures is None:
        try:
            fresh = figures = sources.read_figures(tracker=tracker, team=team, span=span, now=now,
                                                   measure_queue=last_week)
        except TrackerError as error:
            log.warning("digest of team %s, %s: Jira could not be read: %s", team.name, week.label, error)
            figures = kept.get(week)
            missing.extend(domain.TRACKER_FIGURES if figures is None else ())
    if last_week and fresh is None and figures is not None and figures.review_queue is None:
        missing.append("review_queue")  # Jira was down and the kept week has no queue measured
    people: domain.People | None = None
    people_state: domain.PeopleState = "no_survey"
    refactoring: domain.Refactoring | None = None
    tracks: domain.Tracks | None = None
    if sections:
        with Session(engine) as session:
            people, people_state = sources.read_people(session=session, team=team)
        try:
            with Session(engine) as session:
                refactoring, tracks = sources.read_sprint_sections(session=session, tracker=tracker, team=team)
        except (TrackerError, board.SprintPlanningError) as error:
            log.warning("digest of team %s: the active sprint could not be read: %s", team.name, error)
            missing.extend(["tracks", "refactoring"])
    digest = domain.compose(
        team=team.name,
        span=span,
        figures=figures,
        history=[f for w, f in kept.items() if w != week],
        people=people,
        people_state=people_state,
        tracks=tracks,
        refactoring=refactoring,
        missing=missing,
    )
    return Built(digest=digest, fresh=fresh)


def keep(*, engine: Engine, team: StoredTeam, built: Built, now: datetime) -> None:
    """Keep the freshly read figures of the digest's week (nothing when they were not read from Jira)."""
    if built.fresh is None:
        return
    digest = built.digest
    with Session(engine) as session:
        repo.save_week(session=session, team_id=team.id, span=digest.span, figures=built.fresh,
                       people=digest.people, tracks=digest.tracks, now=now)
        session.commit()


# --- backfill


@dataclass(frozen=True)
class BackfillReport:
    """Which weeks were filled now, and which were kept already."""

    filled: list[domain.IsoWeek]
    already_kept: list[domain.IsoWeek]

    def summary(self) -> str:
        return f"{len(self.filled)} week(s) filled, {len(self.already_kept)} already kept"


def backfill(
    *,
    engine: Engine,
    tracker: Any,
    team: StoredTeam,
    now: datetime,
    weeks: int = domain.CHART_WEEKS,
    on_week: Callable[[domain.IsoWeek], None] = lambda week: None,
    on_plan: Callable[[int], None] = lambda count: None,
) -> BackfillReport:
    """Fill the missing weeks among the ``weeks`` last full weeks, from one paged Jira search; safe to re-run."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    zone = sources.zone_of(team)
    last = domain.last_full_week(now, zone)
    wanted = [last.shifted(-n) for n in range(weeks - 1, -1, -1)]
    with Session(engine) as session:
        kept = {f.week for f in repo.kept_weeks(session=session, team_id=team.id, weeks=wanted)}
    todo = [w for w in wanted if w not in kept]
    on_plan(len(todo))
    if not todo:
        return BackfillReport(filled=[], already_kept=wanted)
    estimation = tracker.estimation_field(team.spec.jira_board_id)
    first, final = domain.span(todo[0], zone), domain.span(todo[-1], zone)
    issues = weekly.week_issues(tracker, project=team.spec.jira_project, start=first.start, end=final.end,
                                estimation_field=estimation)
    rules = sources.counting_rules(team, estimation_field=estimation)
    for week in todo:
        span = domain.span(week, zone)
        figures = domain.measure_week(span, issues=issues, rules=rules)
        with Session(engine) as session:
            repo.save_week(session=session, team_id=team.id, span=span, figures=figures, people=None, tracks=None,
                           now=now)
            session.commit()
        on_week(week)
    return BackfillReport(filled=todo, already_kept=[w for w in wanted if w in kept])


# --- posting once


PostStatus = Literal["posted", "already_posted", "in_flight", "not_in_channel", "dry_run"]


@dataclass(frozen=True)
class PostOutcome:
    """What a post run did; ``ref`` is "channel:ts" of the post when there is one."""

    status: PostStatus
    week: domain.IsoWeek
    ref: str | None = None
    digest: domain.Digest | None = None
    chart_shared: bool = False

    def summary(self) -> str:
        return {
            "posted": f"digest of {self.week.label} posted" + (" with its chart" if self.chart_shared else ""),
            "already_posted": f"digest of {self.week.label} was already posted",
            "in_flight": f"digest of {self.week.label} is being posted by another run",
            "not_in_channel": f"digest of {self.week.label} not posted: govbot is not in the channel; managers told",
            "dry_run": f"digest of {self.week.label} shown, nothing sent",
        }[self.status]


def _split_ref(ref: str | None) -> tuple[str, str] | None:
    if not ref or ":" not in ref:
        return None
    channel, _, ts = ref.partition(":")
    return channel, ts


def permalink(*, notifier: Notifier, ref: str | None) -> str | None:
    """A link to the post recorded as ``ref``, when Slack gives one."""
    where = _split_ref(ref)
    if where is None:
        return None
    try:
        return notifier.permalink(channel=where[0], ts=where[1])
    except Exception:  # a link is a courtesy: never fail an answer for it
        log.warning("no permalink for the digest post %s", ref, exc_info=True)
        return None


def _tell_managers(*, engine: Engine, notifier: Notifier, team: StoredTeam, week: domain.IsoWeek,
                   now: datetime) -> None:
    text = messages.invite_bot_dm(team=team.name, channel=team.spec.digest_channel)
    for manager in team.spec.managers:
        key = f"{week_key(team, week)}:{manager}"
        claim = delivery.claim(engine=engine, kind=KIND_INVITE_DM, key=key, team_id=team.id)
        if claim is None:
            continue
        try:
            ref = notifier.dm(user=manager, text=text)
        except Exception:
            delivery.release(engine=engine, kind=KIND_INVITE_DM, key=key, claim=claim)
            log.warning("could not tell a manager of team %s to invite govbot", team.name, exc_info=True)
            continue
        delivery.complete(engine=engine, kind=KIND_INVITE_DM, key=key, now=now, ref=ref)


def share_chart(*, engine: Engine, notifier: Notifier, team: StoredTeam, week: domain.IsoWeek, now: datetime,
                digest: domain.Digest | None = None) -> bool:
    """Upload the week's chart to the digest channel once; False when already shared or being shared."""
    key = week_key(team, week)
    claim = delivery.claim(engine=engine, kind=KIND_CHART, key=key, team_id=team.id)
    if claim is None:
        return False
    try:
        if digest is None:
            with Session(engine) as session:
                kept = repo.kept_weeks(session=session, team_id=team.id,
                                       weeks=[week.shifted(-n) for n in range(domain.CHART_WEEKS)])
            weeks = domain.chart_weeks(week, {f.week: f for f in kept})
            unit = next((f.unit for f in kept if f.week == week), "points")
        else:
            weeks = list(digest.chart)
            unit = digest.figures.unit if digest.figures is not None else "points"
        title = f"{team.name}: velocity and incidents per feature, 12 weeks to {week.label}"
        png = chart.render_png(weeks, title=title, unit=unit)
        file_id = notifier.upload(
            channel=team.spec.digest_channel, content=png, filename=f"digest-{team.name}-{week.label}.png",
            title=title, alt_text=chart.alt_text(weeks, team=team.name, unit=unit),
        )
    except BaseException:
        delivery.release(engine=engine, kind=KIND_CHART, key=key, claim=claim)
        raise
    delivery.complete(engine=engine, kind=KIND_CHART, key=key, now=now, ref=file_id)
    return True


def post_week(
    *,
    engine: Engine,
    tracker: Any,
    notifier: Notifier,
    team: StoredTeam,
    now: datetime,
    dry_run: bool = False,
) -> PostOutcome:
    """Post the last full week's digest to the team's channel, once, then share its chart, once."""
    week = domain.last_full_week(now, sources.zone_of(team))
    key = week_key(team, week)
    if dry_run:
        built = build(engine=engine, tracker=tracker, team=team, week=week, now=now)
        notifier.post(channel=team.spec.digest_channel, text=messages.text(built.digest))
        return PostOutcome("dry_run", week, digest=built.digest)
    claim = delivery.claim(engine=engine, kind=KIND_POST, key=key, team_id=team.id)
    if claim is None:
        with Session(engine) as session:
            done, ref = repo.delivery_ref(session=session, kind=KIND_POST, key=key)
        if not done:
            return PostOutcome("in_flight", week)
        # The text went out; a chart that failed then is shared now.
        shared = share_chart(engine=engine, notifier=notifier, team=team, week=week, now=now)
        return PostOutcome("already_posted", week, ref=ref, chart_shared=shared)
    try:
        built = build(engine=engine, tracker=tracker, team=team, week=week, now=now)
        keep(engine=engine, team=team, built=built, now=now)
        digest = built.digest
        channel = team.spec.digest_channel
        ts = notifier.post(channel=channel, text=messages.text(digest), blocks=messages.blocks(digest))
    except NotInChannel:
        delivery.release(engine=engine, kind=KIND_POST, key=key, claim=claim)
        _tell_managers(engine=engine, notifier=notifier, team=team, week=week, now=now)
        return PostOutcome("not_in_channel", week)
    except BaseException:
        delivery.release(engine=engine, kind=KIND_POST, key=key, claim=claim)
        raise
    ref = f"{channel}:{ts}"
    delivery.complete(engine=engine, kind=KIND_POST, key=key, now=now, ref=ref)
    try:
        shared = share_chart(engine=engine, notifier=notifier, team=team, week=week, now=now, digest=digest)
    except NotInChannel:
        shared = False
    except Exception:
        log.warning("the digest chart of team %s could not be shared; the next run retries", team.name,
                    exc_info=True)
        shared = False
    return PostOutcome("posted", week, ref=ref, digest=digest, chart_shared=shared)
