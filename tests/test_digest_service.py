"""The digest over the wire: real JiraTracker and slack_sdk against the sandboxes, on SQLite and PostgreSQL.

The figures of a seeded week are checked against figures computed here, independently, from the seed's records.
"""

from __future__ import annotations

import io
import multiprocessing
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from sqlmodel import Session, select

from govbot.adapters.db.session import make_engine, session_scope
from govbot.adapters.db.tables import Delivery, DigestWeek
from govbot.adapters.slack.notifier import SlackNotifier
from govbot.adapters.tracker import JiraTracker
from govbot.core import teams as team_repo
from govbot.domain.digest import IsoWeek, last_full_week, span, to_json
from govbot.features.digest import service
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.slack_api import SlackSandbox

from .conftest import BOT_TOKEN, KEY

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin: the last full week is 2026-W48
BERLIN = ZoneInfo("Europe/Berlin")
TEAM_FILE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
REVIEW = ("In Review", "Code Review")


def import_team(engine):
    specs = parse_team_file(TEAM_FILE)
    with session_scope(engine) as session:
        apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=specs, source="test")
    with Session(engine) as session:
        return team_repo.get_team(session=session, name="payments")


def tracker_for(jira: JiraSandbox) -> JiraTracker:
    return JiraTracker(url=jira.url, **jira.credentials, sleep=lambda seconds: None)


def notifier_for(slack: SlackSandbox) -> SlackNotifier:
    client = WebClient(
        token=BOT_TOKEN, base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=12), ServerErrorRetryHandler(max_retry_count=3)],
    )
    return SlackNotifier(client)


def expected_from_seed(jira: JiraSandbox, week: IsoWeek) -> dict:
    """The week's figures computed straight from the seed's records, without govbot's domain code."""
    bounds = span(week, BERLIN)
    start, end = bounds.start.astimezone(UTC), bounds.end.astimezone(UTC)
    issues = list(jira.issues.values())

    def inside(moment):
        return moment is not None and start <= moment.astimezone(UTC) < end

    resolved = [i for i in issues if inside(i.resolved)]
    created = [i for i in issues if inside(i.created)]
    incidents = [i for i in created if i.issue_type == "Incident" or "incident" in i.labels]
    features = [i for i in resolved if i.issue_type == "Story"]
    ages = sorted(
        (NOW - (i.history[-1].at if i.history else i.created)).total_seconds() / 3600
        for i in issues
        if i.status in REVIEW
    )
    middle = len(ages) // 2
    median = ages[middle] if len(ages) % 2 else (ages[middle - 1] + ages[middle]) / 2
    return {
        "velocity": sum(i.points or 0 for i in resolved),
        "features_shipped": len(features),
        "incidents": len(incidents),
        "incidents_per_feature": round(len(incidents) / len(features), 2) if features else None,
        "rollbacks": len([i for i in created if "rollback" in i.labels]),
        "review_queue": {"count": len(ages), "median_age_hours": round(median, 1), "oldest_age_hours": round(ages[-1], 1)},
    }


