"""Two-track staffing's check: read the sprint, evaluate R1–R6, keep the violations, tell people once.

The violation life cycle (SPEC §6): a violation is stored when found, notified once (assignee and managers by DM;
the R2 assignee gets the track nudge), re-notified only when it changes for the worse or in kind, resolved when
the rule holds again (the managers told once), and acknowledged by a manager with a reason (audited). Every DM and
Jira comment goes through the delivery ledger, keyed by violation and notice round, so a killed process neither
loses nor doubles one. Jira writes are audited *before* they are sent: a crash after Jira's answer never leaves a
write without its audit event, and a comment is found again by its marker instead of being posted twice.
The user actions (acknowledging, setting a track) are in ``actions``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from govbot.adapters.db.tables import StaffingViolation
from govbot.adapters.slack.notifier import Notifier
from govbot.adapters.tracker import JiraTracker, TrackerError
from govbot.adapters.tracker import staffing as jira
from govbot.core import audit
from govbot.core import delivery as ledger
from govbot.core.teams import StoredTeam
from govbot.domain.staffing import Evaluation, Step, Violation, evaluate, reconcile
from govbot.domain.tracks import Member, StaffingPolicy, has_both_tracks, own_track
from govbot.domain.work import Board, Issue, Sprint
from govbot.features.staffing import messages, repo
from govbot.teamconfig import TeamSettings

log = logging.getLogger(__name__)

NOTICE_KIND = "staffing-notice"
RESOLVED_KIND = "staffing-resolved"
COMMENT_KIND = "staffing-comment"
SYSTEM = "system"
ISSUE_RULES = ("R2", "R3", "R4")


def policy_of(settings: TeamSettings) -> StaffingPolicy:
    """The settings the rules read, as plain data."""
    return StaffingPolicy(
        target_human_first_pct=settings.track_target_human_first_pct,
        tolerance_pct=settings.track_tolerance_pct,
        junior_min_human_first_pct=settings.junior_min_human_first_pct,
        senior_review_cap=settings.senior_review_cap,
        zones={number: tuple(names) for number, names in settings.zones.items()},
        reviewer_field=settings.reviewer_field,
        human_first_label=settings.labels.human_first,
        ai_heavy_label=settings.labels.ai_heavy,
    )


def members_of(team: StoredTeam) -> list[Member]:
    """The team's members with their Jira references and seniority."""
    # Sentences name members by Slack mention: Slack shows the person's name, the CLI their user id.
    return [Member(slack=m.slack, jira=m.jira, seniority=m.seniority, name=f"<@{m.slack}>") for m in team.spec.members]


# --- reading and evaluating


@dataclass(frozen=True)
class SprintRead:
    """The active sprint's work as the rules need it (empty between sprints)."""

    sprint: Sprint | None
    issues: list[Issue] = field(default_factory=list)
    epic_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_points: bool = True

    @property
    def summaries(self) -> dict[str, str]:
        """Issue key -> summary, for messages."""
        return {issue.key: issue.summary for issue in self.issues}


def read_sprint(*, tracker: JiraTracker, team: StoredTeam, board: Board, sprint: Sprint | None,
                issues: list[Issue] | None = None) -> SprintRead:
    """One paged search for the sprint (unless its ``issues`` were read already by this run), and one batched
    search for the labels of the epics that give an issue its track."""
    by_points = board.estimation_field is not None
    if sprint is None:
        return SprintRead(sprint=None, by_points=by_points)
    if issues is None:
        issues = tracker.sprint_work(sprint.id, estimation_field=board.estimation_field,
                                     reviewer_field=team.settings.reviewer_field)
    policy = policy_of(team.settings)
    epics = {i.parent_key for i in issues
             if i.parent_key and own_track(i.labels, policy) is None and not has_both_tracks(i.labels, policy)}
    labels = jira.labels_of(tracker, epics) if epics else {}
    return SprintRead(sprint=sprint, issues=issues, epic_labels=labels, by_points=by_points)


def evaluate_read(*, team: StoredTeam, read: SprintRead) -> Evaluation | None:
    """Rules R1–R6 over the read sprint; None between sprints."""
    if read.sprint is None:
        return None
    return evaluate(team=team.name, sprint_id=read.sprint.id, issues=read.issues, epic_labels=read.epic_labels,
                    members=members_of(team), policy=policy_of(team.settings), by_points=read.by_points)


