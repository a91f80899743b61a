"""The brain, pure: (snapshot, state, config, now) -> Decision(state, analysis, actions, lines, sentence, events).

It counts failures, names what it sees (``ha.analysis``: ``MasterDown`` and ``CandidateDown`` are the
only classes acted on; ``UnreachableFromMonitorOnly``, ``BothFailing``, ``CandidateUnasked`` are
logged, never acted on; ``DataRiskRefused`` waits for an operator), and says what to do. No I/O:
``ha.runner`` saves the state it returns and runs the plans it asks for; ``vetoed`` turns a start
into a veto before anything is announced. ``ha.reconcile`` adds what puts the proxies right.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ha.analysis import (
    AllHealthy,
    Analysis,
    BothFailing,
    CandidateCannotApply,
    CandidateDown,
    CandidateUnasked,
    DataRiskRefused,
    Failing,
    FailoverVetoed,
    GrantsMissing,
    MasterDown,
    NotAgreed,
    OperatorBusy,
    Resuming,
    UnreachableFromMonitorOnly,
    WaitingForOperator,
)
from ha.config import Config
from ha.evidence import data_risk, still_heard, track_witnesses
from ha.model import (
    Action,
    Case,
    DaemonState,
    Decision,
    Event,
    Fence,
    NodeCheck,
    ResumeFailover,
    Snapshot,
    StartFailover,
)
from ha.quorum import Quorum
from ha.reconcile import reconciled

STILL_FAILING = {
    "failing_over": "still failing, failover in progress",
    "failed_over": "still failing, already failed over",
    "refused": "still failing, failover refused",
    "switched_over": "still failing, switched over",
}


def check_lines(
    snapshot: Snapshot, check: NodeCheck, failures: int, threshold: int | None, phase: str = "armed"
) -> list[str]:
    """The classic lines for one check, plus one indented detail line when something is wrong.

    The count stops at the threshold ("failure 5 of 5"); once failed over it says so instead."""
    lines = [f"{snapshot.number}: {check.node} status check at {time.ctime(snapshot.wall_time)}"]
    took = f"{check.latency * 1000:.0f} ms"
    if check.status == "ok":
        lines.append("ok")
    elif check.status == "failed":
        lines.append(f"{check.node} fail detected!")
        if threshold:
            count = f"failure {min(failures, threshold)} of {threshold}"
        else:
            count = STILL_FAILING.get(phase, f"{failures} failures in a row")
        lines.append(f"  {check.error} after {took}; {count}")
    else:
        lines.append(f"{check.node} answered with an error: MONITORING PROBLEM, not counted as a failure")
        lines.append(f"  {check.error} after {took}; fix the monitoring user or the server's limits")
    return lines


def decide(
    snapshot: Snapshot,
    state: DaemonState,
    config: Config,
    now: float,
    watch_only: bool = False,
    quorum: Quorum | None = None,
) -> Decision:
    """Count failures, classify, and choose what to do; no I/O. A node's first failure is an event.

    ``watch_only``: an operator command holds the state lock, so this cycle logs its checks and
    changes nothing (the counts it shows are not kept). ``quorum`` (several monitors): a node counts
    as failed only when a majority of the configured monitors see it failing, whatever this one sees.
    """
    if watch_only:
        return _watch_only(snapshot, state, config)
    decision = reconciled(_decide(snapshot, state, config, now, quorum), snapshot, config)
    first = tuple(
        Event("failure_detected", name, None, snapshot.checks[name].error or "")
        for name, count in decision.state.failures.items()
        if count == 1 and state.phase == "armed"
    )
    kind = decision.analysis.kind
    events = tuple(replace(event, analysis=kind) for event in first + decision.events)
    stamped = replace(decision.state, analysis=kind, sentence=decision.sentence)
    return replace(decision, state=stamped, events=events)


def withheld(decision: Decision, analysis: Analysis, line: str, sentence: str) -> Decision:
    """A starting decision that must not start after all (vetoed, paused, a grant missing): back to armed,
    its StartFailover and ``failover_started`` dropped, ``line`` said instead; asked again next cycle."""
    start = next(action for action in decision.actions if isinstance(action, StartFailover))
    node = start.failed_node
    state = replace(
        decision.state,
        phase="armed",
        case=None,
        failed_node=None,
        steps_done=0,
        since=None,
        analysis=analysis.kind,
        sentence=sentence,
    )
    lines = [text for text in decision.lines if text != f"{node} failing: failover starting"]
    kept = tuple(replace(e, analysis=analysis.kind) for e in decision.events if e.name != "failover_started")
    actions = tuple(action for action in decision.actions if action is not start)
    return Decision(state, analysis, actions, (*lines, line), sentence, kept)


def unrefused(decision: Decision, analysis: Analysis, line: str, sentence: str) -> Decision:
    """A refusing decision that must not stand after all (no etcd quorum: refusing is the leader's
    decision too): back to armed, its ``failover_refused`` and its NOT-failing-over line dropped, ``line``
    said instead; asked again next cycle."""
    node = getattr(decision.analysis, "node", None)
    kind = analysis.kind
    state = replace(
        decision.state, phase="armed", failed_node=None, since=None, reason=None, analysis=kind, sentence=sentence
    )
    lines = tuple(text for text in decision.lines if not text.startswith(f"{node} failing: NOT failing over: "))
    events = tuple(replace(e, analysis=kind) for e in decision.events if e.name == "failure_detected")
    return replace(decision, state=state, analysis=analysis, lines=(*lines, line), sentence=sentence, events=events)


def _not_started(
    decision: Decision,
    reason: str,
    analysis_of: type[FailoverVetoed] | type[GrantsMissing] | type[CandidateCannotApply],
    says: str,
    sentence: str,
    event: str,
) -> Decision:
    start = next(action for action in decision.actions if isinstance(action, StartFailover))
    node, case = start.failed_node, start.case
    analysis = analysis_of(node, case, reason)
    held = withheld(decision, analysis, f"{node} failing: {says}: {reason}", f"failover {case} of {node} {sentence}")
    return replace(held, events=(*held.events, Event(event, node, case, reason, analysis.kind)))


def vetoed(decision: Decision, reason: str) -> Decision:
    """What a starting decision becomes when the pre_failover hook vetoes it: nothing started, one
    ``failover_vetoed`` instead of ``failover_started``, asked again next cycle."""
    hook = "by the pre_failover hook"
    return _not_started(
        decision, reason, FailoverVetoed, f"failover VETOED {hook}", f"vetoed {hook}", "failover_vetoed"
    )


def ungranted(decision: Decision, reason: str) -> Decision:
    """A starting decision whose plan the monitor user cannot run: nothing touched, one ``failover_refused``."""
    says, sentence = "failover NOT STARTED, nothing touched", "not started: a grant is missing"
    return _not_started(decision, reason, GrantsMissing, says, sentence, "failover_refused")


def unapplied(decision: Decision, reason: str) -> Decision:
    """A starting decision whose candidate cannot apply what it received: nothing touched, one ``failover_refused``."""
    says, sentence = "failover NOT STARTED, nothing touched", "not started: the candidate cannot apply its relay log"
    return _not_started(decision, reason, CandidateCannotApply, says, sentence, "failover_refused")


def _watch_only(snapshot: Snapshot, state: DaemonState, config: Config) -> Decision:
    lines: list[str] = []
    failures = dict(state.failures)
    for name, check in snapshot.checks.items():
        failures[name] = failures.get(name, 0) + 1 if check.status == "failed" else 0
        lines += check_lines(snapshot, check, failures[name], None)
    lines.append("an operator command holds the state lock: watching only this cycle")
    counted = replace(state, failures=failures)
    return Decision(counted, OperatorBusy(), (), tuple(lines), "operator command in progress: watching only")


def _decide(snapshot: Snapshot, state: DaemonState, config: Config, now: float, quorum: Quorum | None) -> Decision:
    master, candidate = config.master.name, config.candidate.name
    threshold = config.monitor.failures
    failures = dict(state.failures)
    lines: list[str] = []
    for name in (master, candidate):
        check = snapshot.checks[name]
        failures[name] = failures.get(name, 0) + 1 if check.status == "failed" else 0
        lines += check_lines(
            snapshot, check, failures[name], threshold if state.phase == "armed" else None, state.phase
        )
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
        assert state.case is not None
        lines.append(f"{state.case} resuming at step {state.steps_done + 1}")
        resuming = Resuming(state.case, state.steps_done + 1)
        return Decision(state, resuming, (ResumeFailover(),), tuple(lines), f"resuming {state.case}")
    if state.phase in ("failed_over", "refused", "switched_over"):
        return _after_failover(snapshot, state, config, lines)

    master_failing = failures[master] >= threshold
    candidate_failing = failures[candidate] >= threshold
    if quorum is not None:  # several monitors: the majority's word, not this monitor's
        lone = [name for name, failing in ((master, master_failing), (candidate, candidate_failing)) if failing]
        master_failing, candidate_failing = master in quorum.failing, candidate in quorum.failing
        for name in (master, candidate):
            if name in quorum.failing or name in lone:
                lines.append(f"  quorum: {quorum.says(name)}")
        unagreed = [name for name in lone if name not in quorum.failing]
        if unagreed and not (master_failing or candidate_failing):
            node = unagreed[0]
            lines.append(f"{node} failing here but not for a majority of monitors: not failing over")
            alone = NotAgreed(node, quorum.says(node))
            return Decision(state, alone, (), tuple(lines), f"{node} failing for this monitor only")
    if master_failing and candidate_failing:
        lines.append(f"{master} and {candidate} both failing: no safe candidate, not failing over")
        return Decision(state, BothFailing(), (), tuple(lines), "both master and candidate failing: nothing to promote")
    if master_failing or candidate_failing:
        failed = config.master if master_failing else config.candidate
        heard = still_heard(failed, snapshot, state, config, now) if config.failover.ask_replicas else []
        if heard:
            lines.append(f"{failed.name} unreachable from monitor but replicas still connected: not failing over")
            lines.append(f"  {'; '.join(heard)}")
            analysis: Analysis = UnreachableFromMonitorOnly(failed.name, tuple(heard))
            return Decision(state, analysis, (), tuple(lines), f"{failed.name} unreachable from the monitor only")
        if candidate_failing:
            return _start(state, lines, "candidate_down", candidate, now)
        return _master_down(snapshot, state, config, now, lines)
    worst = max((master, candidate), key=lambda name: failures[name])
    if failures[worst] == 0:
        return Decision(state, AllHealthy(), (), tuple(lines), "all checks ok")
    failing = Failing(worst, failures[worst], threshold)
    sentence = f"{worst} failing: {failures[worst]} of {threshold} failed checks"
    return Decision(state, failing, (), tuple(lines), sentence)


def _master_down(snapshot: Snapshot, state: DaemonState, config: Config, now: float, lines: list[str]) -> Decision:
    master, candidate = config.master.name, config.candidate.name
    witness = snapshot.witnesses.get(candidate)
    if witness is None or witness.error is not None:
        why = witness.error if witness and witness.error else "not asked"
        lines.append(f"{master} failing: not failing over yet: cannot ask {candidate} what it received ({why})")
        return Decision(state, CandidateUnasked(candidate, why), (), tuple(lines), f"waiting to ask {candidate}")
    risk = f"{candidate} replicates from nothing" if witness.view is None else data_risk(state, witness.view, config)
    if risk and not (config.failover.allow_async_promotion and witness.view is not None):
        reason = f"{risk}; set failover.allow_async_promotion to override"
        lines.append(f"{master} failing: NOT failing over: {reason}")
        refused = replace(state, phase="refused", failed_node=master, since=now, reason=reason)
        event = Event("failover_refused", master, "master_down", reason)
        sentence = f"refused to fail over: {reason}"
        return Decision(refused, DataRiskRefused(master, reason), (), tuple(lines), sentence, (event,))
    if risk:
        lines.append(f"  WARNING: {risk}; promoting anyway (failover.allow_async_promotion)")
    return _start(state, lines, "master_down", master, now)


def _start(state: DaemonState, lines: list[str], case: Case, node: str, now: float) -> Decision:
    lines.append(f"{node} failing: failover starting")
    started = replace(state, phase="failing_over", case=case, failed_node=node, steps_done=0, since=now, reason=None)
    action: Action = StartFailover(case, node)
    event = Event("failover_started", node, case)
    analysis = MasterDown(node) if case == "master_down" else CandidateDown(node)
    return Decision(started, analysis, (action,), tuple(lines), f"started failover {case} for {node}", (event,))


def _after_failover(snapshot: Snapshot, state: DaemonState, config: Config, lines: list[str]) -> Decision:
    """Watch only; fence an old master that answers writable while master2 is the master."""
    master = config.master.name
    check = snapshot.checks[master]
    demoted = state.phase == "switched_over" or (state.phase == "failed_over" and state.case == "master_down")
    if demoted and check.status == "ok" and not check.read_only:
        lines.append(f"{master} answers again and is writable: fencing it (read_only=ON)")
        fencing = WaitingForOperator(state.phase, master)
        return Decision(state, fencing, (Fence(master),), tuple(lines), f"fencing {master}")
    what = {"failed_over": "failed over", "refused": "refused to fail over"}.get(state.phase, "switched over")
    sentence = f"{what} ({state.failed_node}); waiting for an operator"
    return Decision(state, WaitingForOperator(state.phase), (), tuple(lines), sentence)
