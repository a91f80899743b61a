"""The state file: atomic JSON (write temp, fsync, rename) behind an advisory lock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ha.errors import MysqlhaError
from ha.model import DaemonState


class LockBusy(MysqlhaError):
    """Someone else (the daemon mid-failover, or an operator command) holds the state lock."""


class StateStore:
    """Reads and writes one DaemonState; ``lock()`` serialises the daemon and operator commands."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> DaemonState:
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return DaemonState.from_json(data)
        except FileNotFoundError:
            return DaemonState()
        except (OSError, ValueError, TypeError) as exc:
            raise MysqlhaError(f"{self.path}: unreadable state file: {exc}") from exc

    def save(self, state: DaemonState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w") as handle:
            json.dump(state.to_json(), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextmanager
    def lock(self, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock. Without ``blocking`` (or past ``timeout`` seconds) raise LockBusy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "a") as handle:
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
