"""The watch channel: one idle connection per master, watched for the server closing it.

A killed or shut-down server closes its sockets at once, long before the next scheduled check.
Each watched node gets a thread that opens one authenticated, idle connection and waits on its
socket; the moment it becomes readable (EOF, a reset, or a "killed" packet: an idle session is
never sent anything else) the node is *suspect*: ``on_close`` is called (the daemon sets the
event its sleep waits on) and the name is kept until the daemon ``take``s it. The channel then
stays down until the daemon ``rearm``s it after a successful check. A hung server keeps its
sockets open: the checks and the replicas confirm that one. The channel never counts a failure;
it only makes the daemon check sooner.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ha.config import Monitor, Node
from ha.sqlbasics import connect, tls_options

POLL = 0.5  # seconds a watcher thread sleeps in select() before looking at its stop flag
IDLE_FOREVER = 31536000  # wait_timeout's maximum: the server never closes our idle session itself


class Channel(Protocol):
    def fileno(self) -> int: ...

    def close(self) -> None: ...


Opener = Callable[[Node], Channel]


class _Connection:
    """A PyMySQL connection seen as a Channel (its socket's fileno)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def fileno(self) -> int:
        return int(self.conn._sock.fileno())

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail any way
            pass


def mysql_opener(monitor: Monitor) -> Opener:
    """Open an idle session as the monitor user, bounded by connect_timeout/read_timeout."""

    def open_channel(node: Node) -> Channel:
        conn = connect(
            monitor.connect_timeout,
            monitor.read_timeout,
            host=node.host,
            port=node.port,
            user=monitor.credentials.user,
            password=monitor.credentials.password,
            program_name="mysqlha-watch",
            **tls_options(monitor),
        )
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET SESSION wait_timeout = {IDLE_FOREVER}")
        except Exception:
            _Connection(conn).close()
            raise
        return _Connection(conn)

    return open_channel


class Watcher:
    """Watches ``nodes``' channels in threads; ``take`` returns the nodes whose channel closed."""

    def __init__(self, nodes: Iterable[Node], opener: Opener, on_close: Callable[[str], None]) -> None:
        self.opener = opener
        self.on_close = on_close
        self.lock = threading.Lock()
        self.closed: set[str] = set()
        self.stopping = threading.Event()
        self.armed = {node.name: threading.Event() for node in nodes}
        self.up: dict[str, bool] = {node.name: False for node in nodes}
        self.threads = [
            threading.Thread(target=self._watch, args=(node,), name=f"watch-{node.name}", daemon=True) for node in nodes
        ]
        for thread in self.threads:
            thread.start()

    def rearm(self, name: str) -> None:
        """Open the channel again (after a successful check); a no-op while it is up."""
        if name in self.armed and not self.up[name]:
            self.armed[name].set()

    def take(self) -> frozenset[str]:
        """The nodes whose channel closed since the last call."""
        with self.lock:
            closed, self.closed = frozenset(self.closed), set()
        return closed

    def is_up(self, name: str) -> bool:
        return self.up.get(name, False)

    def close(self, timeout: float = 2.0) -> None:
        self.stopping.set()
        for event in self.armed.values():
            event.set()
        for thread in self.threads:
            thread.join(timeout)

    def _watch(self, node: Node) -> None:
        armed = self.armed[node.name]
        while not self.stopping.is_set():
            armed.wait()
            if self.stopping.is_set():
                return
            armed.clear()
            try:
                channel = self.opener(node)
            except Exception:  # noqa: BLE001 - unreachable now: the checks say so; wait to be rearmed
                continue
            self.up[node.name] = True
            try:
                if self._until_closed(channel):
                    self._closed(node.name)
            finally:
                self.up[node.name] = False
                channel.close()

    def _until_closed(self, channel: Channel) -> bool:
        """True when the server closed the channel, False when we are stopping."""
        while not self.stopping.is_set():
            try:
                readable, _, failed = select.select([channel], [], [channel], POLL)
            except (OSError, ValueError):
                return True
            if readable or failed:
                return True
        return False

    def _closed(self, name: str) -> None:
        with self.lock:
            self.closed.add(name)
        self.on_close(name)


class NoWatcher:
    """No channel: every suspicion comes from a scheduled check (tests, `watch` off)."""

    def rearm(self, name: str) -> None:
        pass

    def take(self) -> frozenset[str]:
        return frozenset()

    def close(self, timeout: float = 2.0) -> None:
        pass
