"""Fixtures: real sandboxes on free ports, always torn down by pid; polling helpers."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ha.errors import MysqlhaError
from ha.logsetup import unstamped
from ha.sandbox import poll
from ha.sandbox.cluster import Sandbox, free_base_port, free_host_block
from tests.etcdfixture import etcd_cluster as etcd_cluster  # a fixture: a real 3-member etcd

HAVE_SERVERS = all(shutil.which(t) or Path(f"/usr/sbin/{t}").exists() for t in ("mariadbd", "haproxy"))
needs_servers = pytest.mark.skipif(not HAVE_SERVERS, reason="mariadb-server and haproxy are not installed")


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    try:
        return poll.wait_for(predicate, timeout, what, poll=0.1, tolerate=Exception)
    except MysqlhaError as exc:
        raise AssertionError(str(exc)) from exc


def shape(options: dict[str, object]) -> dict[str, object]:
    """The lab's default shape: same port (3306), own address (a free 127.a.b block), the server's
    default heartbeat. ``shape="ports"`` gives the old port-per-node shape; ``heartbeat=1`` tunes it."""
    options = dict(options)
    options.setdefault("heartbeat", None)
    if options.pop("shape", "hosts") == "ports":
        options.setdefault("base_port", free_base_port())
    else:
        options.setdefault("hosts", free_host_block())
    return options


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Sandbox]]:
    """Build sandboxes on free addresses; every one is stopped by pid at the end, pass or fail."""
    built: list[Sandbox] = []

    def make(**options: object) -> Sandbox:
        box = Sandbox(tmp_path_factory.mktemp("sandbox"), log=lambda line: None)
        built.append(box)
        box.up(**shape(options))  # type: ignore[arg-type]
        return box

    yield make
    for box in built:
        box.down()


@pytest.fixture(scope="module")
def healthy_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox shared by a module's read-only tests, daemon not started."""
    if not HAVE_SERVERS:
        pytest.skip("mariadb-server and haproxy are not installed")
    box = Sandbox(tmp_path_factory.mktemp("shared-sandbox"), log=lambda line: None)
    try:
        box.up(daemon=False, **shape({}))  # type: ignore[arg-type]
        yield box
    finally:
        box.down()


def raw_log_lines(box: Sandbox) -> list[str]:
    """The daemon's log as written, timestamps and all."""
    path = box.mysqlcheck_log()
    return path.read_text().splitlines() if path.exists() else []


def log_lines(box: Sandbox) -> list[str]:
    """The daemon's log lines without their ISO-8601 timestamp prefix (the classic text)."""
    return [unstamped(line) for line in raw_log_lines(box)]


def shut_down(*sockets: socket.socket) -> None:
    """End a relayed TCP connection both ways (a relay thread's last act); sockets already gone are fine."""
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
