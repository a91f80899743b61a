"""The history: what the daemon and operators did, as JSON lines next to the state file.

Append-only; when the file would grow past ``max_bytes``, or its oldest record is older than
``keep_seconds``, it is renamed ``<name>.<epoch of its newest record>`` and a new one started; a
rotated file is deleted once its newest record is older than ``keep_seconds``. ``ack`` and failback add
records, they never erase any. One record: ``time`` (epoch seconds), ``at`` (ISO-8601), ``event``,
and whatever describes it (node, case, why, steps with durations, write outage, who).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from ha.config import Config
from ha.files import append_line, read_text
from ha.timefmt import iso

MAX_BYTES = 10 * 1024 * 1024
KEEP_SECONDS = 90 * 86400


def beside(state_file: str | os.PathLike[str], suffix: str) -> Path:
    """A file next to the state file: ``state.json`` -> ``state.<suffix>``."""
    path = Path(state_file)
    return path.with_name(f"{path.stem}.{suffix}")


class HistoryLog(Protocol):
    """What the daemon and the commands need of a history: this file, or etcd (``ha.etcdhistory``)."""

    def record(self, event: str, **fields: Any) -> dict[str, Any] | None: ...

    def read(self, since: float | None = None) -> Iterator[dict[str, Any]]: ...


class History:
    """Appends records and reads them back, oldest first, across rotated files."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_bytes: int = MAX_BYTES,
        keep_seconds: float = KEEP_SECONDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep_seconds = keep_seconds
        self.wall = wall
        self._first: tuple[int, float] | None = None  # (inode, time of its first record) of the live file

    @classmethod
    def for_config(cls, config: Config, wall: Callable[[], float] = time.time) -> History:
        """The history beside ``failover.state_file``, kept as ``logging`` says."""
        keep = config.logging.history_keep_days * 86400
        return cls.for_state(
            config.failover.state_file, max_bytes=config.logging.history_max_bytes, keep_seconds=keep, wall=wall
        )

    @classmethod
    def for_state(cls, state_file: str | os.PathLike[str], **options: Any) -> History:
        return cls(beside(state_file, "history.jsonl"), **options)

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (None values left out) and return it."""
        now = self.wall()
        entry = {"time": round(now, 3), "at": iso(now), "event": event}
        entry.update({key: value for key, value in fields.items() if value is not None})
        line = json.dumps(entry, sort_keys=False, default=str)
        self._rotate_for(len(line) + 1, now)
        append_line(self.path, line)
        return entry

    def _rotate_for(self, incoming: int, now: float) -> None:
        """Rotate the live file when it would pass ``max_bytes`` or its oldest record is older than
        ``keep_seconds``; delete rotated files whose newest record is older than ``keep_seconds``."""
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            info = None
        if info is not None and info.st_size:
            if info.st_size + incoming > self.max_bytes or now - self._oldest(info.st_ino) > self.keep_seconds:
                self._rotate(now)
        for stamp, old in self._rotated():
            if now - stamp > self.keep_seconds:
                old.unlink(missing_ok=True)

    def _oldest(self, inode: int) -> float:
        """The time of the live file's oldest record, read once per file (another process may rotate it)."""
        if self._first is None or self._first[0] != inode:
            first, _ = span(read_text(self.path) or "")
            self._first = (inode, self.wall() if first is None else first)
        return self._first[1]

    def _rotate(self, now: float) -> None:
        """Rename the live file ``<name>.<time of its newest record>`` (``now`` if unknown or taken)."""
        _, last = span(read_text(self.path) or "")
        target = self.path.with_name(f"{self.path.name}.{last if last is not None else now:.3f}")
        if target.exists():
            target = self.path.with_name(f"{self.path.name}.{now:.3f}")
        os.replace(self.path, target)
        self._first = None

    def _rotated(self) -> list[tuple[float, Path]]:
        """Rotated files with the time of their newest record (older files: when rotated), oldest first."""
        prefix = f"{self.path.name}."
        found = []
        for path in self.path.parent.glob(f"{self.path.name}.*"):
            try:
                found.append((float(path.name[len(prefix) :]), path))
            except ValueError:
                continue
        return sorted(found)

    def rotated(self) -> list[Path]:
        return [path for _, path in self._rotated()]

    def read(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Every record (at or after ``since``), oldest first; a damaged line is skipped, not fatal."""
        for path in (*self.rotated(), self.path):
            text = read_text(path) or ""
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and (since is None or float(entry.get("time", 0)) >= since):
                    yield entry


def span(text: str) -> tuple[float | None, float | None]:
    """The times of the first and the last readable record of a history file's text."""
    lines, times = text.splitlines(), []
    for line in (*lines[:5], *lines[-5:]):
        try:
            entry = json.loads(line)
            times.append(float(entry["time"]))
        except (ValueError, TypeError, KeyError):
            continue
    return (times[0], times[-1]) if times else (None, None)


def render(entries: list[dict[str, Any]]) -> str:
    """One block per record: time, event, node/case, why; then every step with its duration."""
    lines = []
    for entry in entries:
        head = [entry.get("at", "?"), entry.get("event", "?")]
        for key in ("case", "node", "by"):
            if entry.get(key):
                head.append(f"{key}={entry[key]}")
        lines.append("  ".join(str(part) for part in head))
        for key in ("why", "detail", "reason", "lost_gtids", "until"):
            if entry.get(key):
                lines.append(f"    {key}: {entry[key]}")
        if entry.get("outage_ms") is not None:
            since = f" (from {entry['outage_from']})" if entry.get("outage_from") else ""
            lines.append(f"    write outage: {entry['outage_ms']} ms{since}")
        if entry.get("took_ms") is not None:
            lines.append(f"    took: {entry['took_ms']} ms")
        for step in entry.get("steps") or []:
            outcome = "ok" if step.get("ok") else "FAILED"
            detail = f": {step['detail']}" if step.get("detail") else ""
            lines.append(f"    step {step.get('n')} {step.get('description')}: {outcome} ({step.get('ms')} ms){detail}")
    return "\n".join(lines)
