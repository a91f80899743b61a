"""The etcd client against a real 3-member etcd 3.4 cluster: leases, txns, rotation, timeouts."""

from __future__ import annotations

import time

import pytest

from ha.etcd import Etcd, EtcdError, EtcdOptions, LeaseLost, prefix_end
from ha.sandbox.etcdcluster import EtcdCluster


def client(cluster: EtcdCluster, timeout: float = 2.0) -> Etcd:
    return Etcd(EtcdOptions(cluster.endpoints, timeout=timeout))


def test_prefix_end() -> None:
    import base64

    assert base64.b64decode(prefix_end("/a/")) == b"/a0"


def test_put_range_delete_and_prefix(etcd_cluster: EtcdCluster) -> None:
    etcd = client(etcd_cluster)
    etcd.put("/t/views/m1", "one")
    etcd.put("/t/views/m2", "two")
    etcd.put("/t/viewsX", "other")
    assert [(kv.key, kv.value) for kv in etcd.range("/t/views/")] == [("/t/views/m1", "one"), ("/t/views/m2", "two")]
    assert etcd.get("/t/none") is None
    assert etcd.delete("/t/views/", prefix=True) == 2
    assert etcd.range("/t/views/") == []


def test_lease_keepalive_and_expiry_is_lost(etcd_cluster: EtcdCluster) -> None:
    etcd = client(etcd_cluster)
    lease = etcd.grant(2)
    assert etcd.keepalive(lease) == 2
    etcd.put("/t/bound", "x", lease=lease)
    assert etcd.get("/t/bound").lease == lease  # type: ignore[union-attr]
    time.sleep(3.2)
    with pytest.raises(LeaseLost):
        etcd.keepalive(lease)  # 200 without TTL
    assert etcd.get("/t/bound") is None
    other = etcd.grant(5)
    etcd.revoke(other)
    with pytest.raises(LeaseLost):
        etcd.keepalive(other)


def test_create_if_absent_and_guarded_put(etcd_cluster: EtcdCluster) -> None:
    etcd = client(etcd_cluster)
    mine, theirs = etcd.grant(5), etcd.grant(5)
    assert etcd.create("/t/leader", "a", lease=mine) == (True, None)
    created, holder = etcd.create("/t/leader", "b", lease=theirs)
    assert not created and holder is not None and holder.value == "a" and holder.lease == mine
    assert etcd.guarded_put("/t/leader", "a", mine, {"/t/state": "1"})
    assert not etcd.guarded_put("/t/leader", "b", theirs, {"/t/state": "2"})  # failed compare: no `succeeded`
    assert not etcd.guarded_put("/t/leader", "a", theirs, {"/t/state": "3"})
    assert etcd.get("/t/state").value == "1"  # type: ignore[union-attr]
    etcd.revoke(mine)
    assert not etcd.guarded_put("/t/leader", "a", mine, {"/t/state": "4"})
    assert etcd.create("/t/leader", "b", lease=theirs)[0]


def test_rotation_past_a_dead_endpoint(etcd_cluster: EtcdCluster) -> None:
    etcd = client(etcd_cluster, timeout=1.0)
    etcd_cluster.stop("etcd1")
    started = time.monotonic()
    etcd.put("/t/rotated", "yes")
    assert etcd.get("/t/rotated").value == "yes"  # type: ignore[union-attr]
    assert etcd.current != 0
    assert time.monotonic() - started < 5


def test_no_quorum_is_an_error_within_the_timeouts(etcd_cluster: EtcdCluster) -> None:
    etcd = client(etcd_cluster, timeout=1.0)
    etcd_cluster.stop("etcd1")
    etcd_cluster.stop("etcd2")
    started = time.monotonic()
    with pytest.raises(EtcdError):
        etcd.put("/t/lost", "no")
    assert time.monotonic() - started < 3 * 1.0 + 1.5  # every endpoint tried once, each bounded
