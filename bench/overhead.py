"""What watching costs: the daemon's CPU and memory, and the connections it opens per check."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.sandboxes import log_lines
from ha.sandbox.cluster import Sandbox

NODES = ("M1", "M2")
CHECK_LINE = re.compile(r"^\d+: master1 status check")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS of ``pid`` in KiB."""
    wanted = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            wanted[name] = int(value.split()[0])
    return wanted


def server_counters(box: Sandbox, node: str) -> dict[str, int]:
    """The node's Connections counter and connections per user (USER_STATISTICS), on one root connection."""
    with box.server(node).root() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
        counters = {"Connections": int(cur.fetchone()[1])}
        cur.execute("SELECT USER, TOTAL_CONNECTIONS FROM information_schema.USER_STATISTICS")
        counters.update({f"user:{user}": int(total) for user, total in cur.fetchall()})
    return counters


def sample(box: Sandbox, pid: int) -> dict[str, Any]:
    checks = sum(1 for line in log_lines(box) if CHECK_LINE.match(line))
    return {"cpu": cpu_seconds(pid), "checks": checks, "servers": {n: server_counters(box, n) for n in NODES}}


def delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    return sum(after["servers"][n].get(key, 0) - before["servers"][n].get(key, 0) for n in NODES)


def measure(box: Sandbox, duration: float, sleep: Callable[[float], object] = time.sleep) -> dict[str, Any]:
    """Watch the running daemon for ``duration`` seconds.

    ``Connections`` counts every connection: the daemon's, HAProxy's health checks (``haproxy_check``, every
    second to master2 from both read proxies) and our own root connection per sample and server. The daemon's
    own share is the monitor user's TOTAL_CONNECTIONS in USER_STATISTICS (``userstat`` is switched on first).
    """
    pid = int(box.supervisor().rpc.supervisor.getProcessInfo("mysqlcheck")["pid"])
    for node in NODES:
        with box.server(node).root() as cur:
            cur.execute("SET GLOBAL userstat = ON")
    before = sample(box, pid)
    sleep(duration)
    after = sample(box, pid)
    memory = memory_kib(pid)
    checks = after["checks"] - before["checks"]
    cpu = after["cpu"] - before["cpu"]
    own = len(NODES)  # the second sample's root connection on each server counts in the delta
    monitor_user = box.config.monitor.credentials.user
    check_user = box.config.proxies.health_check_user
    total = delta(before, after, "Connections") - own
    return {
        "interval": box.config.monitor.interval,
        "duration": duration,
        "checks": checks,
        "cpu_seconds": cpu,
        "cpu_percent": 100 * cpu / duration,
        "cpu_ms_per_check": 1000 * cpu / checks if checks else None,
        "peak_rss_mib": memory.get("VmHWM", 0) / 1024,
        "rss_mib": memory.get("VmRSS", 0) / 1024,
        "connections_per_check": delta(before, after, f"user:{monitor_user}") / checks if checks else None,
        "all_connections_per_check": total / checks if checks else None,
        "haproxy_check_connections_per_check": (
            delta(before, after, f"user:{check_user}") / checks if checks and check_user else None
        ),
        "own_connections_subtracted": own,
    }
