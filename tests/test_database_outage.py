"""The database goes away for 30 s and comes back (PostgreSQL, real processes, loopback only).

Two `govbot scheduler` processes reach PostgreSQL through a TCP relay on loopback that the test can cut: every
connection is dropped and new ones are refused for 30 s. Afterwards the two processes must still be alive and end
with exactly one leader, within GOVBOT_FAILOVER_SECONDS of the database coming back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from tests.cluster import Cluster, get, is_leader, wait_for
from tests.conftest import PG_URL, require_pg

OUTAGE_SECONDS = 30
FAILOVER_SECONDS = 15

pytestmark = pytest.mark.postgres


class Relay:
    """Forwards loopback TCP connections to PostgreSQL until cut; while cut, drops and refuses them all."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
                end.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


@pytest.mark.timeout(300)
def test_schedulers_come_back_as_one_leader_after_the_database_was_gone_for_30_seconds(tmp_path):
    require_pg()
    cluster = Cluster(tmp_path)
    target = make_url(PG_URL)
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    try:
        assert cluster.run("db", "upgrade").returncode == 0
        cluster.db_url = make_url(cluster.db_url).set(host="127.0.0.1", port=relay.port).render_as_string(
            hide_password=False)
        ports = [cluster.start("scheduler-1", "scheduler"), cluster.start("scheduler-2", "scheduler")]
        for port in ports:
            wait_for(f"scheduler on {port} answering", lambda p=port: get(f"http://127.0.0.1:{p}/healthz")[0] == 200,
                     timeout=60)
        wait_for("one leader", lambda: sum(is_leader(p) for p in ports) == 1, timeout=FAILOVER_SECONDS)

        relay.cut()
        # The leader notices that its lock's session is gone and stops running jobs.
        wait_for("no leader while the database is away", lambda: sum(is_leader(p) for p in ports) == 0,
                 timeout=FAILOVER_SECONDS)
        time.sleep(OUTAGE_SECONDS)
        assert sum(is_leader(p) for p in ports) == 0
        relay.restore()
        back = wait_for("exactly one leader again", lambda: sum(is_leader(p) for p in ports) == 1,
                        timeout=FAILOVER_SECONDS + 10, every=0.2)
        time.sleep(3)  # and it stays one
        assert sum(is_leader(p) for p in ports) == 1
        assert all(process.poll() is None for process, _ in cluster.processes.values())
        assert all(get(f"http://127.0.0.1:{p}/healthz")[0] == 200 for p in ports)
        print(f"\n[outage] database away {OUTAGE_SECONDS} s; one leader again {back:.1f} s after it came back")
    finally:
        cluster.close()
        relay.close()
