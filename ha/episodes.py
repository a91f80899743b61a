"""Events once per episode: a condition that holds for many cycles is announced when it begins.

A condition is keyed (``both_failing``, ``monitoring_problem:master1``); the daemon keeps the set
of keys that held last cycle and announces only the keys new this cycle. When a condition ends
and comes back, that is a new episode and it is announced again.
"""

from __future__ import annotations

from ha.model import Event


def begun(active: frozenset[str], now: dict[str, Event]) -> tuple[tuple[Event, ...], frozenset[str]]:
    """(events of the conditions that began this cycle, the conditions that hold now)."""
    return tuple(event for key, event in now.items() if key not in active), frozenset(now)


class Episodes:
    """The conditions that held at the last cycle (kept in memory: a restart announces them again)."""

    def __init__(self) -> None:
        self.active: frozenset[str] = frozenset()

    def update(self, now: dict[str, Event], keep: bool = False) -> tuple[Event, ...]:
        """The events of the conditions new this cycle; ``keep``: this cycle could not see every
        condition (it only watched), so the ones that held stay held rather than end."""
        events, active = begun(self.active, now)
        self.active = active | self.active if keep else active
        return events
