"""Fresh sandboxes on free ports, and the small things the benchmark asks of them."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from bench.load import TABLE
from ha.errors import MysqlhaError
from ha.logsetup import unstamped
from ha.model import DaemonState
from ha.sandbox.cluster import Sandbox, free_base_port
from ha.sandbox.poll import wait_for
from ha.state import StateStore

WRITE_PROGRAM, READ_PROGRAM = "mysql-proxy-master1", "mysql-proxy-slave1"


class Lab:
    """Builds sandboxes in new temporary directories and stops every one of them.

    Two things save time without touching a measurement: ``prepare()`` builds the next sandbox in the
    background while a run waits out a long detection, and a finished sandbox is torn down in the background
    while the next one warms up; ``settle()`` waits for those teardowns (a run calls it before its fault).
    A directory is kept only when its run failed.
    """

    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log
        self.live: list[Sandbox] = []
        self.teardowns: list[threading.Thread] = []
        self.prepared: tuple[tuple[float, int], Future[Sandbox]] | None = None
        self.builder = ThreadPoolExecutor(max_workers=1)

    def build(self, interval: float, failures: int) -> Sandbox:
        """A started sandbox whose daemon has seen semi-sync on M1; on failure it is stopped and kept."""
        box = Sandbox(Path(tempfile.mkdtemp(prefix="mysqlha-bench-")), log=lambda line: self.log(f"sandbox: {line}"))
        self.live.append(box)
        try:
            for attempt in range(3):
                try:
                    box.up(base_port=free_base_port(40000, 50000), interval=interval, failures=failures, daemon=True)
                    break
                except MysqlhaError as exc:  # a port taken between the check and the bind: try other ports
                    if "ports in use" not in str(exc) or attempt == 2:
                        raise
            wait_for(lambda: state(box).semi_sync_seen, 30 + 2 * interval, "the daemon to see semi-sync on M1")
        except BaseException:
            self._teardown(box, keep=True)
            raise
        return box

    def prepare(self, interval: float, failures: int) -> None:
        """Start building the next run's sandbox now, in the background."""
        if self.prepared is None:
            self.prepared = ((interval, failures), self.builder.submit(self.build, interval, failures))

    @contextmanager
    def sandbox(self, interval: float, failures: int) -> Iterator[Sandbox]:
        """A prepared sandbox with these settings, or a new one; torn down in the background afterwards."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared[0] == (interval, failures):
            box = prepared[1].result()
        else:
            if prepared is not None:
                self._release(prepared[1].result(), failed=False)
            box = self.build(interval, failures)
        failed = True
        try:
            yield box
            failed = False
        finally:
            self._release(box, failed)

    def _release(self, box: Sandbox, failed: bool) -> None:
        thread = threading.Thread(target=self._teardown, args=(box, failed))
        self.teardowns.append(thread)
        thread.start()

    def _teardown(self, box: Sandbox, keep: bool) -> None:
        box.down()
        if keep:
            self.log(f"sandbox kept for inspection: {box.directory}")
        else:
            shutil.rmtree(box.directory, ignore_errors=True)
        if box in self.live:
            self.live.remove(box)

    def settle(self) -> None:
        """Wait until every finished sandbox is down."""
        while self.teardowns:
            self.teardowns.pop().join()

    def close(self) -> None:
        """Stop every sandbox still up: prepared, finished or interrupted."""
        self.builder.shutdown(wait=True)
        self.prepared = None
        self.settle()
        for box in list(self.live):
            box.down()
            if box in self.live:
                self.live.remove(box)


def state(box: Sandbox) -> DaemonState:
    return StateStore(box.config.failover.state_file).load()


def log_lines(box: Sandbox) -> list[str]:
    """The daemon's log lines, without the timestamp prefix of the default ``iso`` format."""
    path = box.mysqlcheck_log()
    return [unstamped(line) for line in path.read_text().splitlines()] if path.exists() else []


def listen(box: Sandbox, program: str) -> tuple[str, int]:
    found = box.config.proxies.programs[program]
    return found.listen_host, found.listen_port


def create_table(box: Sandbox) -> None:
    with box.app(*listen(box, WRITE_PROGRAM)) as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (k CHAR(32) PRIMARY KEY)")


def keys_on(box: Sandbox, node: str) -> set[str]:
    """Every key present on ``node`` (a name or M1/M2/S1/S2), read over its root socket."""
    with box.server(node).root(timeout=30) as cur:
        cur.execute(f"SELECT k FROM app.{TABLE}")
        return {row[0] for row in cur.fetchall()}


def port_names(box: Sandbox) -> dict[int, str]:
    return {node.port: node.name for node in box.config.nodes.values()}
