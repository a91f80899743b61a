"""The history in etcd against a real 3-member etcd: guarded by the leader's lease, operators unguarded,
read back in order, ``--since`` as a key range, retention by age and by count, bounded when etcd is away."""

from __future__ import annotations

import socket
import time

import pytest

from ha.coordination import Coordinator
from ha.etcd import Etcd, EtcdError, EtcdOptions
from ha.etcdhistory import EtcdHistory
from ha.etcdstore import NotLeading
from ha.quorum import NodeView, View
from ha.sandbox.etcdcluster import EtcdCluster

PREFIX = "/ha/hist"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def etcd(cluster: EtcdCluster) -> Etcd:
    return Etcd(EtcdOptions(cluster.endpoints, timeout=1.0))


def monitor(cluster: EtcdCluster, name: str) -> Coordinator:
    coordinator = Coordinator(etcd(cluster), name, PREFIX, 5, log=lambda line: None)
    coordinator.step(View(name, time.time(), {"master1": NodeView("ok", 0)}))
    return coordinator


def test_only_the_leaders_records_land_and_operators_write_unguarded(etcd_cluster: EtcdCluster) -> None:
    first, second = monitor(etcd_cluster, "mon1"), monitor(etcd_cluster, "mon2")
    assert first.leading and not second.leading
    mine = EtcdHistory(first.etcd, PREFIX, "mon1", first)
    theirs = EtcdHistory(second.etcd, PREFIX, "mon2", second)
    operator = EtcdHistory(etcd(etcd_cluster), PREFIX, "mon3")
    assert mine.record("failover", node="master1", case="master_down", steps=[{"n": 1}]) is not None
    assert theirs.record("failure_detected", node="master1") is None, "a follower leaves it to the leader"
    operator.record("ack", by="alice@db3", detail=None)
    entries = list(operator.read())
    assert [(e["event"], e["monitor"]) for e in entries] == [("failover", "mon1"), ("ack", "mon3")]
    assert entries[0]["steps"] == [{"n": 1}] and "detail" not in entries[1]
    first.etcd.revoke(first.lease)  # the key went away behind the leader's back: nothing lands
    with pytest.raises(NotLeading):
        mine.record("fencing_done", node="master1")
    assert [e["event"] for e in operator.read()] == ["failover", "ack"]


def test_since_and_retention_by_age_and_by_count(etcd_cluster: EtcdCluster) -> None:
    clock = Clock()
    history = EtcdHistory(etcd(etcd_cluster), PREFIX, "mon1", keep_seconds=3600, keep_records=5, wall=clock)
    for n in range(3):
        clock.now += 10
        history.record("fencing_done", n=n)
    assert [e["n"] for e in history.read(since=clock.now - 15)] == [1, 2]
    clock.now += 3600 - 15  # the first record is now older than an hour: the next write deletes it
    history.record("resume")
    assert [e.get("n") for e in history.read()] == [1, 2, None]
    for n in range(3, 9):
        clock.now += 1
        history.record("fencing_done", n=n)
    assert history.trim() == 3  # n=1 went by age meanwhile
    assert [e.get("n") for e in history.read()] == [4, 5, 6, 7, 8]


def test_reads_page_through_many_records_in_write_order(etcd_cluster: EtcdCluster) -> None:
    clock = Clock()
    history = EtcdHistory(etcd(etcd_cluster), PREFIX, "mon1", wall=clock)
    for n in range(450):
        clock.now += 0.001 if n % 2 else -0.0005  # clocks step back: write order still holds
        history.record("fencing_done", n=n)
    assert [e["n"] for e in history.read()] == list(range(450))


def test_an_etcd_that_does_not_answer_costs_one_timeout() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        history = EtcdHistory(Etcd(EtcdOptions((endpoint,), timeout=0.3)), PREFIX, "mon1")
        started = time.monotonic()
        with pytest.raises(EtcdError, match=r"no endpoint answered within 0\.3 s"):
            history.record("ack", by="alice")
        assert time.monotonic() - started < 2
