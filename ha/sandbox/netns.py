"""Lab shape 3: every member (each server, the monitor) in its own network namespace.

Each member namespace has one veth ``eth0`` whose peer sits on a bridge that lives in a
namespace of its own, so no lab packet ever reaches the machine's namespace. Addresses come
from one /24 of 198.18.0.0/15 (RFC 2544, benchmarking) and exist only inside the lab: the
monitor is .1, the servers .11, .12, ... Names carry a per-run tag, so parallel runs do not
collide. ``cut`` drops or refuses (TCP RST) one member's packets to one address, with nft in
that member's namespace (by default the monitor's: replication keeps flowing); ``cut_between``
cuts two members from each other both ways (a master from its replica). Needs root, ``ip`` and
``nft``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ha.errors import MysqlhaError
from ha.sandbox.mariadb import wait_gone

Cut = Literal["refuse", "drop"]
CUT_TABLE = "mysqlha_lab_cut"


def missing_tools() -> str | None:
    """Why this machine cannot build the lab, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} not found: apt-get install -y {package}"
    return None


def run(*command: str, timeout: float = 10.0) -> str:
    """Run one ip/nft command; MysqlhaError with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise MysqlhaError(f"{' '.join(command)} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


@dataclass
class NetnsLab:
    """Namespaces ``<tag>-<member>`` joined by a bridge in ``<tag>-br``; addresses ``<prefix>.N``."""

    members: Sequence[str]  # "mon" first, then one per server
    tag: str = field(default_factory=lambda: f"mha{os.getpid()}")
    octet: int = field(default_factory=lambda: os.getpid() % 254 + 1)
    created: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"198.18.{self.octet}"

    @property
    def bridge_ns(self) -> str:
        return f"{self.tag}-br"

    def ns(self, member: str) -> str:
        return f"{self.tag}-{member}"

    def address(self, member: str) -> str:
        index = list(self.members).index(member)
        return f"{self.prefix}.{1 if index == 0 else 10 + index}"

    def exec_prefix(self, member: str) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.ns(member))

    def create(self) -> None:
        """Bridge namespace, one namespace per member, a veth from each to the bridge; undone on failure."""
        try:
            self._add_ns(self.bridge_ns)
            run("ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
            run("ip", "-n", self.bridge_ns, "link", "set", "br0", "up")
            for index, member in enumerate(self.members):
                ns = self.ns(member)
                self._add_ns(ns)
                port = f"v{index}"
                bridge = ("ip", "-n", self.bridge_ns, "link")
                run(*bridge, "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
                run("ip", "-n", self.bridge_ns, "link", "set", port, "master", "br0", "up")
                run("ip", "-n", ns, "addr", "add", f"{self.address(member)}/24", "dev", "eth0")
                run("ip", "-n", ns, "link", "set", "eth0", "up")
                run("ip", "-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.destroy()
            raise

    def _add_ns(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.created.append(name)

    def cut(self, target: str, how: Cut, member: str = "mon") -> None:
        """Cut ``member``'s path to ``target``: refused (TCP RST) or silently dropped (connects hang)."""
        verdict = "reject with tcp reset" if how == "refuse" else "drop"
        ns = self.ns(member)
        run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", CUT_TABLE)
        run(
            "ip", "netns", "exec", ns, "nft", "add", "chain", "inet", CUT_TABLE, "out",
            "{ type filter hook output priority 0 ; }",
        )  # fmt: skip
        daddr = self.address(target)
        run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", CUT_TABLE, "out", "ip", "daddr", daddr,
            "meta", "l4proto", "tcp", *verdict.split())  # fmt: skip

    def cut_between(self, one: str, other: str, how: Cut) -> None:
        """Cut the link between two members both ways (each one's packets to the other), e.g. a master
        and its replica: replication stops, both stay reachable from everyone else. ``heal`` each to undo."""
        self.cut(other, how, member=one)
        self.cut(one, how, member=other)

    def heal(self, member: str = "mon") -> None:
        """Remove every cut of ``member`` (nothing to do when there is none)."""
        subprocess.run(
            ["ip", "netns", "exec", self.ns(member), "nft", "delete", "table", "inet", CUT_TABLE],
            capture_output=True,
            timeout=10,
        )

    def pids(self) -> list[int]:
        found = []
        for name in self.created:
            result = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10)
            found += [int(pid) for pid in result.stdout.split()]
        return found

    def destroy(self) -> list[int]:
        """Stop every process still inside a lab namespace (by pid), then delete the namespaces
        (their veths and the bridge go with them). Returns the pids it had to kill."""
        leftover = self.pids()
        for pid in leftover:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in leftover:
            wait_gone(pid, 10)
        for name in reversed(self.created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self.created.clear()
        return leftover
