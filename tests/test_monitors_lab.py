"""Three monitors in the network-namespace lab (real etcd on the monitors' hosts, real MariaDB, supervisord,
HAProxy and daemons): a monitor cut off from master1, two of them, the leader cut off from etcd."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import wait_for
from monitorlab import FAILURES, INTERVAL, all_logs, count, leader, records, supervisord_spawns
from monitornetns import HOSTS, cut_from_etcd, heal_etcd, monitors_in_netns

from ha.sandbox.netns import NetnsLab
from tests.etcdfixture import HAVE_ETCD

pytestmark = pytest.mark.skipif(not HAVE_ETCD, reason="etcd-server is not installed")
STARTING = "master1 failing: failover starting"


def started(box: object) -> Callable[[], bool]:
    return lambda: all(lines.count("ok") >= 4 for lines in all_logs(box).values()) and leader(box)  # type: ignore[arg-type]


def cut_master1(lab: NetnsLab, monitor: str) -> None:
    lab.cut("master1", "refuse", member=HOSTS[monitor])


def test_one_monitor_cut_off_from_master1_no_failover_two_of_three_and_its_replicas_failover(tmp_path: Path) -> None:
    """One follower cut off from master1: no failover. Then the leader too, and master1 from its replicas
    (master2, slave3: dropped both ways, as a partition does): two of three monitors see master1 failing,
    the replicas confirm once its heartbeats stop (the lab tunes MASTER_HEARTBEAT_PERIOD to 1 s, so that
    is 1 s + replica_silence 3 s), and the leader fails over once, while the third monitor still sees
    master1 up. ``ask_replicas`` stays on throughout."""
    with monitors_in_netns(tmp_path / "box", interval=INTERVAL, failures=FAILURES) as (box, lab):
        wait_for(started(box), 60, "three monitors and a leader")
        chief = leader(box)
        assert chief is not None
        alone, seer = [name for name in HOSTS if name != chief]
        cut_master1(lab, alone)
        wait_for(lambda: count(box, "master1 fail detected!")[alone] >= FAILURES + 2, 30, f"{alone} to count failures")
        time.sleep(INTERVAL * (FAILURES + 2))
        assert sum(count(box, STARTING).values()) == 0, "one monitor of three cannot cause a failover"
        assert any(f"1 of 2 needed monitors see master1 failing ({alone})" in t for t in all_logs(box)[alone])
        seen_failing = count(box, "master1 fail detected!")[seer]
        cut_master1(lab, chief)
        for replica in ("master2", "slave3"):
            lab.cut_between("master1", replica, "drop")
        wait_for(lambda: sum(count(box, "failover finished! : master2 is new master").values()) == 1, 40, "failover")
        time.sleep(INTERVAL * (FAILURES + 2))
        logs = all_logs(box)
        assert logs[chief].count(STARTING) == 1 and sum(count(box, STARTING).values()) == 1
        assert count(box, "master1 fail detected!")[seer] == seen_failing, f"{seer} saw master1 up throughout"
        vetoed = "master1 unreachable from monitor but replicas still connected: not failing over"
        assert any(vetoed in t for t in logs[chief]), "the replicas were asked: they vetoed until master1 went silent"
        failovers = records(box, "failover", inside=lab.exec_prefix("mon"))
        assert [r["monitor"] for r in failovers] == [chief], failovers


def test_leader_cut_off_from_etcd_stops_acting_another_leads(tmp_path: Path) -> None:
    with monitors_in_netns(tmp_path / "box", interval=INTERVAL, failures=FAILURES) as (box, lab):
        wait_for(started(box), 60, "three monitors and a leader")
        chief = leader(box)
        assert chief is not None
        cut_from_etcd(lab, chief)
        try:
            wait_for(lambda: leader(box) not in (None, chief), 30, "another leader")
            heir = leader(box)
            wait_for(lambda: any("no etcd quorum" in t for t in all_logs(box)[chief]), 60, "the old leader's why")
            box.server("M1").kill()
            wait_for(
                lambda: "failover finished! : master2 is new master" in all_logs(box)[heir], 40, "the heir's failover"
            )
            why = "NOT failing over (master_down): no etcd quorum"
            wait_for(
                lambda: any(why in t for t in all_logs(box)[chief]), 60, "the old leader to say why it does not act"
            )
            logs = all_logs(box)
            assert STARTING not in logs[chief], "the old leader, cut off from etcd, never acted"
            assert sum(lines.count(STARTING) for lines in logs.values()) == 1
            failovers = records(box, "failover", heir, lab.exec_prefix(HOSTS[heir]))
            assert [r["monitor"] for r in failovers] == [heir], "one failover, recorded by the heir alone"
            for program in box.config.proxies.master_down.start:
                assert supervisord_spawns(box, program) == 1, f"{program} started by one actor, once"
        finally:
            heal_etcd(lab, chief)
