"""The reconciling half of ``decide``, pure: does this cycle's decision also put the proxies right?

``decide`` hands over its decision and the snapshot; this adds a ``Reconcile`` (first) when the
program states the snapshot observed differ from what the decided phase wants (``ha.layout``).
"""

from __future__ import annotations

from dataclasses import replace

from ha.config import Config
from ha.layout import describe, phase_layout, plan_layout, reconcile
from ha.model import DaemonState, Decision, Snapshot, StartFailover
from ha.plans import step_moves


def reconciled(decision: Decision, snapshot: Snapshot, config: Config) -> Decision:
    """Add a ``Reconcile`` (first) when the observed proxies differ from what the decided phase wants.

    A settled phase wants its layout (``ha.layout.phase_layout``; refused wants none); a plan being
    resumed wants what its finished steps imply, without starting what a remaining step stops. A
    failover starting this cycle moves the proxies itself. Nothing is reconciled when supervisord did
    not answer, or when the databases contradict the phase (its master read-only, the other writable)."""
    state = decision.state
    if snapshot.programs is None:
        if snapshot.programs_error:
            line = f"  supervisord: {snapshot.programs_error}; proxies not reconciled this cycle"
            return replace(decision, lines=(*decision.lines, line))
        return decision
    if any(isinstance(action, StartFailover) for action in decision.actions):
        return decision
    skip: frozenset[str] = frozenset()
    if state.phase == "failing_over":
        moves = step_moves(state.case, config) if state.case else None
        implied = plan_layout(config, state, moves) if moves is not None else None
        if implied is None:
            return decision
        layout, skip = implied
    else:
        wanted = phase_layout(config, state.phase, state.case)
        if wanted is None:
            return decision
        layout = wanted
        conflict = contradiction(snapshot, state, config)
        if conflict:
            line = f"proxies NOT reconciled to {describe(state)}: {conflict}"
            return replace(decision, lines=(*decision.lines, line))
    action = reconcile(config, describe(state), layout, snapshot.programs, skip)
    if action is None:
        return decision
    return replace(decision, actions=(action, *decision.actions))


def contradiction(snapshot: Snapshot, state: DaemonState, config: Config) -> str | None:
    """Why the databases' roles contradict the phase (so its layout could send writes to the wrong master)."""
    master, candidate = config.master.name, config.candidate.name
    demoted = state.phase == "switched_over" or (state.phase == "failed_over" and state.case == "master_down")
    writer, other = (candidate, master) if demoted else (master, candidate)
    mine, theirs = snapshot.checks.get(writer), snapshot.checks.get(other)
    if mine is None or theirs is None or mine.status != "ok" or theirs.status != "ok":
        return None
    if mine.read_only and theirs.read_only is False:
        return (
            f"the state says {writer} is master, but {writer} is read-only and {other} writable: "
            "check `mysqlha status`, then `mysqlha ack` or `failback`"
        )
    return None
