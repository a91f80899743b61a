"""Times for people and for machines: ISO-8601 with milliseconds and zone, durations like ``2h``."""

from __future__ import annotations

import re
from datetime import datetime

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def iso(wall: float) -> str:
    """``2026-12-01T09:30:22.123+00:00``: local time, milliseconds, the zone's offset."""
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="milliseconds")


def parse_duration(text: str) -> float:
    """``90``, ``30s``, ``15m``, ``2h``, ``1d``, ``1w`` -> seconds (> 0); ValueError otherwise."""
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"expected a duration such as 30s, 15m, 2h, 1d, got {text!r}")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def parse_since(text: str, now: float) -> float:
    """A duration back from ``now`` (``2h``) or an ISO date/time (``2026-12-01``, ``2026-12-01T08:00``)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"expected a duration (2h, 1d) or an ISO date/time (2026-12-01T08:00), got {text!r}") from exc
    return (when if when.tzinfo else when.astimezone()).timestamp()


def age(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3.2 h``, ``2.0 d``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