def expected_human_first_pct(jira: JiraSandbox) -> int | None:
    """The active sprint's human-first share of tracked points, from the seed (own label, else the epic's)."""
    from govbot.sandbox.jira_seed import ACTIVE_SPRINT_ID

    weights = {"human-first": 0.0, "ai-heavy": 0.0}
    for issue in jira.issues.values():
        if ACTIVE_SPRINT_ID not in issue.sprint_ids or issue.issue_type == "Epic":
            continue
        labels = set(issue.labels)
        if not labels & set(weights) and issue.parent_key:
            labels = set(jira.issues[issue.parent_key].labels)
        tracks = labels & set(weights)
        if len(tracks) == 1:
            weights[tracks.pop()] += issue.points or 0
    total = weights["human-first"] + weights["ai-heavy"]
    return None if total == 0 else int(weights["human-first"] / total * 100 + 0.5)


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_figures_of_a_seeded_week_match_the_seed(engine, mode):
    team = import_team(engine)
    with JiraSandbox(mode=mode, now=NOW) as jira:
        tracker = tracker_for(jira)
        week = last_full_week(NOW, BERLIN)
        assert week == IsoWeek(2026, 48)
        built = service.build(engine=engine, tracker=tracker, team=team, week=week, now=NOW)
        data = to_json(built.digest)
        expected = expected_from_seed(jira, week)
        assert data["velocity"]["value"] == expected["velocity"] and data["velocity"]["unit"] == "points"
        for name in ("features_shipped", "incidents", "incidents_per_feature", "rollbacks", "review_queue"):
            assert data[name] == expected[name], name
        assert data["start"] == "2026-11-23T00:00:00+01:00" and data["end"] == "2026-11-30T00:00:00+01:00"
        assert data["missing"] == [] and data["refactoring"] is not None
        assert data["tracks"]["human_first_pct"] == expected_human_first_pct(jira)
        assert data["tracks"]["target_pct"] == 60
        assert data["tracks"]["open_violations"] == {f"R{n}": 0 for n in range(1, 7)}
        # No N+1: the board's estimation field, one search page per 100 issues, one for the review queue
        # (plus Cloud's one bulk changelog call when a changelog came truncated).
        searches = jira.calls_to("/search")
        assert len(jira.calls_to("/changelog", "GET")) == 0
        assert len(jira.calls_to("/changelog/bulkfetch")) <= 1
        assert len(searches) <= 2 + 2  # the sprint sections read the sprint's issues and their epics once each


def test_other_weeks_match_the_seed_too(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira:
        tracker = tracker_for(jira)
        for back in (3, 7, 11):
            week = IsoWeek(2026, 48).shifted(-back)
            data = to_json(service.build(engine=engine, tracker=tracker, team=team, week=week, now=NOW,
                                         sections=False).digest)
            expected = expected_from_seed(jira, week)
            assert data["velocity"]["value"] == expected["velocity"]
            assert (data["incidents"], data["rollbacks"], data["features_shipped"]) == (
                expected["incidents"], expected["rollbacks"], expected["features_shipped"]
            )
            assert data["review_queue"] is None  # a "now" figure: only the last full week has it


def test_backfill_fills_twelve_weeks_once_with_one_search(engine):
    team = import_team(engine)
    with JiraSandbox(mode="datacenter", now=NOW) as jira:
        tracker = tracker_for(jira)
        seen: list[IsoWeek] = []
        report = service.backfill(engine=engine, tracker=tracker, team=team, now=NOW, on_week=seen.append)
        assert len(report.filled) == 12 and seen == report.filled and report.filled[-1] == IsoWeek(2026, 48)
        # All twelve weeks from one paged search (the sandbox serves at most 50 issues a page).
        assert len(jira.calls_to("/search")) <= 1 + len(jira.issues) // jira.page_size
        jira.calls.clear()
        again = service.backfill(engine=engine, tracker=tracker, team=team, now=NOW)
        assert again.filled == [] and len(again.already_kept) == 12 and jira.calls == []
        with Session(engine) as session:
            rows = session.exec(select(DigestWeek)).all()
        assert len(rows) == 12
        by_week = {r.week: r for r in rows}
        for back in (0, 5, 11):
            week = IsoWeek(2026, 48).shifted(-back)
            assert by_week[week.label].velocity == expected_from_seed(jira, week)["velocity"]


def test_post_once_then_already_posted_with_chart_and_alt_text(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        tracker, notifier = tracker_for(jira), notifier_for(slack)
        service.backfill(engine=engine, tracker=tracker, team=team, now=NOW)
        first = service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team, now=NOW)
        assert first.status == "posted" and first.chart_shared
        again = service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team,
                                  now=NOW + timedelta(hours=3))
        assert again.status == "already_posted" and again.ref == first.ref
        [post] = [c for c in slack.calls_of("chat.postMessage") if not c.failed]
        assert post.body["channel"] == "C0PAYMENTS1"
        assert post.body["blocks"][2]["text"]["text"] == f"*{first.digest.verdict}*"  # the verdict first
        assert post.body["text"].splitlines()[1] == first.digest.verdict
        [shared] = slack.shared_files
        assert shared["channels"] == ["C0PAYMENTS1"] and shared["content"].startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(shared["content"]))
        image.verify()  # a valid PNG, every chunk's CRC checked
        assert image.format == "PNG" and image.size == (800, 400)
        assert shared["alt_txt"].startswith("Bar chart of the velocity of team payments, in points per week")
        link = service.permalink(notifier=notifier, ref=again.ref)
        assert link and link.startswith("https://sandbox.slack.com/archives/C0PAYMENTS1/p")


