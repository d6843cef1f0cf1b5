"""`/govbot setup` maps members to Jira with Jira's user search: the accountId on Cloud, the username on Data
Center; members it cannot match are named to the admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from govbot.adapters.slack.ids import CallbackId
from govbot.adapters.tracker import JiraTracker
from govbot.core import teams as repo
from govbot.sandbox.jira_api import JiraSandbox
from govbot.sandbox.jira_seed import SEED_MEMBERS
from govbot.sandbox.jira_staffing import member_reference
from tests.conftest import close_bot, make_bot
from tests.test_manage_surface import ADMIN, open_setup, setup_values

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request):
    with JiraSandbox(mode=request.param, now=NOW, seed=False) as sandbox:
        yield sandbox


@pytest.fixture
def bot(sqlite_url, jira):
    instance = make_bot(sqlite_url, tracker_factory=lambda: JiraTracker(url=jira.url, sleep=lambda _s: None,
                                                                       **jira.credentials))
    yield instance
    close_bot(instance)


def test_setup_finds_members_jira_accounts_and_names_those_it_cannot_match(bot, jira):
    ada = SEED_MEMBERS[0]
    for user, email in (("U0SEARCH01", "ada.lovelace@example.com"), ("U0SEARCH02", "nobody@example.com"),
                        ("U0SEARCH03", None)):
        bot.sandbox.add_user(user)
        if email:
            bot.sandbox._users[user]["profile"]["email"] = email
    bot.sandbox.add_user(ADMIN)
    view = open_setup(bot)
    values = setup_values(view, mids={"selected_users": ["U0SEARCH03"]})
    response = bot.sim.view_submission(user_id=ADMIN, callback_id=CallbackId.TEAM_SETUP, values=values)
    assert response.status == 200
    posts = {c.body["channel"]: c.body["text"] for c in bot.wait_for("chat.postMessage", 2)}
    confirmation = posts[ADMIN]
    assert "found the account of 1 member(s)" in confirmation
    assert "no single account for the e-mail of <@U0SEARCH02>" in confirmation
    assert "Slack showed no email for <@U0SEARCH03>" in confirmation
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="search")
    assert {m.slack: m.jira for m in team.spec.members} == {
        "U0SEARCH01": member_reference(ada, jira.mode), "U0SEARCH02": "nobody@example.com",
        "U0SEARCH03": "U0SEARCH03"}
    assert len(jira.calls_to("/user/search")) == 2  # one look-up per member with an e-mail


def test_setup_keeps_the_emails_and_says_so_when_jira_cannot_be_searched(bot, jira):
    bot.sandbox.add_user("U0SEARCH01")
    bot.sandbox._users["U0SEARCH01"]["profile"]["email"] = "ada.lovelace@example.com"
    bot.sandbox.add_user("U0SEARCH02")
    bot.sandbox._users["U0SEARCH02"]["profile"]["email"] = "linus.kernel@example.com"
    bot.sandbox.add_user(ADMIN)
    jira.fail_next("/user/search", status=403)
    view = open_setup(bot)
    bot.sim.view_submission(user_id=ADMIN, callback_id=CallbackId.TEAM_SETUP, values=setup_values(view))
    posts = {c.body["channel"]: c.body["text"] for c in bot.wait_for("chat.postMessage", 2)}
    assert "Jira's user search failed" in posts[ADMIN] and "HTTP 403" in posts[ADMIN]
    with Session(bot.engine) as session:
        team = repo.get_team(session=session, name="search")
    assert {m.jira for m in team.spec.members} == {"ada.lovelace@example.com", "linus.kernel@example.com"}
