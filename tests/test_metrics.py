"""Metrics served over real HTTP from a private registry on a free port."""

from __future__ import annotations

import socket
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from ha.metrics import Metrics
from ha.model import DaemonState, NodeCheck, Snapshot

pytest.importorskip("prometheus_client")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("mysqlha_"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


@pytest.fixture
def served() -> Iterator[tuple[Metrics, int]]:
    port = free_port()
    metrics = Metrics(f"127.0.0.1:{port}", log=pytest.fail)
    yield metrics, port
    metrics.close()


SNAPSHOT = Snapshot(
    number=7,
    wall_time=1_700_000_000.0,
    checks={
        "db1": NodeCheck("db1", "failed", 1.5, "Can't connect"),
        "db2": NodeCheck("db2", "ok", 0.004, semi_sync=True, semi_sync_clients=1),
    },
)
STATE = DaemonState(failures={"db1": 3, "db2": 0}, analysis="failing")


def test_observe_exports_node_and_state_metrics(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    assert metrics.enabled
    metrics.observe(SNAPSHOT, STATE)
    samples = scrape(port)
    assert samples['mysqlha_node_up{node="db1"}'] == 0
    assert samples['mysqlha_node_up{node="db2"}'] == 1
    assert samples['mysqlha_check_seconds{node="db1"}'] == 1.5
    assert samples['mysqlha_consecutive_failures{node="db1"}'] == 3
    assert samples['mysqlha_consecutive_failures{node="db2"}'] == 0
    assert samples['mysqlha_semi_sync_status{node="db2"}'] == 1
    assert 'mysqlha_semi_sync_status{node="db1"}' not in samples  # unknown: not exported
    assert samples['mysqlha_daemon_state{phase="armed"}'] == 1
    assert samples['mysqlha_daemon_state{phase="failing_over"}'] == 0
    assert samples['mysqlha_daemon_state{phase="switched_over"}'] == 0
    assert samples['mysqlha_analysis{kind="failing"}'] == 1
    assert samples['mysqlha_analysis{kind="master_down"}'] == samples['mysqlha_analysis{kind="all_healthy"}'] == 0


def test_answered_error_counts_as_up_and_the_phase_moves(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    metrics.observe(SNAPSHOT, STATE)
    checks = {
        "db1": NodeCheck("db1", "answered_error", 0.01, "1040 Too many connections"),
        "db2": NodeCheck("db2", "ok", 0.004, semi_sync=None),
    }
    metrics.observe(Snapshot(8, 1_700_000_005.0, checks), DaemonState(phase="failing_over", failures={"db1": 0}))
    samples = scrape(port)
    assert samples['mysqlha_node_up{node="db1"}'] == 1
    assert samples['mysqlha_consecutive_failures{node="db1"}'] == 0
    assert 'mysqlha_semi_sync_status{node="db2"}' not in samples  # no longer known: no stale value
    assert samples['mysqlha_daemon_state{phase="armed"}'] == 0
    assert samples['mysqlha_daemon_state{phase="failing_over"}'] == 1


def test_replication_lag_is_exported_when_the_check_has_it(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    metrics.observe(SNAPSHOT, STATE)
    assert not any(name.startswith("mysqlha_replication_lag_seconds{") for name in scrape(port))
    check = NodeCheck("db2", "ok", 0.004)
    object.__setattr__(check, "lag", 2.5)  # NodeCheck.lag is being added; stand in for it
    metrics.observe(Snapshot(8, 1_700_000_005.0, {"db2": check}), STATE)
    assert scrape(port)['mysqlha_replication_lag_seconds{node="db2"}'] == 2.5


def test_failover_counts_by_case_and_outcome(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    key = 'mysqlha_failovers_total{case="master_down",outcome="finished"}'
    assert scrape(port)[key] == 0  # pre-created, so rate() works from the first failover
    metrics.failover("master_down", "finished")
    metrics.failover("master_down", "finished")
    metrics.failover("candidate_down", "vetoed")
    samples = scrape(port)
    assert samples[key] == 2
    assert samples['mysqlha_failovers_total{case="candidate_down",outcome="vetoed"}'] == 1


def test_two_instances_do_not_share_a_registry(served: tuple[Metrics, int]) -> None:
    _, port = served
    other_port = free_port()
    other = Metrics(f"127.0.0.1:{other_port}", log=pytest.fail)
    try:
        other.failover("master_down", "stopped")
        assert scrape(other_port)['mysqlha_failovers_total{case="master_down",outcome="stopped"}'] == 1
        assert scrape(port)['mysqlha_failovers_total{case="master_down",outcome="stopped"}'] == 0
    finally:
        other.close()


def test_disabled_metrics_are_no_ops() -> None:
    lines: list[str] = []
    metrics = Metrics(None, log=lines.append)
    assert not metrics.enabled
    metrics.observe(SNAPSHOT, STATE)
    metrics.failover("master_down", "finished")
    metrics.close()
    assert lines == []


def test_a_port_in_use_disables_metrics_with_a_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        lines: list[str] = []
        metrics = Metrics(f"127.0.0.1:{sock.getsockname()[1]}", log=lines.append)
    assert not metrics.enabled
    assert len(lines) == 1 and lines[0].startswith("metrics disabled: cannot serve on 127.0.0.1:")
    metrics.observe(SNAPSHOT, STATE)


def test_close_shuts_the_server_down() -> None:
    port = free_port()
    metrics = Metrics(f"127.0.0.1:{port}", log=pytest.fail)
    assert scrape(port) != {}
    metrics.close()
    metrics.close()  # twice is fine
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    metrics.observe(SNAPSHOT, STATE)  # a no-op after close


def test_without_prometheus_client_metrics_are_off_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what an import sees when it is not installed
    lines: list[str] = []
    metrics = Metrics(f"127.0.0.1:{free_port()}", log=lines.append)
    assert not metrics.enabled
    assert lines == ["metrics disabled: pip install prometheus-client"]
    metrics.observe(SNAPSHOT, STATE)
    metrics.failover("master_down", "finished")
    metrics.close()


def test_events_last_cycle_and_pause(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    metrics.event("both_failing")
    metrics.event("both_failing")
    metrics.event("ack")
    metrics.cycle(1_700_000_000.5, paused=True)
    samples = scrape(port)
    assert samples['mysqlha_events_total{event="both_failing"}'] == 2
    assert samples['mysqlha_events_total{event="ack"}'] == 1
    assert samples["mysqlha_last_cycle_timestamp_seconds"] == 1_700_000_000.5
    assert samples["mysqlha_paused"] == 1
    metrics.cycle(1_700_000_001.5, paused=False)
    assert scrape(port)["mysqlha_paused"] == 0
