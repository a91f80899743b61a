"""Pure functions: one run's events in, its numbers out; many runs in, median and max out."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.load import Op

METRICS = ("suspicion", "confirmation", "detection", "action", "write_outage", "read_outage", "lost", "failed_checks")


@dataclass(frozen=True)
class Events:
    """What one run recorded, all in wall-clock seconds (time.time(), like the state file's ``since``)."""

    fault: float  # when the fault was injected
    decision: float  # state.since: when the daemon decided to fail over
    writes: Sequence[Op]
    reads: Sequence[Op]
    read_errors: Sequence[float]
    read_opened: Sequence[float]  # wall time each reader connection was opened
    end: float  # when the load stopped


def longest_gap(times: Sequence[float], start: float, end: float) -> float:
    """The longest stretch without an event in [start, end], counting from the last event before ``start``."""
    ordered = sorted(times)
    before = [t for t in ordered if t < start]
    inside = [t for t in ordered if start <= t <= end]
    points = [before[-1] if before else start, *inside, end]
    return max(b - a for a, b in itertools.pairwise(points))


def first_write_on(events: Events, server: int, after: float) -> float | None:
    return next((w.t for w in sorted(events.writes, key=lambda w: w.t) if w.server == server and w.t > after), None)


def first_read_switched(events: Events, server: int) -> float | None:
    """First read served by ``port`` on a connection opened after the decision and after the last read error
    that followed it: the reader is through the failover proxies, not on an old connection."""
    errors = [t for t in events.read_errors if t > events.decision]
    since = max([events.decision, *errors])
    for read in sorted(events.reads, key=lambda r: r.t):
        if read.t > events.decision and read.server == server and events.read_opened[read.conn] >= since:
            return read.t
    return None


def case1_numbers(events: Events, new_master: int) -> dict[str, float | None]:
    """kill/freeze M1: action and RTO end at the first write acknowledged by the new master."""
    first = first_write_on(events, new_master, events.decision)
    return {
        "detection": events.decision - events.fault,
        "action": None if first is None else first - events.decision,
        "write_outage": None if first is None else first - events.fault,
        "read_outage": longest_gap([r.t for r in events.reads], events.fault, events.end),
    }


def case2_numbers(events: Events, read_server: int) -> dict[str, float | None]:
    """M2 gone: writes stay on M1; action ends at the first read served by S1 through the failover read proxy."""
    first = first_read_switched(events, read_server)
    writes = [w.t for w in events.writes]
    return {
        "detection": events.decision - events.fault,
        "action": None if first is None else first - events.decision,
        "write_outage": longest_gap(writes, min(writes, default=events.fault), events.end),
        "read_outage": longest_gap([r.t for r in events.reads], events.fault, events.end),
    }


def summarize(runs: Sequence[dict[str, object]]) -> dict[str, dict[str, float | None]]:
    """Median and max of every metric over the runs that measured it."""
    summary: dict[str, dict[str, float | None]] = {}
    for metric in METRICS:
        values = [float(v) for r in runs if isinstance(v := r.get(metric), int | float)]
        summary[metric] = {
            "median": statistics.median(values) if values else None,
            "max": max(values) if values else None,
            "n": len(values),
        }
    return summary
