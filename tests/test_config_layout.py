"""check-config's live findings without servers: the layout differences and slow heartbeats, each with its fix.

Views are built by hand (what one look at each node would see); the real servers' side is in
tests/test_config_live.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from test_config import PATH, mutated, set_key, shipped

from ha.config import Config, parse_config
from ha.heartbeat import slow_detection, slow_findings
from ha.inspect import ClusterView, layout_findings, mismatches
from ha.model import DaemonState, NodeCheck, ReplicaView

CONFIG = parse_config(shipped(), PATH)
PORTS = {name: node.port for name, node in CONFIG.nodes.items()}


def replica(
    node: str, source: str, io: str = "Yes", sql: bool = True, error: str = "", period: float = 1.0
) -> ReplicaView:
    return ReplicaView(
        node, io, sql, "127.0.0.1", PORTS[source], "0-1-5", "0-1-5", 7, last_io_error=error, heartbeat_period=period
    )


def healthy(version: str = "mariadb 10.11.6") -> dict[str, NodeCheck]:
    def check(name: str, **fields: Any) -> NodeCheck:
        return NodeCheck(name, "ok", 0.001, version=version, **{"read_only": True, **fields})

    return {
        "master1": check("master1", read_only=False, semi_sync=True, semi_sync_clients=1),
        "master2": check("master2", semi_sync_replica=True, replica=replica("master2", "master1")),
        "slave3": check("slave3", replica=replica("slave3", "master1")),
        "slave4": check("slave4", replica=replica("slave4", "master2")),
    }


def view(nodes: dict[str, NodeCheck], **programs: str) -> ClusterView:
    states = {name: "RUNNING" if name in CONFIG.proxies.normal else "STOPPED" for name in CONFIG.proxies.programs}
    states.update({name.replace("_", "-"): state for name, state in programs.items()})
    return ClusterView(nodes, states, None, DaemonState())


def changed(node: str, **fields: Any) -> dict[str, NodeCheck]:
    nodes = healthy()
    nodes[node] = replace(nodes[node], **fields)
    return nodes


def test_the_normal_layout_has_no_findings() -> None:
    assert layout_findings(CONFIG, view(healthy())) == []


@pytest.mark.parametrize(
    ("nodes", "node", "problem", "fix"),
    [
        (changed("slave3", read_only=False), "slave3", "read_only is OFF, expected ON for a replica",
         "on slave3: SET GLOBAL read_only = ON; and set `read_only = ON` in slave3's my.cnf so a restart keeps it"),
        (changed("master1", read_only=True), "master1", "read_only is ON, expected OFF for a master",
         "on master1: SET GLOBAL read_only = OFF; only once no other node is writable (see the other lines)"),
        (changed("slave3", replica=replica("slave3", "master1", io="No", sql=False)), "slave3",
         "replication not running (IO No): ", "on slave3: START SLAVE;"),
        (changed("slave3", replica=replica("slave3", "master1", io="Connecting", error="error reconnecting")), "slave3",
         "replication not running (IO Connecting): error reconnecting",
         "remove the cause of the error above, then on slave3: START SLAVE;"),
        (changed("master1", semi_sync=False), "master1",
         "semi-sync source not on with a replica (status False, clients 1)",
         "on master1: SET GLOBAL rpl_semi_sync_master_enabled = ON; and set `rpl_semi_sync_master_enabled = ON` in "
         "master1's my.cnf so a restart keeps it (a source that fell back to async turns semi-sync on again by itself "
         "once master2 acknowledges)"),
        (changed("master2", semi_sync_replica=False), "master2", "not a semi-sync replica",
         "on master2: SET GLOBAL rpl_semi_sync_slave_enabled = ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD; and "
         "set `rpl_semi_sync_slave_enabled = ON` in master2's my.cnf so a restart keeps it"),
        (changed("slave4", replica=replica("slave4", "master1")), "slave4", "replicates from master1, expected master2",
         f"on slave4: STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={PORTS['master2']}, "
         "MASTER_USER='repl', MASTER_PASSWORD='<its password>', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; "
         "START SLAVE;"),
    ],
)  # fmt: skip
def test_each_layout_difference_says_what_to_run(
    nodes: dict[str, NodeCheck], node: str, problem: str, fix: str
) -> None:
    found = [f for f in layout_findings(CONFIG, view(nodes)) if f.node == node and f.problem == problem]
    assert len(found) == 1 and found[0].fix == fix, layout_findings(CONFIG, view(nodes))


def test_a_master_whose_replica_does_not_acknowledge_points_at_it() -> None:
    nodes = changed("master1", semi_sync_clients=0)
    nodes["master2"] = replace(nodes["master2"], semi_sync_replica=False)
    fixes = {f.node: f.fix for f in layout_findings(CONFIG, view(nodes))}
    assert fixes["master1"] == "make master2 its semi-sync replica (see master2's line, if any)"
    assert fixes["master2"].startswith("on master2: SET GLOBAL rpl_semi_sync_slave_enabled = ON;")


def test_mysql_nodes_get_mysql_statements() -> None:
    nodes = {name: replace(check, version="mysql 8.0.36") for name, check in changed("slave3", read_only=False).items()}
    nodes["master2"] = replace(nodes["master2"], semi_sync_replica=False)
    fixes = {f.node: f.fix for f in layout_findings(CONFIG, view(nodes))}
    assert fixes["slave3"].startswith("on slave3: SET GLOBAL super_read_only = ON;")
    assert fixes["master2"].startswith(
        "on master2: SET GLOBAL rpl_semi_sync_replica_enabled = ON; STOP REPLICA IO_THREAD; START REPLICA IO_THREAD;"
    )


def test_programs_and_unreachable_nodes_say_what_to_do() -> None:
    nodes = changed("slave3", status="failed", error="2003 Can't connect")
    found = layout_findings(CONFIG, view(nodes, mysql_proxy_master1="STOPPED", mysql_proxy_slave_failover1="RUNNING"))
    fixes = {f.node: f.fix for f in found}
    assert fixes["slave3"] == f"start slave3, or open the path from this host to 127.0.0.1:{PORTS['slave3']}"
    assert fixes["mysql-proxy-master1"] == "supervisorctl start mysql-proxy-master1"
    assert fixes["mysql-proxy-slave-failover1"] == "supervisorctl stop mysql-proxy-slave-failover1"


def test_the_one_line_form_is_unchanged() -> None:
    """ack, switchover and status list the differences as before: `node: problem`, no fix."""
    assert mismatches(CONFIG, view(changed("slave3", read_only=False))) == [
        "slave3: read_only is OFF, expected ON for a replica"
    ]


# --- heartbeats -----------------------------------------------------------------------------------


def views(**periods: float) -> dict[str, ReplicaView | None]:
    sources = {"master2": "master1", "slave3": "master1", "slave4": "master2"}
    return {name: replica(name, sources[name], period=period) for name, period in periods.items()}


def classic(**changes: Any) -> Config:
    data = mutated(*(set_key(key, value) for key, value in changes.items()))
    return parse_config(data, PATH)


def test_a_slow_heartbeat_is_a_warning_with_the_statements_to_run() -> None:
    (finding,) = slow_findings(CONFIG, views(master2=30.0, slave3=1.0))
    assert finding.severity == "warning" and finding.node == "master2"
    assert finding.problem == (
        "master2 heartbeat 30 s: a hung master1 is confirmed only after ~33 s (a replica vetoes until it has heard "
        "nothing for its period + failover.replica_silence = 30 + 3 s)"
    )
    assert finding.fix.startswith(
        "set MASTER_HEARTBEAT_PERIOD=1 (at most failover.replica_silence = 3 s) on master2: STOP SLAVE; "
        "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1; START SLAVE;"
    )
    assert "master1's commits wait for semi-sync meanwhile" in finding.fix, "master2 is master1's semi-sync replica"


def test_a_period_up_to_replica_silence_is_fine_and_longer_is_not() -> None:
    """The rule the daemon applies: a replica vetoes for its period + replica_silence; a period up to
    replica_silence keeps that within twice replica_silence."""
    assert slow_findings(CONFIG, views(master2=3.0, slave3=2.0)) == []
    assert [f.node for f in slow_findings(CONFIG, views(master2=3.5))] == ["master2"]


def test_the_estimate_is_never_below_the_monitor_window() -> None:
    """A hung master is confirmed after the monitor's window (failures x recheck_interval) at the earliest."""
    config = classic(**{"monitor.interval": 20, "monitor.failures": 3})  # a 60 s window
    (finding,) = slow_findings(config, views(slave3=30.0))
    assert "confirmed only after ~60 s" in finding.problem
    fast = classic(**{"monitor.recheck_interval": 0.2, "monitor.interval": 1, "monitor.failures": 3})
    assert "confirmed only after ~33 s" in slow_findings(fast, views(slave3=30.0))[0].problem


