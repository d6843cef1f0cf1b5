"""The Jira sandbox's records and its deterministic seed: a payments team with 12 weeks of history.

The seed is driven by ``random.Random(42)`` and dated relative to the ``now`` it is given, so the same
``now`` always yields the same board. It tells a story the digest can find: velocity grows sprint after
sprint while the share of ``ai-heavy`` work and the number of incidents grow with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PROJECT_KEY = "PAY"
PROJECT_NAME = "Payments"
PROJECT_ID = 10000
SCRUM_BOARD_ID = 12
SCRUM_BOARD_NAME = "Payments"
KANBAN_BOARD_ID = 13
KANBAN_BOARD_NAME = "Payments Ops"

STORY_POINTS_FIELD = "customfield_10016"
EPIC_LINK_FIELD = "customfield_10014"
SPRINT_FIELD = "customfield_10020"
REVIEWER_FIELD = "customfield_10050"

FIRST_SPRINT_ID = 3411
CLOSED_SPRINTS = 6
ACTIVE_SPRINT_ID = FIRST_SPRINT_ID + CLOSED_SPRINTS  # 3417
SPRINT_LENGTH = timedelta(days=14)
FIRST_SPRINT_NUMBER = 21  # seed sprints are named "PAY Sprint 21" .. "PAY Sprint 27"

LABELS = ("human-first", "ai-heavy", "refactor", "incident", "rollback")
COMPONENTS = ("auth", "payments", "data-access", "ui", "reporting")
ISSUE_TYPES = ("Story", "Bug", "Task", "Epic", "Incident")

# Workflow: status -> (id, status category key, status category name).
STATUSES: dict[str, tuple[str, str, str]] = {
    "To Do": ("10000", "new", "To Do"),
    "In Progress": ("3", "indeterminate", "In Progress"),
    "In Review": ("10001", "indeterminate", "In Progress"),
    "Code Review": ("10002", "indeterminate", "In Progress"),
    "Done": ("10003", "done", "Done"),
}
ISSUE_TYPE_IDS = {"Story": "10001", "Bug": "10004", "Task": "10002", "Epic": "10000", "Incident": "10005"}


@dataclass(frozen=True, slots=True)
class SeedMember:
    """A person on the seeded team, with the ids each system knows them by."""

    slack_id: str
    jira_account_id: str  # Jira Cloud accountId
    dc_username: str  # Jira Data Center username
    display_name: str
    seniority: str  # junior | mid | senior


SEED_MEMBERS: list[SeedMember] = [
    SeedMember("U0SENIOR01", "5b10ac8d82e05b22cc7d4ef5", "ada.lovelace", "Ada Lovelace", "senior"),
    SeedMember("U0SENIOR02", "5b10ac8d82e05b22cc7d4ef6", "grace.hopper", "Grace Hopper", "senior"),
    SeedMember("U0SENIOR03", "5b10ac8d82e05b22cc7d4ef7", "edsger.dijkstra", "Edsger Dijkstra", "senior"),
    SeedMember("U0MIDLVL01", "5b10ac8d82e05b22cc7d4ef8", "barbara.liskov", "Barbara Liskov", "mid"),
    SeedMember("U0MIDLVL02", "5b10ac8d82e05b22cc7d4ef9", "ken.thompson", "Ken Thompson", "mid"),
    SeedMember("U0MIDLVL03", "5b10ac8d82e05b22cc7d4efa", "margaret.hamilton", "Margaret Hamilton", "mid"),
    SeedMember("U0JUNIOR01", "5b10ac8d82e05b22cc7d4efb", "linus.kernel", "Linus Kernel", "junior"),
    SeedMember("U0JUNIOR02", "5b10ac8d82e05b22cc7d4efc", "ada.junior", "Ada Junior", "junior"),
]

# The account govbot itself signs in as.
BOT_ACCOUNT_ID = "5b10ac8d82e05b22cc7d0b07"
BOT_USERNAME = "govbot"
BOT_EMAIL = "govbot@example.com"


# --- records


@dataclass
class SandboxUser:
    """A Jira user: accountId on Cloud, username (name) on Data Center."""

    account_id: str
    username: str
    display_name: str
    email: str


@dataclass
class SandboxBoard:
    """An Agile board and the project it lives in."""

    id: int
    name: str
    type: str  # scrum | kanban
    project_key: str
    estimation_field: str | None = None  # None: the board counts issues


@dataclass
class SandboxSprint:
    """An Agile sprint; dates are timezone-aware or None."""

    id: int
    name: str
    state: str  # future | active | closed
    board_id: int
    start: datetime | None = None
    end: datetime | None = None
    complete: datetime | None = None
    goal: str | None = None


@dataclass
class StatusChange:
    """One status transition in an issue's changelog."""

    at: datetime
    from_status: str
    to_status: str


