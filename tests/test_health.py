"""`mysqlha status` exit codes as a table: cluster view, heartbeat, mysqlcheck state, pause -> code."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_decide import classic_config

from ha.health import CRITICAL, DEGRADED, HEALTHY, actual_role, assess
from ha.inspect import ClusterView
from ha.liveness import Beat
from ha.model import DaemonState, NodeCheck, ReplicaView
from ha.pause import Pause

CONFIG = classic_config()
NOW = 1_700_000_000.0
BEAT = Beat(NOW - 1, 63, "AllHealthy", "all checks ok", 99, CONFIG.monitor.interval)


def replica_of(source: str, io: str = "Yes") -> ReplicaView:
    return ReplicaView("x", io, True, "127.0.0.1", CONFIG.nodes[source].port, "0-1-5", "0-1-5", 3)


def normal() -> dict[str, NodeCheck]:
    return {
        "master1": NodeCheck("master1", "ok", 0.001, read_only=False, semi_sync=True, semi_sync_clients=1),
        "master2": NodeCheck(
            "master2", "ok", 0.001, read_only=True, replica=replica_of("master1"), semi_sync_replica=True
        ),
        "slave3": NodeCheck("slave3", "ok", 0.001, read_only=True, replica=replica_of("master1")),
        "slave4": NodeCheck("slave4", "ok", 0.001, read_only=True, replica=replica_of("master2")),
    }


def view(nodes: dict[str, NodeCheck], phase: str = "armed") -> ClusterView:
    programs = {n: "RUNNING" if n in CONFIG.proxies.normal else "STOPPED" for n in CONFIG.proxies.programs}
    return ClusterView(nodes, programs, None, DaemonState(phase=phase))  # type: ignore[arg-type]


def failed_over() -> dict[str, NodeCheck]:
    nodes = normal()
    nodes["master1"] = NodeCheck("master1", "failed", 1.0, error="2003 refused")
    nodes["master2"] = NodeCheck("master2", "ok", 0.001, read_only=False)
    return nodes


def two_writers() -> dict[str, NodeCheck]:
    nodes = normal()
    nodes["master2"] = replace(nodes["master2"], read_only=False, replica=None)
    return nodes


@pytest.mark.parametrize(
    ("nodes", "phase", "program", "beat", "pause", "code", "words"),
    [
        (normal(), "armed", "RUNNING", BEAT, None, HEALTHY, "daemon running"),
        (normal(), "armed", "STOPPED", BEAT, None, CRITICAL, "daemon not running (mysqlcheck STOPPED)"),
        (normal(), "armed", None, None, None, CRITICAL, "daemon not running"),
        (normal(), "armed", "RUNNING", replace(BEAT, time=NOW - 600), None, CRITICAL, "daemon stale (last cycle"),
        (normal(), "armed", "RUNNING", BEAT, Pause(NOW - 5, NOW + 60, "work", "alice"), DEGRADED, "paused by alice"),
        (failed_over(), "failed_over", "RUNNING", BEAT, None, DEGRADED, "not armed"),
        (two_writers(), "armed", "RUNNING", BEAT, None, CRITICAL, "2 writable masters"),
        (
            {**normal(), "master1": NodeCheck("master1", "failed", 1.0, error="2003")},
            "armed",
            "RUNNING",
            BEAT,
            None,
            CRITICAL,
            "no writable master",
        ),
        (
            {**normal(), "slave3": replace(normal()["slave3"], replica=replica_of("master1", io="Connecting"))},
            "armed",
            "RUNNING",
            BEAT,
            None,
            DEGRADED,
            "slave3: replication not running",
        ),
    ],
)
def test_exit_codes(
    nodes: dict[str, NodeCheck],
    phase: str,
    program: str | None,
    beat: Beat | None,
    pause: Pause | None,
    code: int,
    words: str,
) -> None:
    health = assess(CONFIG, view(nodes, phase), program, beat, pause, NOW)
    assert health.code == code, health.problems
    assert any(words in text for text in (health.daemon, *health.problems)), (health.daemon, health.problems)


def test_after_a_failover_the_writer_and_roles_are_the_actual_ones() -> None:
    health = assess(CONFIG, view(failed_over(), "failed_over"), "RUNNING", BEAT, None, NOW)
    assert health.writer == "master2"
    assert health.roles == {
        "master1": "down",
        "master2": "master",
        "slave3": "replica of master1",
        "slave4": "replica of master2",
    }
    assert actual_role(CONFIG, view(two_writers()), "master2") == "master"
