"""Several monitors in the sandbox: a 3-member etcd in ``<dir>/etcd`` and one config per monitor.

Monitor ``mon<i>`` runs as the supervisord program ``mysqlcheck<i>`` with ``<dir>/mon<i>.yml``: the
sandbox's config plus a ``coordination`` section, and its own state directory (the heartbeat file)
in ``<dir>/mon<i>/``; the state, the pause flag and the history are in etcd under ``PREFIX``.
"""

from __future__ import annotations

import copy
import math
import os
import signal
from pathlib import Path
from typing import Any

import yaml

from ha.config import Config
from ha.render import daemon_program
from ha.sandbox.etcdcluster import EtcdCluster
from ha.sandbox.mariadb import read_pid, wait_gone
from ha.sandbox.topology import write_yaml

PREFIX = "/mysqlha/sandbox"


def monitor_names(count: int) -> list[str]:
    return [f"mon{i + 1}" for i in range(count)]


def program_of(name: str) -> str:
    return f"mysqlcheck{name.removeprefix('mon')}"


def lease_ttl(interval: float, timeout: float) -> int:
    """The shortest TTL (>= 2 s) that a lease renewed once a cycle outlives: interval + timeout within
    TTL minus the leader's margin (a quarter of the TTL)."""
    return max(2, math.ceil((interval + timeout) * 4 / 3))


def write_monitor_configs(
    directory: Path, config_path: Path, endpoints: tuple[str, ...], count: int, timeout: float = 1.0
) -> list[Path]:
    """``mon<i>.yml`` for every monitor; returns their paths."""
    base: dict[str, Any] = yaml.safe_load(config_path.read_text())
    ttl = lease_ttl(float(base["monitor"].get("interval") or 5.0), timeout)
    names = monitor_names(count)
    paths = []
    for name in names:
        data = copy.deepcopy(base)
        home = directory / name
        home.mkdir(exist_ok=True)
        data["failover"]["state_file"] = str(home / "state.json")
        data["coordination"] = {
            "name": name,
            "monitors": names,
            "etcd": {"endpoints": list(endpoints), "prefix": PREFIX, "ttl": ttl, "timeout": timeout},
        }
        path = directory / f"{name}.yml"
        write_yaml(data, path)
        paths.append(path)
    return paths


def monitor_programs(
    config: Config, paths: list[Path], autostart: bool, placement: dict[str, list[Any]] | None = None
) -> str:
    """mysqlcheck<i> for every monitor; with ``placement`` (name -> [host, netns or None]) each runs
    inside its lab host's namespace."""
    blocks = []
    for path in paths:
        ns = (placement or {}).get(path.stem, [None, None])[1]
        launcher = f"ip netns exec {ns} " if ns else ""
        program = program_of(path.stem)
        blocks.append(
            daemon_program(config, autostart=autostart, name=program, config_path=str(path), launcher=launcher)
        )
    return "\n".join(blocks)


def start_etcd(directory: Path, placement: dict[str, list[Any]] | None = None) -> EtcdCluster:
    """Three members on 127.0.0.1, or one on each monitor's lab host (``placement``)."""
    if placement:
        hosts = tuple(host for host, _ in placement.values())
        cluster = EtcdCluster(directory / "etcd", hosts, tuple(ns for _, ns in placement.values()))
    else:
        cluster = EtcdCluster(directory / "etcd")
    cluster.up()
    return cluster


def stop_etcd(directory: Path) -> None:
    """Stop every etcd member the sandbox started, by its pid file."""
    for pid_file in sorted((directory / "etcd").glob("etcd*.pid")):
        pid = read_pid(pid_file)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 5)
        pid_file.unlink(missing_ok=True)
