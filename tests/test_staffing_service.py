"""The violation life cycle over the wire: the real JiraTracker against the Jira sandbox (Cloud and Data Center),
DMs through the real WebClient into the Slack sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from govbot.adapters.db.tables import AuditEvent, Delivery, StaffingViolation
from govbot.adapters.slack.notifier import SlackNotifier
from govbot.adapters.tracker import JiraTracker, TrackerUnavailable
from govbot.core import teams
from govbot.domain.work import Board
from govbot.features.staffing import actions, service
from govbot.features.teams.service import apply_specs
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import STORY_POINTS_FIELD
from govbot.sandbox.jira_staffing import SCENARIO_MANAGER, received_jql, seed_staffing_sprint
from govbot.sandbox.slack_api import SlackSandbox
from govbot.teamconfig import TeamSpec
from tests.conftest import BOT_TOKEN, KEY

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request):
    with JiraSandbox(mode=request.param, now=NOW, seed=False) as sandbox:
        yield sandbox


@pytest.fixture
def slack():
    sandbox = SlackSandbox(bot_token=BOT_TOKEN).start()
    yield sandbox
    sandbox.stop()


class World:
    def __init__(self, engine, jira, slack, comments: bool = False):
        self.engine, self.jira, self.slack = engine, jira, slack
        self.scenario = seed_staffing_sprint(jira)
        spec = dict(self.scenario.team)
        spec["settings"] = dict(spec["settings"], jira_comments=comments)
        with Session(engine) as session:
            apply_specs(session=session, key=KEY, now=NOW, actor="test", specs=[TeamSpec.model_validate(spec)],
                        source="test")
            session.commit()
        self.tracker = JiraTracker(url=jira.url, sleep=lambda _s: None, **jira.credentials)
        self.notifier = SlackNotifier(WebClient(token=BOT_TOKEN, base_url=slack.api_url))

    @property
    def team(self):
        with Session(self.engine) as session:
            return teams.get_team(session=session, name="platform")

    def run(self, *, dry_run: bool = False, echo=print) -> service.CheckReport:
        team = self.team
        board = Board(id=self.scenario.board_id, name="Platform", type="scrum",
                      estimation_field=STORY_POINTS_FIELD)
        sprint = next(s for s in self.tracker.sprints(board.id, states=["active"]))
        read = service.read_sprint(tracker=self.tracker, team=team, board=board, sprint=sprint)
        with Session(self.engine, expire_on_commit=False) as session:
            report = service.check_staffing(engine=self.engine, session=session, key=KEY, team=team, read=read,
                                            tracker=self.tracker, notifier=self.notifier, now=NOW,
                                            dry_run=dry_run, echo=echo, jira_url=self.jira.url)
            session.rollback()
        return report

    def rows(self) -> list[StaffingViolation]:
        with Session(self.engine) as session:
            return list(session.exec(select(StaffingViolation).order_by(col(StaffingViolation.id))))

    def dms(self) -> list[tuple[str, str]]:
        return [(c.body.get("channel"), c.body.get("text")) for c in self.slack.calls_of("chat.postMessage")
                if not c.failed]

    def audit(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def world(engine, jira, slack):
    return World(engine, jira, slack)


def test_the_seeded_sprint_yields_exactly_its_violations_and_a_second_run_notifies_nothing(world):
    report = world.run()
    assert [(r.rule, r.issue, r.person) for r in world.rows()] == world.scenario.expected
    assert [s.action for s in report.steps] == ["open"] * 6
    assert report.summary().startswith("6 violation(s) now (6 opened)")
    dms = world.dms()
    # Each violation to the manager; R2's assignee gets the nudge, R3's and R4's assignees the notice.
    assert sum(1 for channel, _ in dms if channel == SCENARIO_MANAGER) == 6
    nudges = [c for c in world.slack.calls_of("chat.postMessage") if "track_human_first" in str(c.body)]
    assert [c.body["channel"] for c in nudges] == ["U0MIDLVL03"]
    assert len(dms) == 9
    again = world.run()
    assert again.steps == [] and again.sent == 0
    assert len(world.dms()) == 9
    # the sprint is one search, the epics' labels one more (⌈11/100⌉ + 1)
    assert len(received_jql(world.jira)) == 4


def test_relabelling_resolves_r1_r2_r3_on_the_next_run_and_tells_the_managers_once(world):
    world.run()
    team = world.team
    for key, track in world.scenario.fixes.items():
        result = actions.set_track(engine=world.engine, key=KEY, tracker=world.tracker, team=team, issue_key=key,
                                   track=track, actor=SCENARIO_MANAGER, now=NOW)
        assert not result.already
    assert world.jira.issues[world.scenario.keys["zone1"]].labels == ["human-first"]
    assert len(world.audit("jira.set_track")) == 2
    sent_before = len(world.dms())
    report = world.run()
    assert sorted((s.action, s.key.split("/")[0]) for s in report.steps) == [
        ("resolve", "R1"), ("resolve", "R2"), ("resolve", "R3")]
    resolved = world.dms()[sent_before:]
    assert len(resolved) == 3 and all(channel == SCENARIO_MANAGER and "resolved" in text
                                      for channel, text in resolved)
    assert world.run().sent == 0
    assert {r.rule: r.status for r in world.rows()} == {
        "R1": "resolved", "R2": "resolved", "R3": "resolved", "R4": "open", "R5": "open", "R6": "open"}


def test_a_track_already_set_writes_nothing(world):
    key = world.scenario.keys["junior_human"]
    result = actions.set_track(engine=world.engine, key=KEY, tracker=world.tracker, team=world.team,
                               issue_key=key, track="human-first", actor=SCENARIO_MANAGER, now=NOW)
    assert result.already and world.jira.calls_to("/issue/", method="PUT") == []
    assert world.audit("jira.set_track") == []


def test_only_the_assignee_or_a_manager_may_choose_a_track(world):
    key = world.scenario.keys["unlabelled"]  # assigned to U0MIDLVL03
    with pytest.raises(actions.TrackRefused, match="Only the assignee"):
        actions.set_track(engine=world.engine, key=KEY, tracker=world.tracker, team=world.team, issue_key=key,
                          track="ai-heavy", actor="U0JUNIOR01", now=NOW, assignee_or_manager=True)
    actions.set_track(engine=world.engine, key=KEY, tracker=world.tracker, team=world.team, issue_key=key,
                      track="ai-heavy", actor="U0MIDLVL03", now=NOW, assignee_or_manager=True)
    assert world.jira.issues[key].labels == ["ai-heavy"]


def test_an_acknowledged_violation_is_quiet_until_it_gets_worse(world):
    world.run()
    r1 = next(r for r in world.rows() if r.rule == "R1")
    refused = actions.acknowledge(engine=world.engine, key=KEY, violation_id=r1.id, user_id="U0JUNIOR01",
                                  reason="because", now=NOW)
    assert not refused.done and "managers" in refused.message
    done = actions.acknowledge(engine=world.engine, key=KEY, violation_id=r1.id, user_id=SCENARIO_MANAGER,
                               reason="release week: the split recovers next sprint", now=NOW)
    assert done.done
    (event,) = world.audit("violation.acknowledge")
    assert event.reason == "release week: the split recovers next sprint" and event.actor == SCENARIO_MANAGER
    before = len(world.dms())
    world.run()
    assert len(world.dms()) == before
    # much more ai-heavy work: the split moves further away, so the managers hear of it again
    for n in range(4):
        world.jira.add_issue(project="PLAT", labels=["ai-heavy"], components=["ui"], points=8,
                             sprint_ids=[world.scenario.sprint_id])
    report = world.run()
    assert ("renotify", r1.key) in [(s.action, s.key) for s in report.steps]
    assert next(r for r in world.rows() if r.rule == "R1").status == "open"
    assert [c for c, text in world.dms()[before:] if text.startswith("R1 split")] == [SCENARIO_MANAGER]


def test_jira_failing_mid_run_writes_nothing_and_the_next_run_catches_up(world):
    world.jira.fail_next("/search", status=503, count=5, retry_after=None)  # every retry of one run
    with pytest.raises(TrackerUnavailable):
        world.run()
    assert world.rows() == [] and world.dms() == []
    world.run()
    assert len(world.rows()) == 6


def test_dry_run_prints_what_it_would_do_and_writes_nothing(world):
    lines: list[str] = []
    report = world.run(dry_run=True, echo=lines.append)
    assert len(lines) == 6 and all(line.startswith("[dry-run] would open R") for line in lines)
    assert report.sent == 0 and world.rows() == [] and world.dms() == []


@pytest.fixture
def commenting(engine, jira, slack):
    return World(engine, jira, slack, comments=True)


def test_one_jira_comment_per_violation_even_when_killed_between_jiras_answer_and_the_record(commenting, monkeypatch):
    world = commenting
    real_complete = service.ledger.complete

    def killed(**kwargs):
        if kwargs["kind"] == service.COMMENT_KIND:
            raise SystemExit("killed")
        return real_complete(**kwargs)

    monkeypatch.setattr(service.ledger, "complete", killed)
    with pytest.raises(SystemExit):
        world.run()
    monkeypatch.setattr(service.ledger, "complete", real_complete)
    commented = [k for k, i in world.jira.issues.items() if i.comments]
    assert len(commented) == 1
    dms_before = len(world.dms())
    # the next run, after the dead process's lease ran out
    with Session(world.engine) as session:
        session.exec(update(Delivery).where(col(Delivery.done_at).is_(None))  # type: ignore[call-overload]
                     .values(claimed_at=datetime.now(UTC) - timedelta(hours=1)))
        session.commit()
    report = world.run()
    assert report.comments == 2  # R3 and R4; R2's comment was found by its marker instead of posted again
    assert sorted(len(i.comments) for i in world.jira.issues.values() if i.comments) == [1, 1, 1]
    assert len(world.audit("jira.comment")) == 3
    assert len(world.dms()) == dms_before  # every DM went out in the first run, once


def test_a_violation_broken_again_after_it_was_resolved_is_notified_again(world):
    world.run()
    key = world.scenario.keys["unlabelled"]
    world.jira.issues[key].labels = ["human-first"]
    world.run()
    r2 = next(r for r in world.rows() if r.rule == "R2")
    assert r2.status == "resolved"
    world.jira.issues[key].labels = []  # someone removed the label again
    before = len(world.dms())
    world.run()
    again = next(r for r in world.rows() if r.rule == "R2")
    assert again.id == r2.id and again.status == "open" and again.round == 2 and again.resolved_at is None
    channels = [c for c, _ in world.dms()[before:]]
    assert sorted(channels) == sorted([SCENARIO_MANAGER, "U0MIDLVL03"])  # the nudge and the managers' notice
