"""Three monitors in the network-namespace lab: mon1 in the ``mon`` namespace (with supervisord and the
proxies), mon2 and mon3 on hosts of their own; one etcd member on each monitor's host (port 2379)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab import NODES, lab_sandbox

from ha.sandbox.cluster import Sandbox
from ha.sandbox.netns import NetnsLab, run

HOSTS = {"mon1": "mon", "mon2": "mon2", "mon3": "mon3"}  # monitor -> lab member (its namespace)
ETCD_CUT = "mysqlha_lab_etcd"


@contextmanager
def monitors_in_netns(directory: Path, **options: object) -> Iterator[tuple[Sandbox, NetnsLab]]:
    """Build the lab (servers and three monitor hosts) and the sandbox with three monitors inside it;
    every process stopped by pid and every namespace deleted afterwards, pass or fail."""

    def layout(lab: NetnsLab) -> dict[str, object]:
        placement = {
            name: [lab.address(member), None if member == "mon" else lab.ns(member)] for name, member in HOSTS.items()
        }
        return {"heartbeat": 1.0, "monitor_hosts": placement, **options}

    with lab_sandbox(directory, ("mon", *NODES, "mon2", "mon3"), layout) as built:
        yield built


def cut_from_etcd(lab: NetnsLab, monitor: str) -> None:
    """Drop every etcd packet (client and peer ports) leaving ``monitor``'s host: it and its local etcd
    member are cut off from the other members; its databases and the proxies stay reachable."""
    ns = lab.ns(HOSTS[monitor])
    nft = ("ip", "netns", "exec", ns, "nft")
    run(*nft, "add", "table", "inet", ETCD_CUT)
    run(*nft, "add", "chain", "inet", ETCD_CUT, "out", "{ type filter hook output priority 0 ; }")
    for direction in ("dport", "sport"):
        run(*nft, "add", "rule", "inet", ETCD_CUT, "out", "oifname", "eth0", "tcp", direction, "{ 2379, 2380 }", "drop")


def heal_etcd(lab: NetnsLab, monitor: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", lab.ns(HOSTS[monitor]), "nft", "delete", "table", "inet", ETCD_CUT],
        capture_output=True,
        timeout=10,
    )
