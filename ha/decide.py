"""The brain, pure: (snapshot, state, config) -> (new state, actions, log lines, sentence).

Failure classes, decided before anything is acted on:
- ``master_down``: the master failed ``failures`` checks in a row, the candidate answers,
  and the master was last seen with semi-sync on (or async promotion is allowed);
- ``candidate_down``: the candidate failed ``failures`` checks in a row, the master answers;
- both failing: nothing can be promoted safely; logged, never acted on.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ha.config import Config
from ha.model import Action, Case, DaemonState, Decision, Fence, NodeCheck, ResumeFailover, Snapshot, StartFailover


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


def decide(snapshot: Snapshot, state: DaemonState, config: Config, now: float) -> Decision:
    """Count failures, classify, and choose what to do; no I/O."""
    master, candidate = config.master.name, config.candidate.name
    threshold = config.monitor.failures
    failures = dict(state.failures)
    semi_sync_seen = state.semi_sync_seen
    lines: list[str] = []
    for name in (master, candidate):
        check = snapshot.checks[name]
        failures[name] = failures.get(name, 0) + 1 if check.status == "failed" else 0
        lines += check_lines(snapshot, check, failures[name], threshold if state.phase == "armed" else None)
    master_check = snapshot.checks[master]
    if master_check.status == "ok" and state.phase == "armed":
        semi_sync_seen = bool(master_check.semi_sync) and (master_check.semi_sync_clients or 0) > 0
    state = replace(state, failures=failures, semi_sync_seen=semi_sync_seen)

    if state.phase == "failing_over":
        lines.append(f"failover {state.case} resuming at step {state.steps_done + 1}")
        return Decision(state, (ResumeFailover(),), tuple(lines), f"resuming failover {state.case}")
    if state.phase in ("failed_over", "refused"):
        return _after_failover(snapshot, state, config, lines)

    master_failing = failures[master] >= threshold
    candidate_failing = failures[candidate] >= threshold
    if master_failing and candidate_failing:
        lines.append(f"{master} and {candidate} both failing: no safe candidate, not failing over")
        return Decision(state, (), tuple(lines), "both master and candidate failing: nothing to promote")
    if master_failing:
        if not semi_sync_seen and not config.failover.allow_async_promotion:
            reason = (
                f"{master} was last seen without semi-sync (or with no semi-sync replica), "
                f"so {candidate} may lack acknowledged writes; set failover.allow_async_promotion to override"
            )
            lines.append(f"{master} failing: NOT failing over: {reason}")
            refused = replace(state, phase="refused", failed_node=master, since=now, reason=reason)
            return Decision(refused, (), tuple(lines), f"refused to fail over: {reason}")
        return _start(state, lines, "master_down", master, now)
    if candidate_failing:
        return _start(state, lines, "candidate_down", candidate, now)
    worst = max(failures.values())
    sentence = "all checks ok" if worst == 0 else f"failures {failures} of {threshold}"
    return Decision(state, (), tuple(lines), sentence)


def _start(state: DaemonState, lines: list[str], case: Case, node: str, now: float) -> Decision:
    lines.append(f"{node} failing: failover starting")
    started = replace(state, phase="failing_over", case=case, failed_node=node, steps_done=0, since=now, reason=None)
    action: Action = StartFailover(case, node)
    return Decision(started, (action,), tuple(lines), f"started failover {case} for {node}")


def _after_failover(snapshot: Snapshot, state: DaemonState, config: Config, lines: list[str]) -> Decision:
    """Watch only; fence an old master that answers writable after case 1."""
    master = config.master.name
    check = snapshot.checks[master]
    if state.phase == "failed_over" and state.case == "master_down" and check.status == "ok" and not check.read_only:
        lines.append(f"{master} answers again and is writable: fencing it (read_only=ON)")
        return Decision(state, (Fence(master),), tuple(lines), f"fencing {master}")
    what = "failed over" if state.phase == "failed_over" else "refused to fail over"
    return Decision(state, (), tuple(lines), f"{what} ({state.failed_node}); waiting for an operator")
