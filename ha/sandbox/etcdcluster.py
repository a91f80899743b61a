"""A local etcd cluster for tests and the sandbox: N members, data dirs under one directory, pid files.

Each member listens on its own host (``127.0.0.1`` by default, or a lab host address) on free client
and peer ports; ``stop``/``start``/``kill`` act on one member by pid, ``down`` on all of them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ha.errors import MysqlhaError
from ha.sandbox.mariadb import process_alive, read_pid, wait_gone
from ha.sandbox.poll import wait_for
from ha.sandbox.ports import port_free

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


@dataclass(frozen=True)
class Member:
    name: str
    host: str
    client_port: int
    peer_port: int
    netns: str | None = None  # the lab host's network namespace it runs in

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"


def free_pair(host: str, taken: frozenset[int] = frozenset(), low: int = 40000, high: int = 60000) -> tuple[int, int]:
    """Two free neighbouring ports on ``host``, neither in ``taken`` (the cluster's other members:
    their ports are still free, as nothing listens on them until the members start)."""
    for _ in range(200):
        port = random.randrange(low, high - 1, 2)
        if port not in taken and port_free(host, port) and port_free(host, port + 1):
            return port, port + 1
    raise MysqlhaError(f"no two free ports on {host} between {low} and {high}")


class EtcdCluster:
    """``size`` members named etcd1..etcdN living in ``directory``."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        hosts: tuple[str, ...] = ("127.0.0.1",) * 3,
        netns: tuple[str | None, ...] | None = None,
    ) -> None:
        """Members on ``hosts`` (free ports), or with ``netns`` each inside its lab host's namespace
        (fresh namespaces: the standard ports 2379/2380)."""
        self.directory = Path(directory)
        saved = self.directory / "members.json"
        if saved.exists():  # the cluster built here before: same names, hosts and ports
            self.members = [Member(**m) for m in json.loads(saved.read_text())]
        elif netns is not None:
            self.members = [
                Member(f"etcd{i + 1}", host, 2379, 2380, ns)
                for i, (host, ns) in enumerate(zip(hosts, netns, strict=True))
            ]
        else:
            self.members = []
            for i, host in enumerate(hosts):
                taken = frozenset(m.client_port for m in self.members if m.host == host)
                self.members.append(Member(f"etcd{i + 1}", host, *free_pair(host, taken)))

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(member.client_url for member in self.members)

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def pid_file(self, name: str) -> Path:
        return self.directory / f"{name}.pid"

    def command(self, member: Member) -> list[str]:
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        return [
            ETCD,
            f"--name={member.name}",
            f"--data-dir={self.directory / member.name}",
            f"--listen-client-urls={member.client_url}",
            f"--advertise-client-urls={member.client_url}",
            f"--listen-peer-urls={member.peer_url}",
            f"--initial-advertise-peer-urls={member.peer_url}",
            f"--initial-cluster={cluster}",
            "--initial-cluster-token=mysqlha",
            "--initial-cluster-state=new",
            "--heartbeat-interval=100",
            "--election-timeout=1000",
            "--log-level=warn",
        ]

    def start(self, name: str, prefix: list[str] | None = None) -> None:
        """Start one member (``prefix``: e.g. ``ip netns exec NS`` to run it inside a lab host)."""
        member = self.member(name)
        if read_pid(self.pid_file(name)) is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        launcher = prefix or (["ip", "netns", "exec", member.netns] if member.netns else [])
        with open(self.directory / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [*launcher, *self.command(member)], stdout=log, stderr=log, start_new_session=True
            )
        self.pid_file(name).write_text(f"{process.pid}\n")

    def up(self, timeout: float = 30.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "members.json").write_text(json.dumps([vars(m) for m in self.members]))
        for member in self.members:
            self.start(member.name)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        from ha.etcd import Etcd, EtcdOptions

        client = Etcd(EtcdOptions(self.endpoints, timeout=1.0))
        wait_for(lambda: client.put("/mysqlha-probe", "1") > 0, timeout, "etcd to elect a leader")

    def signal(self, name: str, signum: int) -> None:
        pid = read_pid(self.pid_file(name))
        if pid is not None:
            os.kill(pid, signum)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        pid = read_pid(self.pid_file(name))
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, timeout)
        self.pid_file(name).unlink(missing_ok=True)

    def running(self, name: str) -> bool:
        pid = read_pid(self.pid_file(name))
        return pid is not None and process_alive(pid)

    def down(self) -> None:
        for member in self.members:
            self.stop(member.name)
