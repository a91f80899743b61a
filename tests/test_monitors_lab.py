"""Three monitors in the network-namespace lab (real etcd on the monitors' hosts, real MariaDB, supervisord,
HAProxy and daemons): a monitor cut off from master1, two of them, the leader cut off from etcd."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import wait_for
from monitorlab import FAILURES, INTERVAL, all_logs, count, leader, records, set_everywhere, supervisord_spawns
from monitornetns import HOSTS, cut_from_etcd, heal_etcd, monitors_in_netns

from ha.sandbox.netns import NetnsLab
from tests.etcdfixture import HAVE_ETCD

pytestmark = pytest.mark.skipif(not HAVE_ETCD, reason="etcd-server is not installed")
STARTING = "master1 failing: failover starting"


def started(box: object) -> Callable[[], bool]:
    return lambda: all(lines.count("ok") >= 4 for lines in all_logs(box).values()) and leader(box)  # type: ignore[arg-type]


def cut_master1(lab: NetnsLab, monitor: str) -> None:
    lab.cut("master1", "refuse", member=HOSTS[monitor])


def test_one_monitor_cut_off_from_master1_no_failover_two_of_three_failover(tmp_path: Path) -> None:
    with monitors_in_netns(tmp_path / "box", interval=INTERVAL, failures=FAILURES) as (box, lab):
        wait_for(started(box), 60, "three monitors and a leader")
        cut_master1(lab, "mon2")
        wait_for(lambda: count(box, "master1 fail detected!")["mon2"] >= FAILURES + 2, 30, "mon2 to count failures")
        time.sleep(INTERVAL * (FAILURES + 2))
        assert sum(count(box, STARTING).values()) == 0, "one monitor of three cannot cause a failover"
        assert any("1 of 2 needed monitors see master1 failing (mon2)" in t for t in all_logs(box)["mon2"])
        # two of three: the quorum alone decides here (master1 is alive, its replicas would veto it)
        set_everywhere(box, "failover", "ask_replicas", False)
        wait_for(lambda: all(any("SIGHUP" in t for t in lines) for lines in all_logs(box).values()), 20, "reloads")
        cut_master1(lab, "mon3")
        wait_for(lambda: sum(count(box, "failover finished! : master2 is new master").values()) == 1, 30, "failover")
        assert sum(count(box, STARTING).values()) == 1
        assert len(records(box, "failover", inside=lab.exec_prefix("mon"))) == 1


def test_leader_cut_off_from_etcd_stops_acting_another_leads(tmp_path: Path) -> None:
    with monitors_in_netns(tmp_path / "box", interval=INTERVAL, failures=FAILURES) as (box, lab):
        wait_for(started(box), 60, "three monitors and a leader")
        chief = leader(box)
        assert chief is not None
        cut_from_etcd(lab, chief)
        try:
            wait_for(lambda: leader(box) not in (None, chief), 30, "another leader")
            heir = leader(box)
            wait_for(lambda: any("no etcd quorum" in t for t in all_logs(box)[chief]), 20, "the old leader's why")
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
