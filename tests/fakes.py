"""Small fakes of the adapters (MySQL, supervisord, hooks) for tests that build a Daemon or a Runner.

They keep the little world they pretend to be (who is read-only, which programs run) and raise our
own error types, as the real adapters do; nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ha.config import Config, Credentials, Node, ProxyProgram
from ha.errors import MysqlhaError, NodeUnreachable
from ha.model import Event, NodeCheck, ReplicaView, Witness

POSITION = "0-1-10"


class FakeMySQL:
    """A healthy classic cluster until told otherwise: ``down`` nodes refuse, ``broken`` methods raise."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.read_only = {name: node.role != "master" for name, node in config.nodes.items()}
        self.down: set[str] = set()
        self.broken: dict[str, MysqlhaError] = {}
        self.calls: list[str] = []

    def _do(self, method: str, node: Node, *more: str) -> None:
        self.calls.append(" ".join((method, node.name, *more)))
        if method in self.broken:
            raise self.broken[method]
        if node.name in self.down:
            raise NodeUnreachable(f"2003 Can't connect to {node.name}")

    def view(self, node: Node) -> ReplicaView | None:
        if node.source is None:
            return None
        source = self.config.nodes[node.source]
        io = "Connecting" if source.name in self.down else "Yes"
        return ReplicaView(node.name, io, True, source.host, source.port, POSITION, POSITION, 1, lag=0.0)

    def grants(self, node: Node) -> tuple[str, str, list[str]]:
        if node.name in self.down:  # not recorded in calls: asking for grants changes nothing
            raise NodeUnreachable(f"2003 Can't connect to {node.name}")
        return "10.11.6-MariaDB", "mysqlha@%", ["GRANT ALL PRIVILEGES ON *.* TO `mysqlha`@`%`"]

    def sql_thread_problem(self, node: Node) -> str | None:
        return None  # not recorded in calls, like grants: the SQL thread runs

    def probe(self, node: Node) -> NodeCheck:
        if node.name in self.down:
            return NodeCheck(node.name, "failed", 0.001, f"2003 Can't connect to {node.name}")
        master = node.role == "master"
        return NodeCheck(
            node.name,
            "ok",
            0.001,
            read_only=self.read_only[node.name],
            semi_sync=master,
            semi_sync_clients=1 if master else 0,
            position=POSITION,
            version="mariadb 10.11.6",
            semi_sync_replica=node.role == "candidate",
            replica=self.view(node),
        )

    def ask(self, node: Node) -> Witness:
        if node.name in self.down:
            return Witness(node.name, None, "2003 refused")
        view = self.view(node)
        # the failing source's replicas see it gone: IO thread reconnecting
        return Witness(node.name, view and replace(view, io_running="Connecting"))

    def wait_caught_up(self, node: Node, timeout: float) -> str:
        self._do("wait_caught_up", node)
        return f"applied {POSITION}"

    def promote(self, node: Node, timeout: float) -> str:
        self._do("promote", node)
        self.read_only[node.name] = False
        return "writable"

    def fence(self, node: Node) -> str:
        self._do("fence", node)
        self.read_only[node.name] = True
        return "read_only=ON"

    def make_writable(self, node: Node) -> str:
        self._do("make_writable", node)
        self.read_only[node.name] = False
        return f"{node.name} read_only=OFF"

    def position(self, node: Node, holds: bool = False) -> str:
        self._do("position", node)
        return POSITION

    def wait_position(self, node: Node, position: str, timeout: float) -> str:
        self._do("wait_position", node)
        return f"applied {position}"

    def replicate_from(
        self, replica: Node, source: Node, credentials: Credentials, timeout: float, semi_sync: bool = False
    ) -> str:
        self._do("replicate_from", replica, source.name)
        return f"replicating from {source.name}"

    def semi_sync_off(self, node: Node) -> str:
        self._do("semi_sync_off", node)
        return "semi-sync source role off"

    def semi_sync_source(self, node: Node, timeout: float) -> str:
        self._do("semi_sync_source", node)
        return "semi-sync on"

    def errant(self, node: Node, source: Node) -> str:
        self._do("errant", node)
        return ""

    def repoint(self, replica: Node, source: Node, credentials: Credentials, timeout: float) -> str:
        self._do("repoint", replica, source.name)
        return f"replicating from {source.name}"

    def wait_replicating(self, replica: Node, timeout: float) -> str:
        self._do("wait_replicating", replica)
        return "replicating"


class FakeSupervisor:
    """supervisord with the normal proxy set running; records every start and stop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.running = set(config.proxies.normal)
        self.calls: list[str] = []

    def states(self) -> dict[str, str]:
        return {name: "RUNNING" if name in self.running else "STOPPED" for name in self.config.proxies.programs}

    def missing(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name not in self.config.proxies.programs]

    def stop(self, names: Sequence[str]) -> None:
        self.calls.append(f"stop {', '.join(names)}")
        self.running -= set(names)

    def start(self, programs: Sequence[ProxyProgram], wait: bool = True) -> None:
        self.calls.append(f"start {', '.join(p.name for p in programs)}")
        self.running |= {program.name for program in programs}


class FakeHooks:
    """Records the events; ``veto`` is what the pre_failover hook answers (None: go ahead)."""

    def __init__(self, veto: str | None = None) -> None:
        self.veto = veto
        self.asked: list[Event] = []
        self.events: list[Event] = []

    def pre_failover(self, event: Event) -> str | None:
        self.asked.append(event)
        return self.veto

    def notify(self, event: Event) -> None:
        self.events.append(event)

    def wait_idle(self, timeout: float) -> None:
        pass
