"""Lease, leader key, deadline and the etcd state store against a real 3-member etcd."""

from __future__ import annotations

import time

import pytest

from ha.coordination import Coordinator
from ha.errors import MysqlhaError
from ha.etcd import Etcd, EtcdOptions
from ha.etcdstore import EtcdStateStore, NotLeading
from ha.model import DaemonState
from ha.quorum import NodeView, View
from ha.sandbox.etcdcluster import EtcdCluster


def monitor(cluster: EtcdCluster, name: str, ttl: int = 2) -> Coordinator:
    return Coordinator(Etcd(EtcdOptions(cluster.endpoints, timeout=1.0)), name, "/ha/test", ttl, log=lambda line: None)


def view(name: str) -> View:
    return View(name, time.time(), {"master1": NodeView("ok", 0)})


def test_one_leader_views_and_takeover_after_expiry(etcd_cluster: EtcdCluster) -> None:
    first, second = monitor(etcd_cluster, "mon1"), monitor(etcd_cluster, "mon2")
    one = first.step(view("mon1"))
    two = second.step(view("mon2"))
    assert one.leading and first.may_act() and not two.leading and two.leader == "mon1"
    assert sorted(v.monitor for v in two.views) == ["mon1", "mon2"]
    # mon1 stops renewing: its own deadline passes before etcd lets mon2 take the key
    stopped = time.monotonic()
    while first.may_act():
        time.sleep(0.05)
    gave_up = time.monotonic() - stopped
    while not second.step(view("mon2")).leading:
        time.sleep(0.1)
    took_over = time.monotonic() - stopped
    assert gave_up < took_over
    assert [v.monitor for v in second.last.views] == ["mon2"]  # type: ignore[union-attr]  # mon1's view expired
    assert not first.step(view("mon1")).leading  # it comes back with a new lease, as a follower


def test_resign_hands_over_at_once(etcd_cluster: EtcdCluster) -> None:
    first, second = monitor(etcd_cluster, "mon1", ttl=10), monitor(etcd_cluster, "mon2", ttl=10)
    assert first.step(view("mon1")).leading
    first.resign()
    assert not first.may_act()
    assert second.step(view("mon2")).leading


def test_state_written_only_by_the_leader(etcd_cluster: EtcdCluster) -> None:
    first, second = monitor(etcd_cluster, "mon1"), monitor(etcd_cluster, "mon2")
    first.step(view("mon1"))
    second.step(view("mon2"))
    mine, theirs = EtcdStateStore(first), EtcdStateStore(second)
    assert theirs.load() == DaemonState()
    mine.save(DaemonState(phase="failing_over", case="master_down", failed_node="master1", steps_done=2))
    assert theirs.load().steps_done == 2
    with pytest.raises(NotLeading):
        theirs.save(DaemonState())
    # a leader whose key is gone (expired behind its back) cannot write even before its own deadline
    first.etcd.revoke(first.lease)
    with pytest.raises(NotLeading):
        mine.save(DaemonState())
    assert theirs.load().steps_done == 2


def test_etcd_unreachable_means_no_action_and_the_cached_state(etcd_cluster: EtcdCluster) -> None:
    first = monitor(etcd_cluster, "mon1")
    assert first.step(view("mon1")).leading
    store = EtcdStateStore(first)
    store.save(DaemonState(phase="failed_over", case="master_down", failed_node="master1"))
    etcd_cluster.down()
    found = first.step(view("mon1"))
    assert found.problem and not found.reachable
    while first.may_act():  # the deadline passes whether or not etcd answers
        time.sleep(0.05)
    assert store.load().phase == "failed_over"  # what it last saw, for fencing the old master


def test_the_pause_in_etcd_is_shared_and_expires(etcd_cluster: EtcdCluster) -> None:
    from ha.etcdpause import EtcdPauseStore
    from ha.pause import Pause

    one = EtcdPauseStore(Etcd(EtcdOptions(etcd_cluster.endpoints, timeout=1.0)), "/ha/test/pause")
    other = EtcdPauseStore(Etcd(EtcdOptions(etcd_cluster.endpoints[::-1], timeout=1.0)), "/ha/test/pause")
    assert other.load() is None
    one.save(Pause(100.0, 200.0, "maintenance", "alice@db1"))
    assert other.active(150.0) == (Pause(100.0, 200.0, "maintenance", "alice@db1"), None)
    assert other.active(250.0) == (None, Pause(100.0, 200.0, "maintenance", "alice@db1"))  # expired: removed
    assert one.load() is None
    one.save(Pause(100.0, None, "", "bob@db2"))
    etcd_cluster.down()
    assert one.load() == Pause(100.0, None, "", "bob@db2")  # etcd away: the last value read stands


def test_an_operator_writes_by_compare_and_swap_and_nobody_clobbers(etcd_cluster: EtcdCluster) -> None:
    first = monitor(etcd_cluster, "mon1")
    first.step(view("mon1"))
    daemon = EtcdStateStore(first)
    operator = EtcdStateStore(monitor(etcd_cluster, "mon2"), operator=True)
    daemon.save(DaemonState(phase="failed_over", case="master_down", failed_node="master1"))
    assert operator.load().phase == "failed_over"
    daemon.save(DaemonState(phase="failed_over", case="master_down", failed_node="master1", sentence="later"))
    with pytest.raises(MysqlhaError, match="changed meanwhile"):
        operator.save(DaemonState(sentence="re-armed"))  # it had not seen the daemon's last write
    operator.load()
    operator.save(DaemonState(sentence="re-armed"))  # `mysqlha ack` from any host, not leading
    with pytest.raises(NotLeading):
        daemon.save(DaemonState(phase="failed_over", case="master_down", failed_node="master1"))  # stale
    assert daemon.load().sentence == "re-armed"


def test_an_operator_lock_holds_the_leader_and_one_command_at_a_time(etcd_cluster: EtcdCluster) -> None:
    from ha.state import LockBusy

    first = monitor(etcd_cluster, "mon1")
    assert first.step(view("mon1")).operator is None
    daemon = EtcdStateStore(first)
    daemon.save(DaemonState(sentence="watching"))
    operator = EtcdStateStore(monitor(etcd_cluster, "mon2"), operator=True)
    other = EtcdStateStore(monitor(etcd_cluster, "mon3"), operator=True)
    with operator.lock(timeout=1):
        assert (first.step(view("mon1")).operator or "").startswith("mon2 pid ")  # every monitor sees it
        with pytest.raises(NotLeading, match="operator command holds"):
            daemon.save(DaemonState(sentence="the leader's cycle"))
        with pytest.raises(LockBusy, match="holds the operator lock"):
            with other.lock(timeout=0.3):
                pass
        operator.load()
        operator.save(DaemonState(phase="switched_over", case="switchover", sentence="switched"))
    assert first.step(view("mon1")).operator is None  # released at once (its lease revoked)
    daemon.load()
    daemon.save(DaemonState(phase="switched_over", case="switchover", sentence="watching"))
    assert operator.load().sentence == "watching"