def test_not_in_channel_tells_each_manager_once_and_posts_after_the_invite(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        tracker, notifier = tracker_for(jira), notifier_for(slack)
        slack.remove_bot_from("C0PAYMENTS1")
        for hours in (0, 1):
            outcome = service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team,
                                        now=NOW + timedelta(hours=hours))
            assert outcome.status == "not_in_channel"
        dms = [c for c in slack.calls_of("chat.postMessage") if c.body["channel"] == "U0MANAGER1"]
        assert len(dms) == 1 and "/invite @govbot" in dms[0].body["text"]
        slack.invite_bot("C0PAYMENTS1")
        assert service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team,
                                 now=NOW + timedelta(hours=2)).status == "posted"
        assert len(slack.shared_files) == 1


def test_jira_down_still_posts_what_it_has_and_names_what_is_missing(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        tracker = JiraTracker(url=jira.url, **jira.credentials, sleep=lambda s: None, max_retries=1)
        jira.fail_next("/rest/", count=1000, status=503)
        outcome = service.post_week(engine=engine, tracker=tracker, notifier=notifier_for(slack), team=team, now=NOW)
        assert outcome.status == "posted"
        data = to_json(outcome.digest)
        assert data["velocity"] is None and "velocity" in data["missing"] and "refactoring" in data["missing"]
        assert data["verdict"].startswith("Jira could not be read")
        [post] = [c for c in slack.calls_of("chat.postMessage") if not c.failed]
        assert "Could not be read this time: velocity" in post.body["text"]


# --- exactly once under faults, with two scheduler processes racing


def _post_in_process(db_url, jira_url, jira_credentials, slack_api_url, rounds, queue):
    """One scheduler process: its own runtime (engine, Slack client with retry handlers, tracker) running the job."""
    from govbot.config import load_settings
    from govbot.runtime import build_runtime, run_job

    settings = load_settings(sandbox=True, DATABASE_URL=db_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_API_URL=slack_api_url, GOVBOT_SECRET_KEY=KEY.decode())
    runtime = build_runtime(settings, tracker_factory=lambda: JiraTracker(
        url=jira_url, **jira_credentials, sleep=lambda s: None, max_retries=6))
    outcomes = []
    for n in range(rounds):
        try:
            outcomes.append(run_job(runtime, "post-digest", "payments", now=NOW + timedelta(minutes=n)))
        except Exception as error:  # a failed run is retried by the next one
            outcomes.append(f"error: {type(error).__name__}")
    runtime.engine.dispose()
    queue.put(outcomes)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_exactly_one_post_and_upload_under_faults_and_racing_processes(mode, request):
    from .conftest import drop_pg_database, new_pg_database, require_pg

    require_pg()
    db_url, name = new_pg_database()
    request.addfinalizer(lambda: drop_pg_database(name))
    from govbot.adapters.db.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    import_team(engine)
    with JiraSandbox(mode=mode, now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        slack.set_fault_rate(0.3, seed=3)  # 30% of calls answer 429; this seed starts with one
        jira.fail_every(2, status=503)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        workers = [
            context.Process(target=_post_in_process,
                            args=(db_url, jira.url, jira.credentials, slack.api_url, 3, queue))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        flat = [summary for outcome in results for summary in outcome]
        assert len([s for s in flat if re.fullmatch(r"digest of 2026-W48 posted( with its chart)?", s)]) == 1, flat
        # A restart after everything settled finds the week done (and shares the chart if a run lost it).
        slack.set_fault_rate(0.0)
        tracker = tracker_for(jira)
        with Session(engine) as session:
            team = team_repo.get_team(session=session, name="payments")
        final = service.post_week(engine=engine, tracker=tracker, notifier=notifier_for(slack), team=team,
                                  now=NOW + timedelta(hours=1))
        assert final.status == "already_posted"
        posts = [c for c in slack.calls_of("chat.postMessage") if not c.failed and c.body.get("channel") == "C0PAYMENTS1"]
        assert len(posts) == 1
        assert len(slack.shared_files) == 1
        assert any(c.status == 429 for c in slack.calls)  # the faults did happen
        with Session(engine) as session:
            kinds = sorted(d.kind for d in session.exec(select(Delivery)).all())
        assert kinds == ["digest-chart", "digest-post"]
    engine.dispose()


# --- sections and bad input


def closed_survey(engine, team, *, closed_at: datetime, burnout: list[int], invited: int = 8):
    """A closed survey whose stored results come from these burnout answers (learning answers fixed at 4)."""
    import random

    from govbot.adapters.db.tables import Survey
    from govbot.domain import surveys as survey_domain
    from govbot.features.surveys.repo import results_to_json

    answers = [survey_domain.Answers(burnout=b, review_drain=b, learning=4, comprehension=4) for b in burnout]
    results = survey_domain.compute_results(answers, invited=invited, closed=True, rng=random.Random(1))
    with session_scope(engine) as session:
        session.add(Survey(team_id=team.id, occurrence=f"test-{closed_at.isoformat()}", status="closed",
                           opened_at=closed_at - timedelta(days=3), remind_at=closed_at - timedelta(days=1),
                           closes_at=closed_at, closed_at=closed_at, invited_count=invited, min_responses=5,
                           results=results_to_json(results)))
    return results


def test_people_section_is_shown_only_above_the_anonymity_threshold_and_flags_a_rise(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira:
        tracker = tracker_for(jira)
        week = IsoWeek(2026, 48)
        assert to_json(service.build(engine=engine, tracker=tracker, team=team, week=week, now=NOW,
                                     sections=True).digest)["people"] is None  # no survey yet
        closed_survey(engine, team, closed_at=NOW - timedelta(days=20), burnout=[2, 2, 2, 2, 2])
        latest = closed_survey(engine, team, closed_at=NOW - timedelta(days=6), burnout=[4, 4, 3, 4, 4, 4])
        digest = service.build(engine=engine, tracker=tracker, team=team, week=week, now=NOW).digest
        data = to_json(digest)
        assert data["people"] == {"burnout_index": round(latest.burnout_index, 1),
                                  "learning_index": round(latest.learning_index, 1),
                                  "response_rate": round(latest.response_rate, 1)}
        assert {"burnout_rise", "burnout_high"} <= {f["kind"] for f in data["flags"]}
        closed_survey(engine, team, closed_at=NOW - timedelta(days=1), burnout=[5, 5, 5])  # 3 answers: hidden
        hidden = to_json(service.build(engine=engine, tracker=tracker, team=team, week=week, now=NOW).digest)
        assert hidden["people"] is None and not {"burnout_rise", "burnout_high"} & {f["kind"] for f in hidden["flags"]}


def test_a_board_without_estimation_counts_issues(engine):
    team = import_team(engine)
    with JiraSandbox(mode="datacenter", now=NOW) as jira:
        jira.boards[12].estimation_field = None  # the team's board counts issues
        week = IsoWeek(2026, 48)
        data = to_json(service.build(engine=engine, tracker=tracker_for(jira), team=team, week=week, now=NOW).digest)
        bounds = span(week, BERLIN)
        resolved = [i for i in jira.issues.values()
                    if i.resolved is not None and bounds.start <= i.resolved < bounds.end]
        assert data["velocity"]["unit"] == "issues" and data["velocity"]["value"] == len(resolved)


def test_a_week_with_no_resolved_issue(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira:
        week = IsoWeek(2026, 48)
        bounds = span(week, BERLIN)
        for issue in jira.issues.values():
            if issue.resolved is not None and bounds.start <= issue.resolved < bounds.end:
                issue.resolved = None
        data = to_json(service.build(engine=engine, tracker=tracker_for(jira), team=team, week=week, now=NOW).digest)
        assert data["velocity"]["value"] == 0 and data["features_shipped"] == 0
        assert data["incidents_per_feature"] is None
        assert "no feature shipped" in data["verdict"]


def test_slack_429_on_the_post_and_the_upload_still_posts_once(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        slack.fail_next("chat.postMessage", count=2, status=429, retry_after=0)
        slack.fail_next("files.completeUploadExternal", count=1, status=429, retry_after=0)
        slack.fail_next("upload_url", count=1, status=429, retry_after=0)
        outcome = service.post_week(engine=engine, tracker=tracker_for(jira), notifier=notifier_for(slack),
                                    team=team, now=NOW)
        assert outcome.status == "posted" and outcome.chart_shared
        assert len([c for c in slack.calls_of("chat.postMessage") if not c.failed]) == 1
        assert len(slack.shared_files) == 1


def test_a_failed_chart_is_shared_by_the_next_run_without_posting_twice(engine):
    team = import_team(engine)
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        slack.fail_next("files.getUploadURLExternal", count=1, status=200, error="internal_error")
        first = service.post_week(engine=engine, tracker=tracker_for(jira), notifier=notifier_for(slack),
                                  team=team, now=NOW)
        assert first.status == "posted" and not first.chart_shared and slack.shared_files == []
        second = service.post_week(engine=engine, tracker=tracker_for(jira), notifier=notifier_for(slack),
                                   team=team, now=NOW + timedelta(minutes=30))
        assert second.status == "already_posted" and second.chart_shared
        assert len([c for c in slack.calls_of("chat.postMessage") if not c.failed]) == 1
        assert len(slack.shared_files) == 1


def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(engine):
    from govbot.core import delivery
    from govbot.core.leases import database_now

    team = import_team(engine)
    week_key = service.week_key(team, IsoWeek(2026, 48))
    with session_scope(engine) as session:  # a process claimed the week 20 minutes ago and died before posting
        session.add(Delivery(kind=service.KIND_POST, key=week_key, team_id=team.id,
                             claimed_at=delivery.wall_clock() - timedelta(minutes=20), holder="a-dead-process",
                             heartbeat_at=database_now(session) - timedelta(minutes=20)))
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        outcome = service.post_week(engine=engine, tracker=tracker_for(jira), notifier=notifier_for(slack),
                                    team=team, now=NOW)
        assert outcome.status == "posted"
        assert len([c for c in slack.calls_of("chat.postMessage") if not c.failed]) == 1


def test_a_live_claim_of_another_process_is_left_alone(engine):
    from govbot.core import delivery
    from govbot.core.leases import database_now

    team = import_team(engine)
    week_key = service.week_key(team, IsoWeek(2026, 48))
    with session_scope(engine) as session:  # claimed a minute ago by a process that is still heartbeating
        session.add(Delivery(kind=service.KIND_POST, key=week_key, team_id=team.id,
                             claimed_at=delivery.wall_clock() - timedelta(minutes=1), holder="another-process",
                             heartbeat_at=database_now(session) - timedelta(seconds=2)))
    with JiraSandbox(mode="cloud", now=NOW) as jira, SlackSandbox(bot_token=BOT_TOKEN) as slack:
        outcome = service.post_week(engine=engine, tracker=tracker_for(jira), notifier=notifier_for(slack),
                                    team=team, now=NOW)
        assert outcome.status == "in_flight" and slack.calls_of("chat.postMessage") == []


def test_open_violations_by_rule_come_from_the_staffing_checks(engine):
    from govbot.adapters.db.tables import StaffingViolation
    from govbot.sandbox.jira_seed import ACTIVE_SPRINT_ID

    team = import_team(engine)
    with session_scope(engine) as session:
        for n, (rule, status) in enumerate([("R3", "open"), ("R3", "open"), ("R2", "acknowledged"), ("R5", "open"),
                                            ("R1", "resolved")]):
            session.add(StaffingViolation(team_id=team.id, key=f"k{n}", rule=rule, severity="warning",
                                          sprint_id=ACTIVE_SPRINT_ID, detail="d", fingerprint="f", status=status,
                                          opened_at=NOW, changed_at=NOW))
    with JiraSandbox(mode="cloud", now=NOW) as jira:
        digest = service.build(engine=engine, tracker=tracker_for(jira), team=team, week=IsoWeek(2026, 48),
                               now=NOW).digest
    data = to_json(digest)
    assert data["tracks"]["open_violations"] == {"R1": 0, "R2": 0, "R3": 2, "R4": 0, "R5": 1, "R6": 0}
    assert "zone1_violations" in {f["kind"] for f in data["flags"]}
