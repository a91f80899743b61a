"""Immutable values that flow through one cycle: checks, snapshot, state, actions, the decision."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from ha.analysis import Analysis

CheckStatus = Literal["ok", "failed", "answered_error"]
Phase = Literal["armed", "failing_over", "failed_over", "refused", "switched_over"]
Case = Literal["master_down", "candidate_down", "switchover", "rejoin_master", "failback_master", "failback_candidate"]


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
    read_at: float | None = field(default=None, compare=False)  # wall time the answer was read (None: unknown)


@dataclass(frozen=True)
class NodeCheck:
    """What one look at one node saw: the daemon's status check and `mysqlha status` alike."""

    node: str
    status: CheckStatus
    latency: float
    error: str | None = None
    read_only: bool | None = None
    semi_sync: bool | None = None  # the semi-sync source role is on
    semi_sync_clients: int | None = None
    position: str | None = None  # GTID position of the binary log
    lag: float | None = None  # seconds behind its source, for a node that replicates
    version: str | None = None  # "mariadb 10.11.6"
    semi_sync_replica: bool | None = None  # the semi-sync replica role is on
    replica: ReplicaView | None = None  # its view of its source; None when it replicates from nothing


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
    # every program supervisord knows, with its state (one getAllProcessInfo); None: not asked or no answer
    programs: dict[str, str] | None = None
    programs_error: str | None = None  # why supervisord did not answer


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
    analysis: str | None = None  # the last cycle's analysis (its kind) ...
    sentence: str | None = None  # ... and what it did, for `mysqlha status`
    previous: dict[str, Any] | None = None  # while a plan runs: the state an abort restores (to_json form)

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
            "analysis": self.analysis,
            "sentence": self.sentence,
            "previous": self.previous,
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
        if state.previous is not None:
            if not isinstance(state.previous, dict):
                raise ValueError("previous must be a mapping")
            cls.from_json(state.previous)
        return state

    def restored(self) -> DaemonState:
        """The state saved before the running plan started (what an abort goes back to)."""
        return DaemonState.from_json(self.previous) if self.previous is not None else DaemonState()


# -- what a decision asks for -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Reconcile:
    """Bring the proxies to the layout ``target`` names: stop ``stop``, then start ``start`` (verified).

    ``unknown``: programs the layout wants that supervisord does not know (reported, retried)."""

    target: str
    stop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


Action = StartFailover | ResumeFailover | Fence | Reconcile


@dataclass(frozen=True)
class Event:
    """Something hooks and metrics hear about: failure_detected, failover_started, failover_finished,
    failover_refused, failover_vetoed, switchover, failback; ``analysis`` is the cycle's analysis kind."""

    name: str
    node: str | None = None
    case: Case | None = None
    detail: str = ""
    analysis: str = ""


@dataclass(frozen=True)
class Decision:
    """The pure function's answer: new state, the analysis, what to do, what to log, what to announce."""

    state: DaemonState
    analysis: Analysis
    actions: tuple[Action, ...]
    lines: tuple[str, ...]
    sentence: str
    events: tuple[Event, ...] = ()
