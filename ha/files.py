"""Private files: created 0600, never through a symlink (state, history, heartbeat, pause, lock)."""

from __future__ import annotations

import os
from pathlib import Path

from ha.errors import MysqlhaError

PRIVATE = 0o600
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` with O_NOFOLLOW and mode 0600; a symlink at ``path`` is refused with a clear error."""
    try:
        return os.open(path, flags | NOFOLLOW | os.O_CLOEXEC, PRIVATE)
    except OSError as exc:
        if Path(path).is_symlink():
            raise MysqlhaError(f"{path}: is a symlink; refusing to follow it (remove it)") from exc
        raise MysqlhaError(f"{path}: cannot open: {exc.strerror}") from exc


def write_atomic(path: str | os.PathLike[str], text: str, durable: bool = True) -> None:
    """Replace ``path`` with ``text``: a fresh 0600 temp file beside it, renamed over it.

    ``durable`` fsyncs the file and its directory (the state file); a heartbeat skips that.
    The rename replaces a symlink at ``path`` instead of writing through it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        os.write(fd, text.encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    if durable:
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def append_line(path: str | os.PathLike[str], line: str) -> int:
    """Append one line (one write, O_APPEND) to a 0600 file; returns the file's size after it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode())
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str]) -> str | None:
    """The file's text, None when it does not exist; a symlink is refused."""
    try:
        fd = open_private(path, os.O_RDONLY)
    except MysqlhaError:
        if not os.path.lexists(path):
            return None
        raise
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        return handle.read()
