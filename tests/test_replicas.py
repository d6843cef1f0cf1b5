"""Several processes, one bot (PostgreSQL, real processes, loopback only).

Two `govbot serve --no-scheduler` and two `govbot scheduler` processes share one PostgreSQL database and the
Slack sandbox. Both schedulers start at the same instant (one leads), signed slash commands go round-robin to
the web replicas all along, and the leading scheduler is killed with SIGKILL in the middle of the scheduled
fan-out of 200 survey invitations: the standby must take over within GOVBOT_FAILOVER_SECONDS, finish the
fan-out, and every member must get exactly one invitation. The migration is run twice at once first.

The figures seen (failover time, web requests per second during the kill) are printed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.cluster import (
    FAILOVER_SECONDS,
    GOVBOT,
    MEMBERS,
    Load,
    get,
    invitations,
    is_leader,
    survey_team_file,
    wait_for,
)

pytestmark = pytest.mark.postgres


@pytest.mark.timeout(600)
def test_two_web_and_two_scheduler_processes_act_as_one_bot_through_a_leader_kill(cluster, capsys):
    # The migration Job run twice, at once: both end well, the schema is at head once.
    migrations = [subprocess.Popen([GOVBOT, "db", "upgrade"], env=cluster.env(3000), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT) for _ in range(2)]
    for migration in migrations:
        output, _ = migration.communicate(timeout=180)
        assert migration.returncode == 0, output.decode()

    # The survey is due at the next minute that leaves the processes time to start.
    now = datetime.now(UTC)
    fire_at = (now + timedelta(seconds=40)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    imported = cluster.run("team", "import", str(survey_team_file(cluster.tmp, fire_at)))
    assert imported.returncode == 0, imported.stderr

    web_ports = [cluster.start("web-1", "serve", "--no-scheduler"), cluster.start("web-2", "serve", "--no-scheduler")]
    # Both schedulers at the same instant: exactly one leads.
    scheduler_ports = [cluster.start("scheduler-1", "scheduler"), cluster.start("scheduler-2", "scheduler")]
    for port in web_ports + scheduler_ports:
        wait_for(f"process on port {port} answering /healthz", lambda p=port: get(
            f"http://127.0.0.1:{p}/healthz")[0] == 200, timeout=60)
    wait_for("a scheduler leading", lambda: any(is_leader(p) for p in scheduler_ports), timeout=FAILOVER_SECONDS)
    leaders = [p for p in scheduler_ports if is_leader(p)]
    assert len(leaders) == 1, "both schedulers lead"
    leader_port = leaders[0]
    standby_port = next(p for p in scheduler_ports if p != leader_port)
    leader_name = next(n for n, (_, p) in cluster.processes.items() if p == leader_port)

    with Load(web_ports) as load:
        wait_for("the scheduled fan-out reaching a quarter of the team",
                 lambda: sum(invitations(cluster.slack).values()) >= 50,
                 timeout=(fire_at - datetime.now(UTC)).total_seconds() + 60, every=0.02)
        killed_at = time.monotonic()
        cluster.processes[leader_name][0].send_signal(signal.SIGKILL)
        sent_at_kill = sum(invitations(cluster.slack).values())
        takeover = wait_for("the standby leading", lambda: is_leader(standby_port), timeout=FAILOVER_SECONDS + 5)
        # The dead leader had at most its 4 sending workers' DMs in flight; more than that is the resumed run.
        resumed = takeover + wait_for("the interrupted fan-out resumed", lambda: sum(
            invitations(cluster.slack).values()) > sent_at_kill + 4, timeout=FAILOVER_SECONDS + 5, every=0.05)
        wait_for("every member invited", lambda: len(invitations(cluster.slack)) == len(MEMBERS),
                 timeout=FAILOVER_SECONDS + 120)
        done_at = time.monotonic()
        time.sleep(2)  # anything sent twice would show up now
    served = load.served(killed_at, done_at)

    sent = invitations(cluster.slack)
    assert sorted(sent) == MEMBERS
    assert [user for user, count in sent.items() if count != 1] == [], "members invited more than once"
    assert takeover <= FAILOVER_SECONDS and resumed <= FAILOVER_SECONDS
    assert sent_at_kill < len(MEMBERS), "the leader was killed after the fan-out had finished"
    answered = [status for _, _, status in served]
    assert answered and all(status == 200 for status in answered), Counter(answered)
    assert {port for _, port, _ in served} == set(web_ports), "a web replica served nothing"
    assert "resumed" in cluster.log(next(n for n, (_, p) in cluster.processes.items() if p == standby_port))
    window = done_at - killed_at
    with capsys.disabled():
        print(f"\n[replicas] leader killed after {sent_at_kill}/200 invitations; standby leading after "
              f"{takeover:.1f} s, fan-out resumed after {resumed:.1f} s, all 200 invited (each once) "
              f"{done_at - killed_at:.1f} s after the kill "
              f"(GOVBOT_FAILOVER_SECONDS={FAILOVER_SECONDS}); web replicas served {len(served)} signed commands "
              f"in those {window:.1f} s = {len(served) / window:.1f} requests/s, all 200 OK")
