"""The digest's Jira reads, over the wire on Cloud and Data Center: the week's issues from one paged search, the
review queue with when each issue entered its status (long Cloud changelogs from one bulk call, never N+1), and
the JQL window read in the Jira account's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from govbot.adapters.tracker import JiraTracker, weekly
from govbot.domain.digest import IsoWeek, span
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import StatusChange

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def tracker_for(jira: JiraSandbox) -> JiraTracker:
    return JiraTracker(url=jira.url, **jira.credentials, sleep=lambda s: None)


def bounced(jira: JiraSandbox, key: str, times: int, last: datetime) -> None:
    """An issue that went back and forth between In Progress and In Review ``times`` times, last at ``last``."""
    history = []
    for n in range(times, 0, -1):
        at = last - timedelta(hours=2 * n)
        history += [StatusChange(at - timedelta(hours=1), "In Review", "In Progress"),
                    StatusChange(at, "In Progress", "In Review")]
    history.append(StatusChange(last - timedelta(minutes=30), "In Review", "In Progress"))
    history.append(StatusChange(last, "In Progress", "In Review"))
    jira.add_issue(key=key, status="In Review", created=last - timedelta(days=20), history=history)


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_review_queue_with_long_changelogs_costs_one_search_and_at_most_one_bulk_call(mode):
    with JiraSandbox(mode=mode, now=NOW, seed=False) as jira:
        jira.add_board(id=12, name="Payments", project_key="PAY")
        entered = NOW - timedelta(hours=30)
        bounced(jira, "PAY-1", 15, entered)  # 32 changes: more than Cloud embeds in a search result
        bounced(jira, "PAY-2", 12, entered - timedelta(hours=5))
        jira.add_issue(key="PAY-3", status="In Review", created=NOW - timedelta(hours=3))  # never moved
        jira.add_issue(key="PAY-4", status="In Progress", created=NOW - timedelta(days=3))
        queue = {i.key: i for i in weekly.review_queue(tracker_for(jira), project="PAY", statuses=["In Review"])}
        assert set(queue) == {"PAY-1", "PAY-2", "PAY-3"}
        assert queue["PAY-1"].status_since == entered
        assert queue["PAY-2"].status_since == entered - timedelta(hours=5)
        assert queue["PAY-3"].status_since == NOW - timedelta(hours=3)  # its creation
        assert len(jira.calls_to("/search")) == 1
        assert len(jira.calls_to("/changelog", "GET")) == 0  # no per-issue changelog reads
        assert len(jira.calls_to("/changelog/bulkfetch")) == (1 if mode == "cloud" else 0)


@pytest.mark.parametrize("user_zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_week_issues_are_complete_whatever_the_jira_account_timezone(user_zone):
    # JQL reads dates in the account's zone (UTC+14 and UTC-11 here): the query window is converted to that zone,
    # so issues at the very edges of the Berlin week are still returned.
    week = span(IsoWeek(2026, 47), BERLIN)
    with JiraSandbox(mode="cloud", now=NOW, seed=False, user_timezone=user_zone) as jira:
        jira.add_board(id=12, name="Payments", project_key="PAY")
        edges = {
            "PAY-1": week.start,
            "PAY-2": week.end - timedelta(seconds=1),
            "PAY-3": week.start - timedelta(seconds=1),
            "PAY-4": week.end,
        }
        for key, at in edges.items():
            jira.add_issue(key=key, status="Done", created=at - timedelta(days=30), resolved=at, points=1)
        found = weekly.week_issues(tracker_for(jira), project="PAY", start=week.start, end=week.end,
                                   estimation_field="customfield_10016")
        inside = {i.key for i in found if week.contains(i.resolved)}
        assert inside == {"PAY-1", "PAY-2"}
        assert all(i.points == 1.0 for i in found)
