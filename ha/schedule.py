"""When the next check is due: pure, from the state, the config, the channel's news and the clock.

A healthy cluster is checked every ``monitor.interval``. A suspect node (a counted failure while
armed, or its watch channel just closed) is rechecked every ``monitor.recheck_interval``, so
``failures`` checks in a row take ``failures x recheck_interval`` (the blip window). A channel
that closed since the last cycle began makes the next check due at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ha.config import Monitor


def cadence(monitor: Monitor, phase: str, failures: Mapping[str, int]) -> float:
    """Seconds from one check's start to the next: recheck_interval while a node is suspect."""
    suspect = phase == "armed" and any(count > 0 for count in failures.values())
    return monitor.recheck if suspect else monitor.interval


def next_check(
    monitor: Monitor,
    phase: str,
    failures: Mapping[str, int],
    closed: Collection[str],
    started: float,
    now: float,
) -> float:
    """The monotonic time the next cycle should start; ``started`` is when the last one started."""
    if closed:
        return now
    return max(now, started + cadence(monitor, phase, failures))
