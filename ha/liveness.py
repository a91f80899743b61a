"""The daemon's heartbeat: its last cycle (time, number, analysis, sentence), one small file.

The state file is rewritten only when the state changes; this file is rewritten every cycle,
cheaply (temp file and rename, no fsync), so `mysqlha status` can tell a running daemon from a
stopped or stuck one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ha.errors import MysqlhaError
from ha.files import read_text, write_atomic
from ha.history import beside


@dataclass(frozen=True)
class Beat:
    """One cycle as the daemon finished it."""

    time: float  # wall clock, epoch seconds
    number: int
    analysis: str  # the named class the cycle decided on (e.g. AllHealthy, MasterFailing(2))
    sentence: str  # what the cycle did
    pid: int
    interval: float
    paused: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - self.time)


class Heartbeat:
    """Writes and reads the heartbeat file beside the state file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def for_state(cls, state_file: str | os.PathLike[str]) -> Heartbeat:
        return cls(beside(state_file, "heartbeat.json"))

    def beat(self, beat: Beat) -> None:
        write_atomic(self.path, json.dumps(asdict(beat)) + "\n", durable=False)

    def read(self) -> Beat | None:
        """The last beat, or None when the daemon never wrote one; a damaged file is an error."""
        text = read_text(self.path)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return Beat(**{key: data[key] for key in Beat.__dataclass_fields__ if key in data})
        except (ValueError, TypeError) as exc:
            raise MysqlhaError(f"{self.path}: unreadable heartbeat: {exc}") from exc


def stale_after(interval: float, cycle_budget: float) -> float:
    """Seconds without a beat after which a daemon counts as stuck: three intervals plus one slow cycle."""
    return 3 * interval + cycle_budget
