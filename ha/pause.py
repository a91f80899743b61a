"""The pause: an operator stops automatic failover for a while; the daemon keeps watching.

Kept in its own file beside the state file, so it survives restarts and never touches the
phase. A pause with an end time ends by itself: the daemon notices, says so, and removes it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ha.errors import MysqlhaError
from ha.files import read_text, write_atomic
from ha.history import beside
from ha.timefmt import age, iso


@dataclass(frozen=True)
class Pause:
    since: float
    until: float | None  # None: until `mysqlha resume`
    reason: str = ""
    by: str = ""

    def expired(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def describe(self, now: float) -> str:
        """``paused by alice since ... until ... (1.5 h left): reason``."""
        text = f"paused by {self.by or '?'} since {iso(self.since)}"
        if self.until is None:
            text += " until `mysqlha resume`"
        else:
            text += f" until {iso(self.until)} ({age(max(0.0, self.until - now))} left)"
        return text + (f": {self.reason}" if self.reason else "")

    def short(self, now: float) -> str:
        """``paused by alice (1.5 h left): reason``: the daemon's line each cycle."""
        left = "until resume" if self.until is None else f"{age(max(0.0, self.until - now))} left"
        return f"paused by {self.by or '?'} ({left})" + (f": {self.reason}" if self.reason else "")


class PauseStore:
    """One Pause (or none) in a small JSON file; written atomically, 0600."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def for_state(cls, state_file: str | os.PathLike[str]) -> PauseStore:
        return cls(beside(state_file, "pause.json"))

    def load(self) -> Pause | None:
        text = read_text(self.path)
        if text is None:
            return None
        try:
            data = json.loads(text)
            pause = Pause(float(data["since"]), None if data.get("until") is None else float(data["until"]))
            return Pause(pause.since, pause.until, str(data.get("reason") or ""), str(data.get("by") or ""))
        except (ValueError, TypeError, KeyError) as exc:
            raise MysqlhaError(f"{self.path}: unreadable pause file: {exc}; remove it or run `mysqlha resume`") from exc

    def save(self, pause: Pause) -> None:
        write_atomic(self.path, json.dumps(asdict(pause)) + "\n")

    def clear(self) -> Pause | None:
        """Remove the pause; return what it was (None when there was none)."""
        try:
            pause = self.load()
        except MysqlhaError:
            pause = None
        self.path.unlink(missing_ok=True)
        return pause

    def active(self, now: float) -> tuple[Pause | None, Pause | None]:
        """(the pause in force, a pause that just expired and was removed)."""
        pause = self.load()
        if pause is not None and pause.expired(now):
            self.path.unlink(missing_ok=True)
            return None, pause
        return pause, None
