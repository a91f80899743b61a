"""Fresh sandboxes on free ports, and the small things the benchmark asks of them."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bench.load import TABLE
from ha.errors import MysqlhaError
from ha.logsetup import unstamped
from ha.model import DaemonState
from ha.sandbox.cluster import Sandbox, free_host_block
from ha.sandbox.poll import wait_for
from ha.state import StateStore

if TYPE_CHECKING:
    from bench.runs import Setting

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
        self.prepared: tuple[tuple[Setting, int], Future[Sandbox]] | None = None
        self.builder = ThreadPoolExecutor(max_workers=1)

    def build(self, setting: Setting, semi_sync_ms: int = 1000) -> Sandbox:
        """A started sandbox whose daemon has seen semi-sync on M1; on failure it is stopped and kept."""
        interval, failures = setting.interval, setting.failures
        box = Sandbox(Path(tempfile.mkdtemp(prefix="mysqlha-bench-")), log=lambda line: self.log(f"sandbox: {line}"))
        self.live.append(box)
        try:
            for attempt in range(3):
                try:
                    box.up(
                        hosts=free_host_block(),
                        interval=interval,
                        failures=failures,
                        daemon=True,
                        semi_sync_timeout_ms=semi_sync_ms,
                    )
                    break
                except MysqlhaError:  # a port taken (by another test run) between the check and the bind
                    if attempt == 2:
                        raise
                    self.log("sandbox up failed (a port taken meanwhile?); trying other ports")
            if setting.extra():
                reconfigure(box, setting.extra())
            wait_for(lambda: state(box).semi_sync_seen, 30 + 2 * interval, "the daemon to see semi-sync on M1")
        except BaseException:
            self._teardown(box, keep=True)
            raise
        return box

    def prepare(self, setting: Setting, semi_sync_ms: int = 1000) -> None:
        """Start building the next run's sandbox now, in the background."""
        if self.prepared is None:
            self.prepared = ((setting, semi_sync_ms), self.builder.submit(self.build, setting, semi_sync_ms))

    @contextmanager
    def sandbox(self, setting: Setting, semi_sync_ms: int = 1000) -> Iterator[Sandbox]:
        """A prepared sandbox with these settings, or a new one; torn down in the background afterwards."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared[0] == (setting, semi_sync_ms):
            box = prepared[1].result()
        else:
            if prepared is not None:
                self._release(prepared[1].result(), failed=False)
            box = self.build(setting, semi_sync_ms)
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
        if keep or os.environ.get("MYSQLHA_BENCH_KEEP"):
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


def reconfigure(box: Sandbox, extra: dict[str, dict[str, Any]]) -> None:
    """Add ``extra`` keys to the daemon's YAML and SIGHUP it; wait until it says it reloaded."""
    data = yaml.safe_load(box.config_path.read_text())
    for section, keys in extra.items():
        data[section].update(keys)
    box.config_path.write_text(yaml.safe_dump(data))
    box._config = None
    # a SIGHUP before the daemon installed its handlers would kill it: wait for its "state:" line
    wait_for(lambda: any(line.startswith("state: ") for line in log_lines(box)), 20, "the daemon to start")
    box.supervisor().rpc.supervisor.signalProcess("mysqlcheck", "HUP")
    wait_for(lambda: "SIGHUP: config reloaded" in "\n".join(log_lines(box)), 20, "the daemon to reload")


def stamped_lines(box: Sandbox) -> list[tuple[float, str]]:
    """The daemon's log lines with their ``iso`` timestamps (epoch seconds)."""
    path = box.mysqlcheck_log()
    lines = []
    for line in path.read_text().splitlines() if path.exists() else []:
        stamp, _, _ = line.partition(" ")
        try:
            lines.append((datetime.fromisoformat(stamp).timestamp(), unstamped(line)))
        except ValueError:
            continue
    return lines


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


def server_names(box: Sandbox) -> dict[int, str]:
    """Node names by @@server_id (what the load clients record: every lab node is on port 3306)."""
    return {server.server_id: server.node.name for server in box.servers().values()}
