"""Fixtures starting a real 3-member etcd cluster (Debian's etcd-server) on free loopback ports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from ha.sandbox.etcdcluster import EtcdCluster

HAVE_ETCD = shutil.which("etcd") is not None
needs_etcd = pytest.mark.skipif(not HAVE_ETCD, reason="etcd-server is not installed")


@pytest.fixture
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """Three members, data in tmp, every one stopped by pid at the end, pass or fail."""
    if not HAVE_ETCD:
        pytest.skip("etcd-server is not installed")
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"))
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()
