"""The evidence ``decide`` weighs beside the checks, pure: the replicas' progress, which replicas still
hear a failing source, and what promoting the candidate could lose."""

from __future__ import annotations

from ha.config import Config, Node
from ha.gtid import flavor_of, gtid_covers
from ha.heartbeat import silence_allowed
from ha.identity import same_node
from ha.model import DaemonState, ReplicaView, Snapshot, Witness


def track_witnesses(witnesses: dict[str, Witness], progress: dict[str, list], now: float) -> dict[str, list]:
    """[heartbeats, received, since]: ``since`` is when either counter last changed (or was first seen)."""
    tracked = {}
    for name, witness in witnesses.items():
        if witness.view is None:
            continue
        mark = [witness.view.heartbeats, witness.view.received]
        old = progress.get(name)
        read_at = min(witness.view.read_at or now, now)  # when it was read, not when the cycle decided
        tracked[name] = [*mark, old[2] if old and old[:2] == mark else read_at]
    return tracked


def still_heard(failed: Node, snapshot: Snapshot, state: DaemonState, config: Config, now: float) -> list[str]:
    """Replicas replicating *from* ``failed`` (host and port) whose IO thread is connected and that
    heard from it within what their heartbeat period allows (period + replica_silence)."""
    heard = []
    for replica in config.replicas_of(failed.name):
        witness = snapshot.witnesses.get(replica.name)
        view = witness.view if witness else None
        if view is None or view.io_running != "Yes":
            continue
        if not same_node(view.source_host, view.source_port, failed.host, failed.port):
            continue  # it replicates from someone else: it knows nothing about ``failed``
        quiet = now - state.witness_progress[replica.name][2]
        allowed = silence_allowed(view, config.failover.replica_silence)
        if quiet < allowed:
            heard.append(
                f"{replica.name}: IO thread connected to {failed.name}, heartbeats/events moved {quiet:.1f} s ago "
                f"(or first read then); silent for {allowed:g} s before it counts (heartbeat "
                f"{'off' if view.heartbeat_period in (None, 0) else f'{view.heartbeat_period:g} s'})"
            )
    return heard


def data_risk(state: DaemonState, view: ReplicaView, config: Config) -> str | None:
    """Why promoting the candidate could lose acknowledged writes, or None."""
    master, candidate = config.master.name, config.candidate.name
    if not state.semi_sync_seen:
        return (
            f"{master} was last seen without semi-sync (or with no semi-sync replica), "
            f"so {candidate} may lack acknowledged writes"
        )
    flavor = flavor_of(state.master_position or "")
    try:
        covered = not state.master_position or gtid_covers(flavor, view.received, state.master_position)
    except ValueError as exc:
        return f"cannot compare {candidate}'s received GTIDs with {master}'s last position: {exc}"
    if not covered:
        return (
            f"{candidate} received {view.received or 'nothing'} but {master} was last seen at "
            f"{state.master_position}: {candidate} lacks transactions"
        )
    return None
