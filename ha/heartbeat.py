"""How long a replica may hear nothing from a healthy source, and what that costs detection.

An idle source sends nothing but heartbeats, one every ``Slave_heartbeat_period`` seconds
(MariaDB's default: ``slave_net_timeout / 2`` = 30 s). A replica whose counters did not move
for 3 s therefore says nothing about a source that beats every 30 s; it says its source is
gone only once it has been silent for longer than one period plus ``replica_silence``. Any
period is safe (an idle source is never taken for dead); a long one only makes a *hung*
source slow to confirm, which is a warning, never an error. Pure: no I/O.
"""

from __future__ import annotations

import math

from ha.config import Config
from ha.finding import Finding
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


def heartbeat_fix(config: Config, replica: str, source: str) -> str:
    """The statements that give ``replica`` the tuned heartbeat period (kept in its replication settings)."""
    meanwhile = (
        f" ({source}'s commits wait for semi-sync meanwhile, up to rpl_semi_sync_master_timeout)"
        if replica == config.candidate.name
        else ""
    )
    return (
        f"set MASTER_HEARTBEAT_PERIOD={TUNED:g} (at most failover.replica_silence = "
        f"{config.failover.replica_silence:g} s) on {replica}: STOP SLAVE; "
        f"CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD={TUNED:g}; START SLAVE;{meanwhile}"
    )


def slow_findings(config: Config, views: dict[str, ReplicaView | None]) -> list[Finding]:
    """A warning per replica of master or candidate whose heartbeat period is longer than
    ``failover.replica_silence``: it keeps vetoing a hung source for its period + replica_silence.
    None when ``failover.ask_replicas`` is off (then no replica is asked)."""
    if not config.failover.ask_replicas:
        return []
    silence = config.failover.replica_silence
    window = config.monitor.window  # the monitor's own confirmation: failures x recheck_interval
    findings = []
    for name, view in views.items():
        node = config.nodes.get(name)
        if view is None or node is None or node.source not in (config.master.name, config.candidate.name):
            continue
        period = view.heartbeat_period
        if period is not None and 0 < period <= silence:
            continue
        if period is None or period <= 0:
            what = "heartbeat off (or unknown)"
            after = "only once its IO thread gives up (slave_net_timeout): until then it vetoes"
        else:
            what = f"heartbeat {period:g} s"
            after = (
                f"only after ~{max(window, period + silence):.0f} s (a replica vetoes until it has heard nothing "
                f"for its period + failover.replica_silence = {period:g} + {silence:g} s)"
            )
        findings.append(
            Finding(
                name,
                f"{name} {what}: a hung {node.source} is confirmed {after}",
                heartbeat_fix(config, name, node.source),
                "warning",
            )
        )
    return findings


def slow_detection(config: Config, views: dict[str, ReplicaView | None]) -> list[str]:
    """The warnings of ``slow_findings`` as one line each (the daemon's start lines): problem; fix."""
    return [f"{finding.problem}; {finding.fix}" for finding in slow_findings(config, views)]
