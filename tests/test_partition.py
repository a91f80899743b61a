"""Issue 9, defect 1: a monitor-only partition of master1 never fails over, in the netns lab.

The matrix: idle and busy master1 x refused (RST) and dropped (connects hang) cut of the
daemon's path to master1 x the server's default heartbeat (30 s) and a tuned one (1 s).
Replication keeps flowing through the bridge the whole time. For each case the daemon is
watched for failures x interval + replica_silence + one tuned heartbeat + a margin: zero
failovers (nor refusals), master2 read-only throughout, so never two writable masters.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import log_lines, needs_servers, wait_for
from lab import netns_sandbox, proxy_node

from ha.mysql import dialect_of, wait_running
from ha.sandbox.cluster import Sandbox
from ha.sandbox.netns import NetnsLab
from ha.state import StateStore

pytestmark = needs_servers
INTERVAL, FAILURES = 0.5, 4
TUNED = 1.0
VETO = "master1 unreachable from monitor but replicas still connected: not failing over"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, NetnsLab]]:
    directory = tmp_path_factory.mktemp("netns-lab")
    with netns_sandbox(directory, interval=INTERVAL, failures=FAILURES, daemon=False) as pair:
        yield pair


def set_heartbeat(box: Sandbox, period: float | None) -> float:
    """Give master1's replicas ``period`` (None: the server's default, slave_net_timeout / 2)."""
    used = 0.0
    for name in ("master2", "slave3"):
        server = box.server(name)
        with server.root() as cur:
            cur.execute("SELECT @@global.slave_net_timeout")
            used = period if period is not None else cur.fetchone()[0] / 2
            cur.execute("STOP SLAVE")
            cur.execute(f"CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = {used:g}")
            cur.execute("START SLAVE")
            wait_running(cur, dialect_of(cur), server.node, 20)
    with box.server("master1").root() as cur:
        deadline = time.monotonic() + 20
        while True:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'")
            if cur.fetchone()[1] == "1" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    return used


class Writer(threading.Thread):
    """Writes to master1 over its unix socket (not through the cut path), every 50 ms."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(daemon=True)
        self.box, self.rows, self.stopping = box, 0, threading.Event()

    def run(self) -> None:
        with self.box.server("master1").root() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS app.busy (id INT AUTO_INCREMENT PRIMARY KEY, at DOUBLE)")
            while not self.stopping.wait(0.05):
                cur.execute("INSERT INTO app.busy (at) VALUES (%s)", (time.time(),))
                self.rows += 1


def read_only(box: Sandbox, node: str) -> int:
    with box.server(node).root() as cur:
        cur.execute("SELECT @@global.read_only")
        return cur.fetchone()[0]


def received(box: Sandbox, node: str) -> str:
    with box.server(node).root() as cur:
        cur.execute("SELECT @@global.gtid_slave_pos")
        return cur.fetchone()[0]


@pytest.mark.parametrize("heartbeat", ["default", "tuned"])
@pytest.mark.parametrize("cut", ["refuse", "drop"])
@pytest.mark.parametrize("load", ["idle", "busy"])
def test_monitor_only_partition_of_master1_never_fails_over(
    lab: tuple[Sandbox, NetnsLab], load: str, cut: str, heartbeat: str
) -> None:
    box, netns = lab
    rpc = box.supervisor().rpc.supervisor
    period = set_heartbeat(box, TUNED if heartbeat == "tuned" else None)
    Path(box.config.failover.state_file).unlink(missing_ok=True)
    seen = len(log_lines(box))
    rpc.startProcess("mysqlcheck", True)
    writer = Writer(box)
    try:
        wait_for(lambda: log_lines(box)[seen:].count("ok") >= 4, 30, "the daemon's first checks")
        if load == "busy":
            writer.start()
        before = received(box, "master2")
        netns.cut("master1", "refuse" if cut == "refuse" else "drop")
        silence = box.config.failover.replica_silence
        window = FAILURES * INTERVAL + silence + TUNED + 3
        deadline = time.monotonic() + window
        while time.monotonic() < deadline:
            assert read_only(box, "master2") == 1, "master2 made writable while master1 is healthy: two masters"
            assert StateStore(box.config.failover.state_file).load().phase == "armed"
            time.sleep(0.25)
        lines = log_lines(box)[seen:]
        assert "master1 fail detected!" in lines, "the cut reached the daemon"
        assert lines.count(VETO) >= 3, "vetoed by the replicas, cycle after cycle"
        assert not any("failover starting" in line or "NOT failing over" in line for line in lines)
        assert read_only(box, "master1") == 0, "master1 untouched"
        slow = [line for line in lines if line.startswith("WARNING: master2 heartbeat 30 s: a hung master1")]
        assert bool(slow) == (heartbeat == "default"), "the start line says when the heartbeat is slow"
        if load == "busy":
            assert received(box, "master2") != before, "replication kept flowing during the cut"
        print(f"{load}/{cut}/heartbeat {period:g} s: {window:g} s cut, {lines.count(VETO)} vetoes, 0 failovers")
    finally:
        writer.stopping.set()
        if writer.is_alive():
            writer.join(10)
        netns.heal()
        try:
            rpc.stopProcess("mysqlcheck", True)
        except Exception:  # noqa: BLE001 - already stopped
            pass
    wait_for(lambda: proxy_node(box, netns, "mysql-proxy-master1") == "master1", 30, "writes via the proxy to master1")


def test_lab_addresses_exist_only_inside_the_lab(lab: tuple[Sandbox, NetnsLab]) -> None:
    box, netns = lab
    here = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    assert netns.prefix + "." not in here, "no lab address in the machine's own namespace"
    inside = subprocess.run([*netns.exec_prefix("mon"), "ip", "-o", "addr"], capture_output=True, text=True, timeout=10)
    assert f"{netns.prefix}.1/24" in inside.stdout
    assert box.config.master.host == f"{netns.prefix}.11" and box.config.master.port == 3306
