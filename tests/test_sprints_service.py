"""plan-sprints and the refactoring capacity check of check-policy, through run_job, against the Jira sandbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from govbot.adapters.db.session import session_scope
from govbot.adapters.db.tables import AuditEvent, Delivery, PlannedSprint, Team, TeamSettingsRow
from govbot.adapters.slack.notifier import RecordingNotifier
from govbot.adapters.tracker import (
    BoardHasNoSprints,
    JiraTracker,
    TrackerAuthError,
    TrackerNotFound,
    TrackerUnavailable,
)
from govbot.config import load_settings
from govbot.core import audit, jobs
from govbot.core import teams as repo
from govbot.core.board import SprintPlanningError
from govbot.core.policy import NamedCheck, PolicyContext, check_policy_job
from govbot.domain.work import Sprint
from govbot.features.refactoring import policy
from govbot.features.refactoring import policy as refactoring_policy
from govbot.features.refactoring import service as sprints
from govbot.features.teams.service import apply_specs, parse_team_file
from govbot.runtime import FEATURES, build_runtime, run_job
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import ACTIVE_SPRINT_ID, KANBAN_BOARD_ID, SCRUM_BOARD_ID

EXAMPLE = Path(__file__).resolve().parent.parent / "manifests" / "teams.example.yaml"
KEY = b"test-secret-key-0123456789"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # the seed's active sprint started 5 days before, 09:00 UTC
BERLIN_MORNING = timedelta(hours=9)  # sprint ends fall at 09:00 UTC = 10:00 in Berlin (winter)
GOAL = "Refactoring sprint: at least 50% of capacity on refactoring"
MANAGER, CHANNEL = "U0MANAGER1", "C0PAYMENTS1"
# These tests are about the refactoring capacity check: check-policy runs without the staffing rules here (they have
# tests of their own, and the seeded sprint breaks them).
WITHOUT_STAFFING = tuple(feature for feature in FEATURES if feature.name != "staffing")


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Env:
    """A runtime on a fresh database with the example team, its tracker pointed at a Jira sandbox."""

    def __init__(self, db_url: str, jira: JiraSandbox, **tracker_options):
        self.jira = jira
        self.sleeps = Sleeps()
        self.tracker_options = {"sleep": self.sleeps, **jira.credentials, **tracker_options}
        settings = load_settings(sandbox=True, DATABASE_URL=db_url, GOVBOT_SECRET_KEY=KEY.decode(),
                                 SLACK_API_URL="http://127.0.0.1:9/api/")
        self.runtime = build_runtime(settings, tracker_factory=lambda: JiraTracker(url=jira.url,
                                                                                  **self.tracker_options))
        self.notifier = RecordingNotifier(echo=lambda _line: None)
        with session_scope(self.runtime.engine) as session:
            apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=parse_team_file(EXAMPLE),
                        source="test")

    def run(self, kind: str = "plan-sprints", *, now: datetime = NOW, **options) -> str:
        return run_job(self.runtime, kind, "payments", now=now, notifier=self.notifier, features=WITHOUT_STAFFING,
                       **options)

    def team_row(self, **changes) -> Team:
        with session_scope(self.runtime.engine) as session:
            row = session.exec(select(Team).where(Team.name == "payments")).one()
            for name, value in changes.items():
                setattr(row, name, value)
            session.add(row)
        return row

    def set_settings(self, **values) -> None:
        with session_scope(self.runtime.engine) as session:
            row = session.exec(select(TeamSettingsRow)).one()
            row.values = {**row.values, **values}
            row.version += 1
            session.add(row)

    def rows(self, table):
        with Session(self.runtime.engine) as session:
            return list(session.exec(select(table)).all())

    def events(self, action: str) -> list[AuditEvent]:
        return [e for e in self.rows(AuditEvent) if e.action == action]

    def future(self) -> list:
        with self.jira.lock:
            return sorted((s for s in self.jira.sprints.values()
                           if s.board_id == SCRUM_BOARD_ID and s.state == "future"), key=lambda s: s.id)

    def sprint_writes(self) -> list:
        return self.jira.calls_to("/rest/agile/1.0/sprint", "POST") + self.jira.calls_to("/rest/agile/1.0/sprint",
                                                                                         "PUT")

    def dms(self) -> list[tuple[str, str]]:
        return [(where, text) for kind, where, text in self.notifier.sent if kind == "DM"]

    def posts(self) -> list[tuple[str, str]]:
        return [(where, text) for kind, where, text in self.notifier.sent if kind == "post to"]

    def close(self) -> None:
        self.runtime.engine.dispose()


@pytest.fixture
def jira(request):
    sandbox = JiraSandbox(mode=getattr(request, "param", "cloud"), now=NOW).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def env(sqlite_url, jira):
    instance = Env(sqlite_url, jira)
    yield instance
    instance.close()


# ------------------------------------------------------------------------------------------------ plan-sprints


@pytest.mark.parametrize("jira", ["cloud", "datacenter"], indirect=True)
def test_plan_creates_the_horizon_with_names_dates_goals_then_a_second_run_writes_nothing(db_url, jira):
    env = Env(db_url, jira)
    try:
        summary = env.run()
        future = env.future()
        assert [s.name for s in future] == ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"]
        active_end = jira.sprints[ACTIVE_SPRINT_ID].end
        assert active_end == datetime(2026, 12, 4, tzinfo=UTC) + BERLIN_MORNING
        starts = [active_end + timedelta(days=14 * i) for i in range(4)]
        assert [(s.start, s.end) for s in future] == list(zip(starts, starts[1:], strict=False))
        assert [s.goal or "" for s in future] == ["", GOAL, ""]
        assert "created 'Payments Sprint 2'" in summary

        planned = sorted(env.rows(PlannedSprint), key=lambda r: r.number)
        assert [(r.jira_sprint_id, r.number, r.is_refactor) for r in planned] == [
            (future[0].id, 2, False), (future[1].id, 3, True), (future[2].id, 4, False)]
        creates = env.events("jira.sprint.create")
        assert [e.target for e in creates] == [f"jira-sprint:{s.id}" for s in future]
        assert all(e.actor == "system" and e.team == "payments" for e in creates)
        anchor = env.events("team.cadence_anchor")
        assert len(anchor) == 1 and anchor[0].after["cadence_anchor_sprint_id"] == ACTIVE_SPRINT_ID
        assert env.team_row().cadence_anchor_sprint_id == ACTIVE_SPRINT_ID

        writes, events, tracker = len(env.sprint_writes()), len(env.rows(AuditEvent)), env.runtime.tracker()
        calls = tracker.calls
        assert "nothing to change" in env.run()
        assert len(env.sprint_writes()) == writes and len(env.rows(AuditEvent)) == events
        assert tracker.calls - calls == 2  # the board (its configuration), its sprints
        with Session(env.runtime.engine) as session:
            assert audit.verify(session=session, key=KEY).ok
    finally:
        env.close()


def test_a_run_that_died_between_jiras_create_and_the_record_leaves_no_duplicate(env, monkeypatch):
    real = sprints._record_created
    failures = []

    def record_once_fails(**kwargs):
        if not failures:
            failures.append(kwargs["planned"].name)
            raise RuntimeError("the process died here")
        return real(**kwargs)

    monkeypatch.setattr(sprints, "_record_created", record_once_fails)
    with pytest.raises(RuntimeError, match="died"):
        env.run()
    assert [s.name for s in env.future()] == ["Payments Sprint 2"]  # Jira has it; govbot has no record of it
    assert env.rows(PlannedSprint) == [] and env.events("jira.sprint.create") == []

    summary = env.run()
    names = [s.name for s in env.future()]
    assert names == ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"]
    assert "recorded 'Payments Sprint 2' found on the board" in summary
    assert len(env.rows(PlannedSprint)) == 3
    adopted = env.events("jira.sprint.adopt")
    assert len(adopted) == 1 and adopted[0].target == f"jira-sprint:{env.future()[0].id}"
    assert len(env.events("jira.sprint.create")) == 2

    writes = len(env.sprint_writes())
    assert "nothing to change" in env.run()
    assert len(env.sprint_writes()) == writes and len(env.rows(PlannedSprint)) == 3


def test_a_429_with_retry_after_is_honoured_and_creates_nothing_twice(env, jira):
    jira.fail_next("/rest/agile/1.0/sprint", count=1, status=429, retry_after=2)
    env.run()
    assert env.sleeps == [2.0]
    assert [s.name for s in env.future()] == ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"]


def test_a_settings_change_renames_and_regoals_future_sprints_and_leaves_active_and_closed_alone(env, jira):
    env.run()
    before = {s.id: (s.name, s.start, s.end, s.goal, s.state) for s in jira.sprints.values()
              if s.state != "future"}
    env.set_settings(refactor_every=2)
    summary = env.run()
    future = env.future()
    assert [s.name for s in future] == ["Payments Sprint 2 — Refactor", "Payments Sprint 3", "Payments Sprint 4 — Refactor"]
    assert [s.goal or "" for s in future] == [GOAL, "", GOAL]
    assert "'Payments Sprint 3 — Refactor' → 'Payments Sprint 3'" in summary
    assert {s.id: (s.name, s.start, s.end, s.goal, s.state) for s in jira.sprints.values()
            if s.state != "future"} == before
    assert not [c for c in jira.calls_to("/rest/agile/1.0/sprint/") if c[0] in ("POST", "PUT")
                and int(c[1].rsplit("/", 1)[1]) in before]
    assert jira.calls_to("/rest/agile/1.0/sprint/", "PUT") == []  # partial updates only
    planned = {r.jira_sprint_id: (r.name, r.is_refactor) for r in env.rows(PlannedSprint)}
    assert planned == {s.id: (s.name, s.name.endswith("Refactor")) for s in future}
    assert len(env.events("jira.sprint.update")) == 3


def test_dry_run_prints_the_writes_and_writes_nothing(env, jira):
    lines: list[str] = []
    summary = env.run(dry_run=True, echo=lines.append)
    assert "created 'Payments Sprint 2'" in summary
    assert sum("would call Jira create_sprint" in line for line in lines) == 3
    assert env.sprint_writes() == [] and env.future() == []
    assert env.rows(PlannedSprint) == [] and env.rows(AuditEvent) == env.events("team.create")
    assert env.team_row().cadence_anchor_sprint_id is None


@pytest.mark.parametrize("fault,error", [
    ("missing board", TrackerNotFound),
    ("kanban board", BoardHasNoSprints),
    ("401", TrackerAuthError),
    ("503", TrackerUnavailable),
    ("timeout", TrackerUnavailable),
])
def test_bad_boards_and_jira_faults_tell_the_managers_and_write_nothing(sqlite_url, jira, fault, error):
    options = {"api_token": "wrong-token"} if fault == "401" and jira.mode == "cloud" else {}
    if fault == "timeout":
        options = {"timeout": 0.2, "max_retries": 1}
    env = Env(sqlite_url, jira, **options)
    try:
        if fault == "missing board":
            env.team_row(jira_board_id=999)
        elif fault == "kanban board":
            env.team_row(jira_board_id=KANBAN_BOARD_ID)
        elif fault == "503":
            jira.fail_next("/board/", count=50, status=503, retry_after=None)
        elif fault == "timeout":
            jira.set_latency(0.6)
        with pytest.raises(error) as raised:
            env.run()
        message = str(raised.value)
        assert "try again" in message or "check" in message
        assert env.dms() == [(MANAGER, f"govbot could not plan the team's sprints in Jira for team `payments`: "
                                       f"{message} Nothing was changed; govbot tries again at its next run.")]
        with pytest.raises(error):
            env.run()
        assert len(env.dms()) == 1  # the managers hear about Jira trouble once a day
        jira.set_latency(0)
        assert env.sprint_writes() == []
        assert env.rows(PlannedSprint) == [] and env.team_row().cadence_anchor_sprint_id is None
        assert [e.action for e in env.rows(AuditEvent)] == ["team.create"]
    finally:
        env.close()


def test_two_runs_at_once_create_each_sprint_once(env, jira):
    jira.set_latency(0.03)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run() -> None:
        barrier.wait()
        results.append(env.run())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2
    assert [s.name for s in env.future()] == ["Payments Sprint 2", "Payments Sprint 3 — Refactor", "Payments Sprint 4"]
    assert len(env.rows(PlannedSprint)) == 3
    assert [r for r in env.rows(Delivery) if r.kind == sprints.PLAN_LOCK_KIND] == []  # the lock was given back


def test_sprint_length_comes_from_the_setting_else_the_board_else_14(env):
    with Session(env.runtime.engine) as session:
        team = repo.get_team(session=session, name="payments")
    assert team is not None

    def sprint(i: int, days: int, state: str = "closed") -> Sprint:
        start = NOW + timedelta(days=30 * i)
        return Sprint(id=i, name=f"S{i}", state=state, start=start, end=start + timedelta(days=days))  # type: ignore[arg-type]

    assert sprints.sprint_length_days(team, []) == 14
    assert sprints.sprint_length_days(team, [sprint(1, 7), sprint(2, 10), sprint(3, 10, "active")]) == 10
    assert sprints.sprint_length_days(team, [sprint(1, 2)]) == 5  # clamped to the valid range
    assert sprints.sprint_length_days(team, [sprint(1, 7), sprint(2, 21, "future")]) == 7  # future ones don't count
    fixed = team.spec.model_copy(update={"settings": team.settings.model_copy(update={"sprint_length_days": 21})})
    assert sprints.sprint_length_days(repo.StoredTeam(team.id, fixed, 1), [sprint(1, 7)]) == 21


def test_an_anchor_that_left_the_board_is_a_clear_message(env):
    env.team_row(cadence_anchor_sprint_id=999999)
    with pytest.raises(SprintPlanningError, match="cadence_anchor_sprint_id"):
        env.run()
    assert env.sprint_writes() == [] and "999999" in env.dms()[0][1]


# ------------------------------------------------------------------------------------------------ capacity check


def _refactor_active_sprint(env: Env) -> None:
    """Anchor two sprints earlier, so that the active sprint is sprint 3: a refactoring sprint."""
    env.team_row(cadence_anchor_sprint_id=ACTIVE_SPRINT_ID - 2)


@pytest.mark.parametrize("jira", ["cloud", "datacenter"], indirect=True)
def test_capacity_below_the_reservation_is_told_once_at_start_and_once_at_mid_sprint(env, jira):
    _refactor_active_sprint(env)
    issues = [i for i in jira.issues.values() if ACTIVE_SPRINT_ID in i.sprint_ids]
    points = sum(i.points or 0 for i in issues)
    refactor = sum(i.points or 0 for i in issues if "refactor" in i.labels)
    assert 0 < refactor / points < 0.5  # the seed's active sprint is short of refactoring work

    summary = env.run("check-policy")
    assert "start notice sent to 2 recipient(s)" in summary
    pct = f"{refactor / points * 100:.0f}%"
    assert env.dms() == [(MANAGER, f"Refactoring sprint 3 of team `payments` (PAY Sprint 27) starts with {pct} of "
                                   f"its story points on refactoring ({refactor:g} of {points:g} labelled "
                                   "`refactor`), below the 50% the team reserves. Label the refactoring work "
                                   "`refactor`, or bring more of it into the sprint.")]
    assert env.posts() == [(CHANNEL, f"Refactoring sprint 3 (PAY Sprint 27) starts: {pct} of its story points are "
                                     "labelled `refactor`; the team reserves 50%.")]

    assert "went out already" in env.run("check-policy", now=NOW + timedelta(days=1))
    assert len(env.notifier.sent) == 2
    env.run("check-policy", now=NOW + timedelta(days=3))  # 8 days into a 14-day sprint: past its middle
    assert [text.split(" with ")[0].split(") ")[-1] for _, text in env.dms()] == ["starts", "is half-way"]
    assert len(env.posts()) == 2
    env.run("check-policy", now=NOW + timedelta(days=4))
    assert len(env.notifier.sent) == 4
    notices = [r for r in env.rows(Delivery) if r.kind == policy.CAPACITY_NOTICE_KIND]
    assert len(notices) == 4 and all(r.done_at is not None for r in notices)


def test_capacity_counts_issues_when_the_board_has_no_estimation_field(env, jira):
    _refactor_active_sprint(env)
    jira.boards[SCRUM_BOARD_ID].estimation_field = None
    issues = [i for i in jira.issues.values() if ACTIVE_SPRINT_ID in i.sprint_ids]
    refactor = sum("refactor" in i.labels for i in issues)
    env.run("check-policy")
    assert f"({refactor} of {len(issues)} labelled `refactor`)" in env.dms()[0][1]
    assert "of its issues are labelled" in env.posts()[0][1]


def test_capacity_at_or_above_the_reservation_sends_nothing(env, jira):
    _refactor_active_sprint(env)
    for issue in jira.issues.values():
        if ACTIVE_SPRINT_ID in issue.sprint_ids and "refactor" not in issue.labels:
            issue.labels.append("refactor")
    assert "refactor share 100%" in env.run("check-policy")
    assert env.notifier.sent == []


def test_a_refactoring_sprint_first_checked_after_its_middle_gets_only_the_mid_sprint_notice(env):
    _refactor_active_sprint(env)
    env.run("check-policy", now=NOW + timedelta(days=3))
    assert [text.split(") ")[1].split(" with")[0] for _, text in env.dms()] == ["is half-way"]
    assert len(env.posts()) == 1


def test_no_notice_outside_refactoring_sprints_and_none_under_dry_run(env):
    assert "sprint 1 is not a refactoring sprint" in env.run("check-policy")
    _refactor_active_sprint(env)
    lines: list[str] = []
    run_job(env.runtime, "check-policy", "payments", now=NOW, dry_run=True, echo=lines.append,
            features=WITHOUT_STAFFING)
    assert [line.split(":")[0] for line in lines] == [f"[dry-run] would DM {MANAGER}",
                                                      f"[dry-run] would post to {CHANNEL}"]
    assert [r for r in env.rows(Delivery) if r.kind == policy.CAPACITY_NOTICE_KIND] == []
    assert env.team_row().cadence_anchor_sprint_id == ACTIVE_SPRINT_ID - 2
    env.run("check-policy")
    assert len(env.notifier.sent) == 2


def test_check_policy_tells_the_managers_when_jira_is_down(env, jira):
    jira.fail_next("/board/", count=50, status=503, retry_after=None)
    with pytest.raises(TrackerUnavailable):
        env.run("check-policy")
    assert env.dms()[0][1].startswith("govbot could not check the team's active sprint for team `payments`: "
                                      "Jira is unavailable (HTTP 503)")


def test_more_policy_checks_run_after_the_capacity_check_and_share_its_jira_reads(env, jira):
    _refactor_active_sprint(env)
    seen: list[int] = []

    def broken(ctx: PolicyContext) -> str:
        raise TrackerUnavailable("Jira is unavailable (HTTP 503) while testing: try again later.")

    def counting(ctx: PolicyContext) -> str:
        seen.append(len(ctx.active_issues()))
        return f"{len(ctx.active_issues())} issues"

    checks = [*refactoring_policy.POLICY_CHECKS, NamedCheck("broken", broken), NamedCheck("counting", counting)]
    searches = len(jira.calls_to("/search"))
    with pytest.raises(TrackerUnavailable):
        jobs.run_job(env.runtime, check_policy_job(checks), "payments", now=NOW, notifier=env.notifier)
    assert seen and seen[0] > 0
    assert len(jira.calls_to("/search")) - searches == 1  # the active sprint's issues were read once
    assert len(env.posts()) == 1  # the capacity notice went out despite the broken check


def test_a_sprint_update_is_audited_before_it_is_sent_and_a_failed_one_is_marked(env, jira):
    env.run()
    env.set_settings(refactor_every=2)
    jira.fail_next("/rest/agile/1.0/sprint/", 5, status=503, retry_after=0)  # every attempt of one update
    with pytest.raises(Exception):
        env.run()
    attempted = env.events("jira.sprint.update")
    failed = env.events("jira.sprint.update.failed")
    assert len(attempted) == 1 and len(failed) == 1 and failed[0].target == attempted[0].target
    summary = env.run()  # Jira is back: the same change is made and audited again, then the others
    assert "→" in summary
    assert len(env.events("jira.sprint.update")) == 4
    with Session(env.runtime.engine) as session:
        from govbot.core import audit

        assert audit.verify(session=session, key=KEY).ok