@dataclass
class SandboxIssue:
    """An issue as the sandbox stores it; the server renders it per deployment (Cloud or Data Center)."""

    key: str
    id: int
    project: str
    issue_type: str
    status: str
    summary: str = ""
    labels: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    points: float | None = None
    parent_key: str | None = None
    assignee: str | None = None  # accountId of a SandboxUser
    reviewer: str | None = None  # accountId of a SandboxUser
    created: datetime | None = None
    updated: datetime | None = None
    resolved: datetime | None = None
    sprint_ids: list[int] = field(default_factory=list)
    history: list[StatusChange] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)


@dataclass
class SeedData:
    """Everything the seed creates."""

    users: dict[str, SandboxUser]
    boards: dict[int, SandboxBoard]
    sprints: dict[int, SandboxSprint]
    issues: dict[str, SandboxIssue]


def seed_users() -> dict[str, SandboxUser]:
    """The team members plus govbot's own account, keyed by accountId."""
    users = {
        m.jira_account_id: SandboxUser(
            m.jira_account_id, m.dc_username, m.display_name, f"{m.dc_username}@example.com"
        )
        for m in SEED_MEMBERS
    }
    users[BOT_ACCOUNT_ID] = SandboxUser(BOT_ACCOUNT_ID, BOT_USERNAME, "govbot", BOT_EMAIL)
    return users


def empty_data() -> SeedData:
    """Users only: no boards, sprints or issues."""
    return SeedData(users=seed_users(), boards={}, sprints={}, issues={})


# --- the seed

EPICS = (
    ("Card tokenisation v2", ("payments",), "human-first"),
    ("Login hardening", ("auth",), "human-first"),
    ("Ledger read models", ("data-access",), None),
    ("Merchant dashboard", ("ui",), "ai-heavy"),
    ("Monthly statements", ("reporting",), "ai-heavy"),
    ("Refund flow rewrite", ("payments", "ui"), None),
)
SUMMARIES = (
    "Validate {c} input",
    "Speed up {c} queries",
    "Add audit trail to {c}",
    "Fix flaky {c} test",
    "Clean up {c} module",
    "Expose {c} metrics",
    "Handle timeouts in {c}",
    "Paginate {c} listing",
    "Upgrade {c} dependency",
    "Document {c} API",
    "Retry {c} webhooks",
    "Cache {c} lookups",
)


