"""Immutable values that flow through one cycle: checks, snapshot, state, actions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

CheckStatus = Literal["ok", "failed", "answered_error"]
Phase = Literal["armed", "failing_over", "failed_over", "refused", "switched_over"]
Case = Literal["master_down", "candidate_down", "switchover", "rejoin_master", "failback_master", "failback_candidate"]


@dataclass(frozen=True)
class NodeCheck:
    """What one status check of one node saw."""

    node: str
    status: CheckStatus
    latency: float
    error: str | None = None
    read_only: bool | None = None
    semi_sync: bool | None = None
    semi_sync_clients: int | None = None
    position: str | None = None  # GTID position of the binary log
    lag: float | None = None  # seconds behind its source, for a node that replicates


@dataclass(frozen=True)
class ReplicaView:
    """What one replica says about its source (SHOW SLAVE/REPLICA STATUS, normalised)."""

    node: str
    io_running: str  # "Yes", "Connecting" or "No"
    sql_running: bool
    source_host: str
    source_port: int
    received: str  # GTID position/set the IO thread received
    applied: str  # GTID position/set applied
    heartbeats: int | None  # heartbeats received from the source (a counter)
    last_io_error: str = ""
    last_sql_error: str = ""
    lag: float | None = None  # seconds behind the source; None when the SQL thread is not running
    heartbeat_period: float | None = None  # seconds between heartbeats of an idle source; 0 = off


@dataclass(frozen=True)
class NodeStatus:
    """Everything `mysqlha status` shows about one node."""

    node: str
    reachable: bool
    error: str | None = None
    version: str | None = None
    read_only: bool | None = None
    position: str | None = None
    semi_sync_source: bool | None = None
    semi_sync_clients: int | None = None
    semi_sync_replica: bool | None = None
    replica: ReplicaView | None = None


@dataclass(frozen=True)
class Witness:
    """A replica asked about a failing source: its view, or why it could not be asked."""

    node: str
    view: ReplicaView | None
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The world as observed once, at the start of one cycle."""

    number: int
    wall_time: float
    checks: dict[str, NodeCheck]
    witnesses: dict[str, Witness] = field(default_factory=dict)


@dataclass(frozen=True)
class DaemonState:
    """What survives a restart: written to the state file after every change."""

    phase: Phase = "armed"
    failures: dict[str, int] = field(default_factory=dict)
    case: Case | None = None
    failed_node: str | None = None
    steps_done: int = 0
    since: float | None = None
    reason: str | None = None
    semi_sync_seen: bool | None = None
    master_position: str | None = None
    # per witness: [heartbeats, received GTID, wall time they last changed]
    witness_progress: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "failures": dict(self.failures),
            "case": self.case,
            "failed_node": self.failed_node,
            "steps_done": self.steps_done,
            "since": self.since,
            "reason": self.reason,
            "semi_sync_seen": self.semi_sync_seen,
            "master_position": self.master_position,
            "witness_progress": dict(self.witness_progress),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DaemonState:
        """Rebuild a state; ValueError when a value is not one this version writes."""
        known = {k: data[k] for k in cls().to_json() if k in data}
        state = replace(cls(), **known)
        if state.phase not in get_args(Phase) or state.case not in (None, *get_args(Case)):
            raise ValueError(f"unknown phase {state.phase!r} or case {state.case!r}")
        if not isinstance(state.steps_done, int) or state.steps_done < 0 or not isinstance(state.failures, dict):
            raise ValueError("steps_done must be a whole number >= 0 and failures a mapping")
        return state


@dataclass(frozen=True)
class StartFailover:
    case: Case
    failed_node: str


@dataclass(frozen=True)
class ResumeFailover:
    pass


@dataclass(frozen=True)
class Fence:
    node: str


Action = StartFailover | ResumeFailover | Fence


@dataclass(frozen=True)
class Event:
    """Something hooks and metrics hear about: failure_detected, failover_started, failover_finished,
    failover_refused, failover_vetoed, switchover, failback."""

    name: str
    node: str | None = None
    case: Case | None = None
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    """The pure function's answer: new state, what to do, what to log, what to announce."""

    state: DaemonState
    actions: tuple[Action, ...]
    lines: tuple[str, ...]
    sentence: str
    events: tuple[Event, ...] = ()
