"""The schedule is a table: (config, phase, failures, closed channels, clock) -> when the next check is due."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest
from test_decide import CONFIG

from ha.config import Monitor, Node
from ha.schedule import cadence, next_check
from ha.watch import Watcher

CLASSIC = CONFIG.monitor  # interval 5, recheck_interval unset
FAST = replace(CLASSIC, interval=1.0, failures=3, recheck_interval=0.2)


@pytest.mark.parametrize(
    ("monitor", "phase", "failures", "closed", "due"),
    [
        (CLASSIC, "armed", {}, (), 105.0),  # healthy: every interval
        (CLASSIC, "armed", {"master1": 2}, (), 105.0),  # classic: rechecks at the interval
        (FAST, "armed", {"master1": 0, "master2": 0}, (), 101.0),
        (FAST, "armed", {"master1": 1}, (), 100.2),  # suspect: every recheck_interval
        (FAST, "armed", {"master2": 2}, (), 100.2),
        (FAST, "failed_over", {"master1": 9}, (), 101.0),  # nothing left to confirm
        (FAST, "armed", {}, ("master1",), 100.05),  # a closed channel: at once
        (CLASSIC, "failed_over", {}, ("master2",), 100.05),
    ],
)
def test_when_the_next_check_is_due(
    monitor: Monitor, phase: str, failures: dict[str, int], closed: tuple[str, ...], due: float
) -> None:
    assert next_check(monitor, phase, failures, closed, started=100.0, now=100.05) == pytest.approx(due)


def test_a_late_cycle_is_followed_at_once_never_in_the_past() -> None:
    assert next_check(FAST, "armed", {"master1": 1}, (), started=100.0, now=107.0) == 107.0


def test_the_window_is_failures_times_recheck() -> None:
    assert (CLASSIC.window, FAST.window) == (15.0, pytest.approx(0.6))
    assert cadence(FAST, "armed", {"master1": 1}) * FAST.failures == pytest.approx(FAST.window)


def test_the_watcher_reports_a_closed_channel_at_once_and_reopens_only_when_rearmed() -> None:
    servers: list[socket.socket] = []

    def opener(node: Node) -> socket.socket:
        ours, theirs = socket.socketpair()
        servers.append(theirs)
        return ours

    woken = threading.Event()
    watcher = Watcher([Node("master1", "h", 1, "master")], opener, lambda name: woken.set())
    try:
        assert watcher.take() == frozenset()
        watcher.rearm("master1")
        deadline = time.monotonic() + 5
        while not watcher.is_up("master1") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.is_up("master1") and len(servers) == 1
        closed_at = time.monotonic()
        servers[0].close()  # the server dies
        assert woken.wait(5)
        print(f"closed channel seen after {(time.monotonic() - closed_at) * 1000:.1f} ms")
        assert watcher.take() == frozenset({"master1"}) and watcher.take() == frozenset()
        time.sleep(0.1)
        assert len(servers) == 1, "reopened without a successful check"
        watcher.rearm("master1")
        while len(servers) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(servers) == 2
    finally:
        watcher.close()
        for server in servers:
            server.close()


def test_an_unreachable_node_waits_to_be_rearmed() -> None:
    tries: list[str] = []

    def opener(node: Node) -> socket.socket:
        tries.append(node.name)
        raise OSError("refused")

    watcher = Watcher([Node("master2", "h", 1, "candidate")], opener, lambda name: None)
    try:
        watcher.rearm("master2")
        time.sleep(0.2)
        assert tries == ["master2"] and watcher.take() == frozenset()
    finally:
        watcher.close()