def test_heartbeats_off_say_the_replica_vetoes_until_its_io_thread_gives_up() -> None:
    (finding,) = slow_findings(CONFIG, views(slave4=0.0))
    assert finding.problem.startswith("slave4 heartbeat off (or unknown): a hung master2 is confirmed only once")
    assert "slave_net_timeout" in finding.problem and "commits wait" not in finding.fix


def test_no_heartbeat_warning_when_the_replicas_are_not_asked() -> None:
    config = classic(**{"failover.ask_replicas": False})
    assert slow_findings(config, views(master2=30.0, slave4=0.0)) == []


def test_the_daemon_start_line_is_problem_then_fix() -> None:
    (line,) = slow_detection(CONFIG, views(master2=30.0))
    assert line.startswith("master2 heartbeat 30 s: a hung master1 is confirmed only after ~33 s")
    assert "; set MASTER_HEARTBEAT_PERIOD=1 (at most failover.replica_silence = 3 s) on master2: STOP SLAVE;" in line


@pytest.mark.parametrize(
    ("phase", "fix"),
    [("failed_over", "none by hand while the daemon is failed_over: `mysqlha failback` brings the normal layout back"),
     ("switched_over",
      "none by hand while the daemon is switched_over: `mysqlha failback` brings the normal layout back"),
     ("failing_over", "none by hand: a plan is in progress and the daemon finishes it; then `mysqlha failback`"),
     ("refused", "put the normal layout back by hand, then `mysqlha ack` (the daemon touches nothing until then)")],
)  # fmt: skip
def test_unless_armed_the_fix_is_not_to_undo_the_failover_by_hand(phase: str, fix: str) -> None:
    """After a failover master1 is read-only on purpose: `SET GLOBAL read_only = OFF` would make two writers."""
    from ha.checkconfig import for_phase

    found = layout_findings(CONFIG, view(changed("master1", read_only=True)))
    assert for_phase("armed", found) == found
    assert {f.fix for f in for_phase(phase, found)} == {fix}
