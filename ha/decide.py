"""The brain, pure: (snapshot, state, config) -> (new state, actions, log lines, sentence).

Failure classes, decided before anything is acted on:
- ``master_down``: the master failed ``failures`` checks in a row, the candidate answers, no
  replica of the master still hears from it, and promoting cannot lose an acknowledged write;
- ``candidate_down``: the candidate failed ``failures`` checks in a row, the master answers, and
  no replica of the candidate still hears from it;
- a failing node whose replicas still hear from it is unreachable from the monitor only: logged,
  never acted on; so is "both failing" (nothing can be promoted safely);
- a master failure where promotion could lose writes is refused until an operator acknowledges.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ha.config import Config, Node
from ha.dialect import gtid_covers
from ha.heartbeat import silence_allowed
from ha.identity import same_node
from ha.model import (
    Action,
    Case,
    DaemonState,
    Decision,
    Event,
    Fence,
    NodeCheck,
    ReplicaView,
    ResumeFailover,
    Snapshot,
    StartFailover,
    Witness,
)


def check_lines(snapshot: Snapshot, check: NodeCheck, failures: int, threshold: int | None) -> list[str]:
    """The classic lines for one check, plus one indented detail line when something is wrong."""
    lines = [f"{snapshot.number}: {check.node} status check at {time.ctime(snapshot.wall_time)}"]
    took = f"{check.latency * 1000:.0f} ms"
    if check.status == "ok":
        lines.append("ok")
    elif check.status == "failed":
        lines.append(f"{check.node} fail detected!")
        count = f"failure {failures} of {threshold}" if threshold else f"{failures} failures in a row"
        lines.append(f"  {check.error} after {took}; {count}")
    else:
        lines.append(f"{check.node} answered with an error: MONITORING PROBLEM, not counted as a failure")
        lines.append(f"  {check.error} after {took}; fix the monitoring user or the server's limits")
    return lines


def track_witnesses(witnesses: dict[str, Witness], progress: dict[str, list], now: float) -> dict[str, list]:
    """[heartbeats, received, since]: ``since`` is when either counter last changed (or was first seen)."""
    tracked = {}
    for name, witness in witnesses.items():
        if witness.view is None:
            continue
        mark = [witness.view.heartbeats, witness.view.received]
        old = progress.get(name)
        tracked[name] = [*mark, old[2] if old and old[:2] == mark else now]
    return tracked


def decide(snapshot: Snapshot, state: DaemonState, config: Config, now: float) -> Decision:
    """Count failures, classify, and choose what to do; no I/O. A node's first failure is an event."""
    decision = _decide(snapshot, state, config, now)
    first = tuple(
        Event("failure_detected", name, None, snapshot.checks[name].error or "")
        for name, count in decision.state.failures.items()
        if count == 1 and state.phase == "armed"
    )
    return replace(decision, events=first + decision.events) if first else decision