def seed_data(now: datetime) -> SeedData:
    """The seeded Payments project: boards 12 (scrum) and 13 (kanban), 7 sprints and ~120 issues."""
    rng = random.Random(42)
    data = empty_data()
    data.boards[SCRUM_BOARD_ID] = SandboxBoard(
        SCRUM_BOARD_ID, SCRUM_BOARD_NAME, "scrum", PROJECT_KEY, STORY_POINTS_FIELD
    )
    data.boards[KANBAN_BOARD_ID] = SandboxBoard(
        KANBAN_BOARD_ID, KANBAN_BOARD_NAME, "kanban", PROJECT_KEY, None
    )

    # The active sprint started on the morning five days ago; the closed ones run back to back before it.
    active_start = (now - timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    for index in range(CLOSED_SPRINTS + 1):
        start = active_start - SPRINT_LENGTH * (CLOSED_SPRINTS - index)
        closed = index < CLOSED_SPRINTS
        sprint_id = FIRST_SPRINT_ID + index
        data.sprints[sprint_id] = SandboxSprint(
            id=sprint_id,
            name=f"{PROJECT_KEY} Sprint {FIRST_SPRINT_NUMBER + index}",
            state="closed" if closed else "active",
            board_id=SCRUM_BOARD_ID,
            start=start,
            end=start + SPRINT_LENGTH,
            complete=start + SPRINT_LENGTH + timedelta(hours=2) if closed else None,
            goal="Refactoring sprint: at least 50% of capacity on refactoring" if index == 2 else None,
        )

    builder = _IssueBuilder(rng, data, now)
    history_start = active_start - SPRINT_LENGTH * CLOSED_SPRINTS
    epic_keys = [builder.epic(title, comps, track, history_start) for title, comps, track in EPICS]
    for index, sprint_id in enumerate(sorted(data.sprints)):
        builder.sprint_work(data.sprints[sprint_id], index, epic_keys)
    builder.incidents(history_start, now)
    builder.backlog(now, epic_keys)
    return data


class _IssueBuilder:
    """Creates the seed's issues with plausible dates and status histories."""

    def __init__(self, rng: random.Random, data: SeedData, now: datetime) -> None:
        self.rng = rng
        self.data = data
        self.now = now
        self.next_number = 1
        self.members = SEED_MEMBERS
        self.seniors = [m for m in SEED_MEMBERS if m.seniority == "senior"]

    def new_issue(self, issue_type: str, created: datetime, **kwargs) -> SandboxIssue:
        key = f"{PROJECT_KEY}-{self.next_number}"
        issue = SandboxIssue(
            key=key,
            id=10000 + self.next_number,
            project=PROJECT_KEY,
            issue_type=issue_type,
            status="To Do",
            created=created,
            updated=created,
            **kwargs,
        )
        self.next_number += 1
        self.data.issues[key] = issue
        return issue

    def epic(self, title: str, components: tuple[str, ...], track: str | None, around: datetime) -> str:
        created = around - timedelta(days=self.rng.randint(3, 20), hours=self.rng.randint(0, 8))
        issue = self.new_issue(
            "Epic", created, summary=title, components=list(components), labels=[track] if track else []
        )
        issue.assignee = self.rng.choice(self.seniors).jira_account_id
        self.move(issue, "In Progress", created + timedelta(days=2))
        return issue.key

    def move(self, issue: SandboxIssue, status: str, at: datetime) -> None:
        """Transition an issue (no-op when already there), keeping the changelog and resolution in step."""
        if issue.status == status:
            return
        issue.history.append(StatusChange(at, issue.status, status))
        issue.status = status
        issue.updated = at
        issue.resolved = at if status == "Done" else None

    def sprint_work(self, sprint: SandboxSprint, index: int, epic_keys: list[str]) -> None:
        """12 issues in the first sprint growing to 17 in the active one; ai-heavy work grows with them."""
        assert sprint.start is not None and sprint.end is not None
        count = 12 + index - (1 if index == 6 else 0) + (1 if index >= 4 else 0)
        ai_share = 0.2 + 0.08 * index
        refactoring_sprint = sprint.goal is not None
        for _ in range(count):
            issue_type = self.rng.choices(("Story", "Bug", "Task"), weights=(6, 2, 2))[0]
            created = sprint.start - timedelta(days=self.rng.randint(0, 9), hours=self.rng.randint(0, 10))
            if issue_type == "Bug" and self.rng.random() < 0.5:
                created = sprint.start + timedelta(days=self.rng.randint(0, 6), hours=self.rng.randint(1, 8))
            member = self.rng.choice(self.members)
            epic_key = self.rng.choice(epic_keys) if self.rng.random() < 0.45 else None
            epic = self.data.issues[epic_key] if epic_key else None
            components = (
                list(epic.components) if epic else self.rng.sample(COMPONENTS, self.rng.choice((1, 1, 2)))
            )
            labels = self.track_labels(ai_share, epic)
            if self.rng.random() < (0.55 if refactoring_sprint else 0.12):
                labels.append("refactor")
            if issue_type == "Bug" and self.rng.random() < 0.25 + 0.05 * index:
                labels.append("incident")
            if issue_type == "Bug" and self.rng.random() < 0.04 * index:
                labels.append("rollback")
            issue = self.new_issue(
                issue_type,
                created,
                summary=self.rng.choice(SUMMARIES).format(c=components[0]),
                components=components,
                labels=labels,
                points=float(self.rng.choice((1, 2, 3, 3, 5, 5, 8))),
                parent_key=epic_key,
                assignee=member.jira_account_id,
                sprint_ids=[sprint.id],
            )
            ai_heavy = "ai-heavy" in labels or (epic is not None and "ai-heavy" in epic.labels)
            if ai_heavy and self.rng.random() < 0.8:
                issue.reviewer = self.rng.choice(self.seniors).jira_account_id
            if sprint.state == "closed":
                self.play_closed(issue, sprint)
            else:
                self.play_active(issue, sprint)

    def track_labels(self, ai_share: float, epic: SandboxIssue | None) -> list[str]:
        roll = self.rng.random()
        if epic is not None and any(t in epic.labels for t in ("human-first", "ai-heavy")) and roll < 0.5:
            return []  # inherits its track from the epic
        if roll < 0.08:
            return []  # unlabelled: rule R2 has something to find
        return ["ai-heavy"] if self.rng.random() < ai_share else ["human-first"]

    def play_closed(self, issue: SandboxIssue, sprint: SandboxSprint) -> None:
        """Most work finishes inside the sprint; the rest spills into the next one."""
        assert sprint.start is not None and sprint.end is not None and issue.created is not None
        begin = max(sprint.start, issue.created) + timedelta(hours=self.rng.randint(2, 30))
        self.move(issue, "In Progress", begin)
        review = begin + timedelta(days=self.rng.randint(1, 5), hours=self.rng.randint(0, 6))
        self.move(issue, self.rng.choice(("In Review", "Code Review")), review)
        if self.rng.random() < 0.88:
            done = min(review + timedelta(hours=self.rng.randint(3, 60)), sprint.end - timedelta(hours=3))
            self.move(issue, "Done", max(done, review + timedelta(hours=1)))
            return
        next_sprint = self.data.sprints[sprint.id + 1]
        issue.sprint_ids.append(next_sprint.id)
        if next_sprint.state == "closed":
            assert next_sprint.start is not None
            self.move(issue, "Done", next_sprint.start + timedelta(days=self.rng.randint(1, 6)))

    def play_active(self, issue: SandboxIssue, sprint: SandboxSprint) -> None:
        """The active sprint is five days in: work spread over every status, some of it waiting for review."""
        assert sprint.start is not None and issue.created is not None
        elapsed = self.now - sprint.start
        stage = self.rng.choices(("To Do", "In Progress", "review", "Done"), weights=(3, 4, 4, 3))[0]
        if stage == "To Do":
            return
        begin = max(sprint.start, issue.created) + elapsed * self.rng.uniform(0.05, 0.35)
        self.move(issue, "In Progress", begin)
        if stage == "In Progress":
            return
        review = begin + (self.now - begin) * self.rng.uniform(0.2, 0.8)
        self.move(issue, self.rng.choice(("In Review", "Code Review")), review)
        if stage == "Done":
            self.move(issue, "Done", review + (self.now - review) * self.rng.uniform(0.3, 0.9))

    def incidents(self, start: datetime, now: datetime) -> None:
        """Production incidents outside the sprints, more of them in recent weeks."""
        weeks = (now - start).days // 7
        for week in range(weeks + 1):
            for _ in range(self.rng.choices((0, 1, 2), weights=(5, 4, max(1, week)))[0]):
                created = start + timedelta(
                    weeks=week, days=self.rng.randint(0, 6), hours=self.rng.randint(0, 23)
                )
                if created >= now:
                    continue
                labels = ["incident"] + (["rollback"] if self.rng.random() < 0.35 else [])
                issue = self.new_issue(
                    "Incident",
                    created,
                    summary=f"Incident: {self.rng.choice(COMPONENTS)} degraded",
                    components=[self.rng.choice(COMPONENTS)],
                    labels=labels,
                    assignee=self.rng.choice(self.members).jira_account_id,
                )
                fixed = created + timedelta(hours=self.rng.randint(1, 40))
                self.move(issue, "In Progress", created + timedelta(minutes=20))
                if fixed < now:
                    self.move(issue, "Done", fixed)

    def backlog(self, now: datetime, epic_keys: list[str]) -> None:
        """A few unscheduled issues: a query without a sprint clause sees work outside the board's sprints."""
        for _ in range(6):
            created = now - timedelta(days=self.rng.randint(1, 60), hours=self.rng.randint(0, 20))
            component = self.rng.choice(COMPONENTS)
            self.new_issue(
                self.rng.choice(("Story", "Task")),
                created,
                summary=self.rng.choice(SUMMARIES).format(c=component),
                components=[component],
                labels=[self.rng.choice(("human-first", "ai-heavy", "refactor"))],
                points=float(self.rng.choice((2, 3, 5))),
                parent_key=self.rng.choice(epic_keys) if self.rng.random() < 0.5 else None,
            )
