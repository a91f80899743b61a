"""The state file: atomic JSON (write temp, fsync, rename) behind an advisory lock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from ha.errors import MysqlhaError
from ha.files import open_private, read_text, write_atomic
from ha.model import DaemonState


class LockBusy(MysqlhaError):
    """Someone else (the daemon mid-failover, or an operator command) holds the state lock."""


class Store(Protocol):
    """What the runner and the daemon need of a state store: this file, or etcd (``ha.etcdstore``)."""

    def load(self) -> DaemonState: ...

    def save(self, state: DaemonState) -> None: ...

    def lock(self, blocking: bool = True, timeout: float | None = None) -> AbstractContextManager[None]: ...


class StateStore:
    """Reads and writes one DaemonState; ``lock()`` serialises the daemon and operator commands."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> DaemonState:
        text = read_text(self.path)
        if text is None:
            return DaemonState()
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return DaemonState.from_json(data)
        except (OSError, ValueError, TypeError) as exc:
            raise MysqlhaError(f"{self.path}: unreadable state file: {exc}") from exc

    def save(self, state: DaemonState) -> None:
        """Write atomically (0600 temp file, fsync, rename, fsync the directory); never through a symlink."""
        write_atomic(self.path, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")

    @contextmanager
    def lock(self, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock. Without ``blocking`` (or past ``timeout`` seconds) raise LockBusy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_private(self.path.with_name(f".{self.path.name}.lock"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a") as handle:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if not blocking or deadline else 0))
                    break
                except BlockingIOError as exc:
                    if deadline is None or time.monotonic() > deadline:
                        raise LockBusy(f"{self.path}: another mysqlha command holds the lock") from exc
                    time.sleep(0.01)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
