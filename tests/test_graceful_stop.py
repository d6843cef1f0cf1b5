"""SIGTERM is graceful (PostgreSQL, real processes, loopback only).

The leading scheduler gets SIGTERM in the middle of the scheduled fan-out of 200 invitations: it releases the
lock at once (the standby leads without waiting for any lease), finishes the DMs it had started, hands the rest of
the run back, and exits 0; the standby resumes the run at once and every member is invited exactly once. A web
replica that gets SIGTERM under load stops taking requests and exits 0, and every request it answered was
answered in full.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.cluster import (
    FAILOVER_SECONDS,
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
def test_sigterm_hands_the_lead_and_the_running_job_over_at_once(cluster, capsys):
    assert cluster.run("db", "upgrade").returncode == 0
    fire_at = (datetime.now(UTC) + timedelta(seconds=40)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert cluster.run("team", "import", str(survey_team_file(cluster.tmp, fire_at))).returncode == 0
    web_ports = [cluster.start("web-1", "serve", "--no-scheduler"), cluster.start("web-2", "serve", "--no-scheduler")]
    scheduler_ports = [cluster.start("scheduler-1", "scheduler"), cluster.start("scheduler-2", "scheduler")]
    for port in web_ports + scheduler_ports:
        wait_for(f"process on port {port} answering", lambda p=port: get(f"http://127.0.0.1:{p}/healthz")[0] == 200,
                 timeout=60)
    wait_for("a leader", lambda: sum(is_leader(p) for p in scheduler_ports) == 1, timeout=FAILOVER_SECONDS)
    leader_port = next(p for p in scheduler_ports if is_leader(p))
    standby_port = next(p for p in scheduler_ports if p != leader_port)
    leader = next(name for name, (_, port) in cluster.processes.items() if port == leader_port)
    standby = next(name for name, (_, port) in cluster.processes.items() if port == standby_port)

    with Load(web_ports) as load:
        wait_for("the fan-out reaching a quarter of the team", lambda: sum(invitations(cluster.slack).values()) >= 50,
                 timeout=(fire_at - datetime.now(UTC)).total_seconds() + 60, every=0.02)
        stopped_at = time.monotonic()
        cluster.processes[leader][0].send_signal(signal.SIGTERM)
        takeover = wait_for("the standby leading", lambda: is_leader(standby_port), timeout=FAILOVER_SECONDS)
        assert cluster.processes[leader][0].wait(timeout=60) == 0
        wait_for("every member invited", lambda: len(invitations(cluster.slack)) == len(MEMBERS), timeout=120)
        finished = time.monotonic() - stopped_at
        web = cluster.processes["web-1"][0]
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=30) == 0
        time.sleep(1)
    sent = invitations(cluster.slack)
    assert sorted(sent) == MEMBERS and [u for u, n in sent.items() if n != 1] == []
    assert "handed back" in cluster.log(leader) and "resumed" in cluster.log(standby)
    # The stopped web replica answered in full until it stopped; the other took every request after.
    answered = Counter(status for _, _, status in load.answers)
    assert set(answered) <= {200, 0} and answered[200] > 0
    assert takeover < FAILOVER_SECONDS / 2, "the lead waited for a lease instead of being handed over"
    with capsys.disabled():
        print(f"\n[sigterm] leader stopped: standby leading after {takeover:.1f} s, all 200 invited (each once) "
              f"{finished:.1f} s after the SIGTERM")