# --- the check-policy part


@dataclass
class CheckReport:
    """What one run found and did."""

    steps: list[Step] = field(default_factory=list)
    open_count: int = 0
    sent: int = 0
    comments: int = 0
    failed: int = 0

    def summary(self) -> str:
        """One line for the job's log."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        done = {"open": "opened", "reopen": "reopened", "change": "changed", "renotify": "re-notified",
                "resolve": "resolved"}
        changes = ", ".join(f"{n} {done[action]}" for action, n in sorted(counts.items())) or "no change"
        tail = f", {self.failed} could not be sent (retried next run)" if self.failed else ""
        return (f"{self.open_count} violation(s) now ({changes}); {self.sent} DM(s) sent, {self.comments} Jira "
                f"comment(s){tail}")


def check_staffing(*, engine: Engine, session: Session, key: bytes, team: StoredTeam, read: SprintRead,
                   tracker: JiraTracker, notifier: Notifier, now: datetime, dry_run: bool = False,
                   echo: Callable[[str], None] = print, jira_url: str | None = None) -> CheckReport:
    """Evaluate the sprint, store what changed, then send what is due (under dry-run: print, write nothing)."""
    evaluation = evaluate_read(team=team, read=read)
    found = list(evaluation.violations) if evaluation else []
    sprint_id = read.sprint.id if read.sprint else None
    steps = reconcile(known=repo.known(session=session, team_id=team.id), found=found, sprint_id=sprint_id)
    report = CheckReport(steps=steps, open_count=len(found))
    if dry_run:
        for step in steps:
            echo(f"[dry-run] would {step.action} {describe(step)}")
        return report
    apply_steps(session=session, team=team, steps=steps, now=now)
    session.commit()
    report.sent, report.failed = deliver(engine=engine, team=team, notifier=notifier, now=now, sprint_id=sprint_id,
                                         summaries=read.summaries, jira_url=jira_url)
    if team.settings.jira_comments:
        report.comments = comment(engine=engine, key=key, team=team, tracker=tracker, now=now)
    return report


def describe(step: Step) -> str:
    """A step in words, for --dry-run."""
    if step.violation is None:
        return f"resolve {step.key}" if step.action != "resolve" else step.key
    subject = step.violation.issue or step.violation.person or "sprint"
    told = " (notify)" if step.notify else ""
    return f"{step.violation.rule} {subject}{told}: {step.violation.detail}"


def apply_steps(*, session: Session, team: StoredTeam, steps: list[Step], now: datetime) -> None:
    """Write the reconciliation into the table (inside the caller's transaction)."""
    rows = repo.by_keys(session=session, keys=[s.key for s in steps])
    for step in steps:
        row = rows.get(step.key)
        if step.action == "resolve":
            if row is not None:
                row.status, row.resolved_at = "resolved", now
                session.add(row)
            continue
        assert step.violation is not None
        if row is None:
            row = StaffingViolation(team_id=team.id, key=step.key, rule=step.violation.rule, sprint_id=0,
                                    severity=step.violation.severity, detail="", fingerprint="", opened_at=now,
                                    changed_at=now, round=0)
        elif step.action in ("open", "reopen"):
            # Resolved earlier and broken again: a fresh violation as far as people are concerned.
            row.opened_at = now
            row.acknowledged_by = row.acknowledged_at = row.reason = None
        _store(row, step.violation, now)
        if step.action in ("open", "reopen", "renotify"):
            row.round += 1
            row.notified_state, row.notified_magnitude = step.violation.state, step.violation.magnitude
            row.status = "open"
            row.resolved_at = None
        session.add(row)


def _store(row: StaffingViolation, violation: Violation, now: datetime) -> None:
    row.sprint_id, row.issue, row.person = violation.sprint_id, violation.issue, violation.person
    row.detail, row.fingerprint = violation.detail, violation.fingerprint
    row.state, row.magnitude, row.changed_at = violation.state, violation.magnitude, now


# --- telling people


def recipients(row: StaffingViolation, team: StoredTeam) -> list[tuple[str, str]]:
    """(how, Slack user): the assignee of an issue rule (the R2 assignee gets the nudge), then the managers."""
    found: list[tuple[str, str]] = []
    if row.person and row.rule in ISSUE_RULES:
        found.append(("nudge" if row.rule == "R2" else "notice", row.person))
    found += [("notice", manager) for manager in team.spec.managers if ("notice", manager) not in found]
    return found


def deliver(*, engine: Engine, team: StoredTeam, notifier: Notifier, now: datetime, sprint_id: int | None,
            summaries: Mapping[str, str], jira_url: str | None) -> tuple[int, int]:
    """Send every notice that is due and not sent yet; (sent, failed). A failed one is tried on the next run."""
    sent = failed = 0
    labels = (team.settings.labels.human_first, team.settings.labels.ai_heavy)
    with Session(engine, expire_on_commit=False) as session:
        due = repo.to_notify(session=session, team_id=team.id)
        resolved = repo.resolved_in_sprint(session=session, team_id=team.id, sprint_id=sprint_id) if sprint_id else []
        done = repo.delivered(session=session, team_id=team.id, kinds=(NOTICE_KIND, RESOLVED_KIND))
    for row in due:
        for how, user in recipients(row, team):
            if (NOTICE_KIND, f"{row.id}:{row.round}:{how}:{user}") in done:
                continue
            if how == "nudge" and row.issue:
                text, blocks = messages.nudge_dm(key=row.issue, summary=summaries.get(row.issue, ""), team=team.name,
                                                 jira_url=jira_url, labels=labels)
            else:
                text, blocks = messages.violation_dm(row, team=team.name, jira_url=jira_url, again=row.round > 1)
            outcome = _once(engine, NOTICE_KIND, f"{row.id}:{row.round}:{how}:{user}", team.id, now,
                            partial(notifier.dm, user=user, text=text, blocks=blocks))
            sent, failed = sent + (outcome is True), failed + (outcome is None)
    for row in resolved:
        text = messages.resolved_dm(row, team=team.name, jira_url=jira_url)
        for manager in team.spec.managers:
            if (RESOLVED_KIND, f"{row.id}:{row.round}:{manager}") in done:
                continue
            outcome = _once(engine, RESOLVED_KIND, f"{row.id}:{row.round}:{manager}", team.id, now,
                            partial(notifier.dm, user=manager, text=text))
            sent, failed = sent + (outcome is True), failed + (outcome is None)
    return sent, failed


def _once(engine: Engine, kind: str, key: str, team_id: int, now: datetime, send: Callable[[], object]) -> bool | None:
    """Send through the ledger: True sent now, False sent before (or being sent), None failed (released)."""
    claim = ledger.claim(engine=engine, kind=kind, key=key, team_id=team_id)
    if claim is None:
        return False
    try:
        ref = send()
    except Exception as error:  # Slack trouble: this notice waits for the next run, the others still go out
        log.warning("could not send %s %s (%s: %s); it goes out on the next run", kind, key,
                    type(error).__name__, error)
        ledger.release(engine=engine, kind=kind, key=key, claim=claim)
        return None
    ledger.complete(engine=engine, kind=kind, key=key, now=now, ref=str(ref) if ref else None)
    return True


def comment(*, engine: Engine, key: bytes, team: StoredTeam, tracker: JiraTracker, now: datetime) -> int:
    """One Jira comment per open issue violation (ledgered; audited before it is posted; found by its marker
    after a crash instead of being posted twice)."""
    posted = 0
    with Session(engine, expire_on_commit=False) as session:
        rows = [r for r in repo.to_notify(session=session, team_id=team.id) if r.issue]
    for row in rows:
        assert row.issue is not None
        claim = ledger.claim(engine=engine, kind=COMMENT_KIND, key=str(row.id), team_id=team.id)
        if claim is None:
            continue
        marker = messages.comment_marker(row)
        try:
            existing = jira.find_comment(tracker, row.issue, marker)
            if existing is None:
                with Session(engine) as session:
                    if not repo.audited(session=session, action="jira.comment", target=marker):
                        audit.record(session=session, key=key, now=now, actor=SYSTEM, action="jira.comment",
                                     team=team.name, target=marker, after={"issue": row.issue, "rule": row.rule})
                        session.commit()
                existing = tracker.add_comment(row.issue, messages.comment_body(row))
                posted += 1
        except TrackerError:
            log.warning("could not comment on %s for %s; trying again next run", row.issue, row.key)
            ledger.release(engine=engine, kind=COMMENT_KIND, key=str(row.id), claim=claim)
            continue
        ledger.complete(engine=engine, kind=COMMENT_KIND, key=str(row.id), now=now, ref=existing)
    return posted
