"""How long a replica may hear nothing from a healthy source, and what that costs detection.

An idle source sends nothing but heartbeats, one every ``Slave_heartbeat_period`` seconds
(MariaDB's default: ``slave_net_timeout / 2`` = 30 s). A replica whose counters did not move
for 3 s therefore says nothing about a source that beats every 30 s; it says its source is
gone only once it has been silent for longer than one period (plus ``replica_silence``).
Pure: no I/O.
"""

from __future__ import annotations

import math

from ha.config import Config
from ha.model import ReplicaView

TUNED = 1.0  # the period we recommend for a quick hung-master confirmation


def silence_allowed(view: ReplicaView, replica_silence: float) -> float:
    """Seconds ``view``'s replica may hear nothing from a healthy source: one heartbeat period
    plus ``replica_silence``; unbounded (inf) when heartbeats are off or the period is unknown,
    since then an idle source is silent for as long as it stays idle."""
    period = view.heartbeat_period
    if period is None or period <= 0:
        return math.inf
    return period + replica_silence


def slow_detection(config: Config, views: dict[str, ReplicaView | None]) -> list[str]:
    """One warning per replica whose heartbeat makes a hung source slow to confirm."""
    silence = config.failover.replica_silence
    floor = config.monitor.failures * config.monitor.interval
    warnings = []
    for name, view in views.items():
        node = config.nodes.get(name)
        if (
            view is None
            or node is None
            or node.source is None
            or node.source
            not in (
                config.master.name,
                config.candidate.name,
            )
        ):
            continue
        period = view.heartbeat_period
        if period is not None and 0 < period <= silence:
            continue
        if period is None or period <= 0:
            what = "heartbeat off (or unknown)"
            after = "only once its IO thread gives up (slave_net_timeout)"
        else:
            what = f"heartbeat {period:g} s"
            after = f"only after ~{max(floor, period + silence):.0f} s"
        warnings.append(
            f"{name} {what}: a hung {node.source} is confirmed {after}; set MASTER_HEARTBEAT_PERIOD={TUNED:g} "
            f"(at most failover.replica_silence = {silence:g} s) on {name}"
        )
    return warnings
