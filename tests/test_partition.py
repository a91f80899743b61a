"""Issue 9, defect 1: a monitor-only partition of master1 never fails over, in the netns lab.

The matrix: idle and busy master1 x refused (RST) and dropped (connects hang) cut of the
daemon's path to master1 x the server's default heartbeat (30 s) and a tuned one (1 s).
Replication keeps flowing through the bridge the whole time. For each case the daemon is
watched for failures x interval + replica_silence + one tuned heartbeat + a margin: zero
failovers (nor refusals), master2 read-only throughout, so never two writable masters. One long
case (idle, dropped, default heartbeat) is watched for more than two 30 s heartbeat periods.
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

from ha.mysql import dialect_of, replica_status, wait_running
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


class Watch:
    """What one poll of a cut's window saw; ``at`` is seconds since the cut."""

    def __init__(self) -> None:
        self.polls: list[tuple[float, int, int | None]] = []  # (at, log lines so far, master2's heartbeats)


def heartbeats(box: Sandbox, node: str) -> int | None:
    """The replica's Slave_received_heartbeats counter."""
    with box.server(node).root() as cur:
        view = replica_status(cur)
    return view.heartbeats if view else None


def partition_case(
    lab: tuple[Sandbox, NetnsLab], load: str, cut: str, heartbeat: str, window: float | None = None
) -> tuple[list[str], Watch]:
    """Start a fresh daemon, cut its path to master1 and watch ``window`` seconds (the matrix's
    default: failures x interval + replica_silence + one tuned heartbeat + a margin): zero failovers
    (nor refusals), master2 read-only and the phase armed at every poll, the veto cycle after cycle.
    Returns the daemon's lines since it started and the polls."""
    box, netns = lab
    rpc = box.supervisor().rpc.supervisor
    period = set_heartbeat(box, TUNED if heartbeat == "tuned" else None)
    Path(box.config.failover.state_file).unlink(missing_ok=True)
    seen = len(log_lines(box))
    rpc.startProcess("mysqlcheck", True)
    writer = Writer(box)
    watch = Watch()
    try:
        wait_for(lambda: log_lines(box)[seen:].count("ok") >= 4, 30, "the daemon's first checks")
        if load == "busy":
            writer.start()
        before = received(box, "master2")
        netns.cut("master1", "refuse" if cut == "refuse" else "drop")
        silence = box.config.failover.replica_silence
        window = window or FAILURES * INTERVAL + silence + TUNED + 3
        cut_at = time.monotonic()
        while (at := time.monotonic() - cut_at) < window:
            assert read_only(box, "master2") == 1, "master2 made writable while master1 is healthy: two masters"
            assert StateStore(box.config.failover.state_file).load().phase == "armed"
            watch.polls.append((at, len(log_lines(box)) - seen, heartbeats(box, "master2")))
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
    return lines, watch


@pytest.mark.parametrize("heartbeat", ["default", "tuned"])
@pytest.mark.parametrize("cut", ["refuse", "drop"])
@pytest.mark.parametrize("load", ["idle", "busy"])
def test_monitor_only_partition_of_master1_never_fails_over(
    lab: tuple[Sandbox, NetnsLab], load: str, cut: str, heartbeat: str
) -> None:
    partition_case(lab, load, cut, heartbeat)


DEFAULT_HEARTBEAT = 30.0
LONG_WINDOW = 2 * DEFAULT_HEARTBEAT + 6  # more than two heartbeat periods


def test_an_idle_master1_cut_off_for_two_default_heartbeats_never_fails_over(
    lab: tuple[Sandbox, NetnsLab],
) -> None:
    """The matrix's windows end before a 30 s heartbeat can matter: a daemon that never read the
    heartbeat counters would pass them. Here idle master1 (its replicas hear only heartbeats) is cut
    off for more than two default periods: master2's heartbeat counter moves, the veto still holds
    past heartbeat + replica_silence (33 s), zero failovers, master2 read-only at every poll."""
    box, _ = lab
    lines, watch = partition_case(lab, "idle", "drop", "default", window=LONG_WINDOW)
    allowed = DEFAULT_HEARTBEAT + box.config.failover.replica_silence
    counts = [count for _, _, count in watch.polls if count is not None]
    assert counts and counts[-1] > counts[0], f"master2 received heartbeats during the cut: {counts[0]} -> {counts[-1]}"
    late = next(index for at, index, _ in watch.polls if at > allowed)
    assert VETO in lines[late:], f"still vetoed after {allowed:g} s of an idle master1"
    assert not any("failover starting" in line for line in lines)
    print(f"idle/drop/heartbeat 30 s for {LONG_WINDOW:g} s: heartbeats {counts[0]} -> {counts[-1]}, "
          f"{lines[late:].count(VETO)} vetoes after {allowed:g} s")  # fmt: skip


def test_lab_addresses_exist_only_inside_the_lab(lab: tuple[Sandbox, NetnsLab]) -> None:
    box, netns = lab
    here = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    assert netns.prefix + "." not in here, "no lab address in the machine's own namespace"
    inside = subprocess.run([*netns.exec_prefix("mon"), "ip", "-o", "addr"], capture_output=True, text=True, timeout=10)
    assert f"{netns.prefix}.1/24" in inside.stdout
    assert box.config.master.host == f"{netns.prefix}.11" and box.config.master.port == 3306