def _decide(snapshot: Snapshot, state: DaemonState, config: Config, now: float) -> Decision:
    master, candidate = config.master.name, config.candidate.name
    threshold = config.monitor.failures
    failures = dict(state.failures)
    lines: list[str] = []
    for name in (master, candidate):
        check = snapshot.checks[name]
        failures[name] = failures.get(name, 0) + 1 if check.status == "failed" else 0
        lines += check_lines(snapshot, check, failures[name], threshold if state.phase == "armed" else None)
    state = replace(
        state, failures=failures, witness_progress=track_witnesses(snapshot.witnesses, state.witness_progress, now)
    )
    master_check = snapshot.checks[master]
    if master_check.status == "ok" and state.phase == "armed":
        state = replace(
            state,
            semi_sync_seen=bool(master_check.semi_sync) and (master_check.semi_sync_clients or 0) > 0,
            master_position=master_check.position if master_check.position is not None else state.master_position,
        )

    if state.phase == "failing_over":
        lines.append(f"{state.case} resuming at step {state.steps_done + 1}")
        return Decision(state, (ResumeFailover(),), tuple(lines), f"resuming failover {state.case}")
    if state.phase in ("failed_over", "refused", "switched_over"):
        return _after_failover(snapshot, state, config, lines)

    master_failing = failures[master] >= threshold
    candidate_failing = failures[candidate] >= threshold
    if master_failing and candidate_failing:
        lines.append(f"{master} and {candidate} both failing: no safe candidate, not failing over")
        return Decision(state, (), tuple(lines), "both master and candidate failing: nothing to promote")
    if master_failing or candidate_failing:
        failed = config.master if master_failing else config.candidate
        heard = still_heard(failed, snapshot, state, config, now) if config.failover.ask_replicas else []
        if heard:
            lines.append(f"{failed.name} unreachable from monitor but replicas still connected: not failing over")
            lines.append(f"  {'; '.join(heard)}")
            return Decision(state, (), tuple(lines), f"{failed.name} unreachable from the monitor only")
        if candidate_failing:
            return _start(state, lines, "candidate_down", candidate, now)
        return _master_down(snapshot, state, config, now, lines)
    worst = max(failures.values())
    sentence = "all checks ok" if worst == 0 else f"failures {failures} of {threshold}"
    return Decision(state, (), tuple(lines), sentence)


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
    flavor = "mysql" if ":" in (state.master_position or "") else "mariadb"  # uuid:n-m sets vs d-s-n
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


def _master_down(snapshot: Snapshot, state: DaemonState, config: Config, now: float, lines: list[str]) -> Decision:
    master, candidate = config.master.name, config.candidate.name
    witness = snapshot.witnesses.get(candidate)
    if witness is None or witness.error is not None:
        why = witness.error if witness else "not asked"
        lines.append(f"{master} failing: not failing over yet: cannot ask {candidate} what it received ({why})")
        return Decision(state, (), tuple(lines), f"waiting to ask {candidate}")
    risk = f"{candidate} replicates from nothing" if witness.view is None else data_risk(state, witness.view, config)
    if risk and not (config.failover.allow_async_promotion and witness.view is not None):
        reason = f"{risk}; set failover.allow_async_promotion to override"
        lines.append(f"{master} failing: NOT failing over: {reason}")
        refused = replace(state, phase="refused", failed_node=master, since=now, reason=reason)
        event = Event("failover_refused", master, "master_down", reason)
        return Decision(refused, (), tuple(lines), f"refused to fail over: {reason}", (event,))
    if risk:
        lines.append(f"  WARNING: {risk}; promoting anyway (failover.allow_async_promotion)")
    return _start(state, lines, "master_down", master, now)


def _start(state: DaemonState, lines: list[str], case: Case, node: str, now: float) -> Decision:
    lines.append(f"{node} failing: failover starting")
    started = replace(state, phase="failing_over", case=case, failed_node=node, steps_done=0, since=now, reason=None)
    action: Action = StartFailover(case, node)
    event = Event("failover_started", node, case)
    return Decision(started, (action,), tuple(lines), f"started failover {case} for {node}", (event,))


def _after_failover(snapshot: Snapshot, state: DaemonState, config: Config, lines: list[str]) -> Decision:
    """Watch only; fence an old master that answers writable while master2 is the master."""
    master = config.master.name
    check = snapshot.checks[master]
    demoted = state.phase == "switched_over" or (state.phase == "failed_over" and state.case == "master_down")
    if demoted and check.status == "ok" and not check.read_only:
        lines.append(f"{master} answers again and is writable: fencing it (read_only=ON)")
        return Decision(state, (Fence(master),), tuple(lines), f"fencing {master}")
    what = {"failed_over": "failed over", "refused": "refused to fail over"}.get(state.phase, "switched over")
    return Decision(state, (), tuple(lines), f"{what} ({state.failed_node}); waiting for an operator")
