"""Hooks and metrics wired into the real daemon."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

from conftest import log_lines, needs_servers, wait_for
from test_safety import FINISHED, read_only, reconfigure, started

from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_events_reach_the_hook_and_metrics_count_the_failover(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    box = started(make_sandbox)
    events = tmp_path / "events"
    port = free_port()

    def configure(data: dict) -> None:
        data["hooks"] = {"on_event": f'echo "$MYSQLHA_EVENT $MYSQLHA_NODE $MYSQLHA_CASE" >> {events}', "timeout": 5}
        data["metrics"] = {"listen": f"127.0.0.1:{port}"}

    reconfigure(box, configure)
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover")
    wait_for(lambda: "failover_finished master1 master_down" in events.read_text(), 10, "the finished event")
    lines = events.read_text().splitlines()
    assert lines.index("failure_detected master1 ") < lines.index("failover_started master1 master_down")

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.read().decode()

    text = wait_for(lambda: 'mysqlha_daemon_state{phase="failed_over"} 1.0' in scrape() and scrape(), 10, "metrics")
    assert 'mysqlha_failovers_total{case="master_down",outcome="finished"} 1.0' in text
    assert 'mysqlha_node_up{node="master1"} 0.0' in text and 'mysqlha_node_up{node="master2"} 1.0' in text


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_pre_failover_hook_vetoes(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    """Asked every cycle; announced (hook, history) and counted once per episode."""
    box = started(make_sandbox)
    events, port = tmp_path / "events", free_port()
    hooks = {"pre_failover": "echo maintenance window; exit 3", "on_event": f'echo "$MYSQLHA_EVENT" >> {events}'}
    reconfigure(box, lambda d: d.update(hooks={**hooks, "timeout": 5}, metrics={"listen": f"127.0.0.1:{port}"}))
    box.server("M1").kill()
    wait_for(lambda: sum("VETOED" in line for line in log_lines(box)) >= 4, 30, "the veto, asked in four cycles")
    veto = next(line for line in log_lines(box) if "VETOED" in line)
    assert "maintenance window" in veto
    assert FINISHED not in log_lines(box)
    assert read_only(box, "M2") == 1
    assert events.read_text().splitlines().count("failover_vetoed") == 1
    text = scrape(port)
    assert 'mysqlha_failovers_total{case="master_down",outcome="vetoed"} 1.0' in text
    assert 'mysqlha_events_total{event="failover_vetoed"} 1.0' in text
