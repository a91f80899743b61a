"""The one runner: it saves what ``decide`` chose, runs, resumes and aborts every plan, and is the only
code besides ``decide`` that writes the phase. The daemon and every operator command go through it.

Progress is saved after every step, so a restart resumes a plan at the first step not done. A plan
an operator started that fails before its committing step (the promotion) is undone with the plan's
own undo list and the state saved before it started comes back. When the promotion itself fails, its
own (verified) undo must succeed first, or nothing is undone and the plan stays in progress. Any other
failure stops at a safe point and the plan is retried next cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ha.actions import fence, reconcile
from ha.config import Config
from ha.errors import MysqlhaError
from ha.model import Case, DaemonState, Decision, Event, Fence, Reconcile, ResumeFailover
from ha.mysql import MySQL
from ha.plans import Marks, Plan, build, finished_line
from ha.preflight import refusal
from ha.state import Store
from ha.supervisor import Supervisor

FAILOVERS: tuple[Case, ...] = ("master_down", "candidate_down")


@dataclass(frozen=True)
class Outcome:
    """Where a cycle or a plan left things: the saved state, what to announce, one sentence."""

    state: DaemonState
    events: tuple[Event, ...] = ()
    sentence: str = ""
    finished: bool = False  # the plan ran to its end
    marks: Marks = field(default_factory=dict)


@dataclass
class Runner:
    config: Config
    mysql: MySQL
    supervisor: Supervisor
    store: Store
    log: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    should_stop: Callable[[], bool] = lambda: False
    # several monitors: true while this monitor leads within its deadline; checked before every step
    may_act: Callable[[], bool] = lambda: True
    # every step run, in order: {"n", "description", "ok", "ms", "detail"} (for the history)
    journal: list[dict[str, Any]] = field(default_factory=list)

    def plan(self, case: Case) -> Plan:
        return build(case, self.config, self.mysql, self.supervisor, self.clock)

    # -- the daemon ------------------------------------------------------------------------------------

    def apply(self, decision: Decision, before: DaemonState) -> Outcome:
        """After ``decide`` (state lock held): save the state it chose, then do what it asked."""
        state = decision.state
        # a resumed plan saves the state itself wherever it stops or ends (and after every step): saving it
        # here too would leave "resuming ..." in the file for the length of a step
        resuming = before.phase == state.phase == "failing_over" and any(
            isinstance(action, ResumeFailover) for action in decision.actions
        )
        if state != before and not resuming:
            self.store.save(state)
        outcome = Outcome(state, sentence=decision.sentence)
        held = False  # a reconcile that could not stop what must not run holds a resumed plan
        for action in decision.actions:
            if isinstance(action, Reconcile):
                events, held = self.reconcile(action)
                outcome = replace(outcome, events=(*outcome.events, *events))
            elif isinstance(action, Fence):
                outcome = replace(outcome, events=(*outcome.events, self.fence(action.node)))
            elif held:
                sentence = f"{state.case} not resumed: a proxy its finished steps stopped still runs"
                self.log(f"{sentence}; retried next cycle")
                outcome = replace(outcome, state=self.said(outcome.state, sentence), sentence=sentence)
            else:  # StartFailover (already saved as failing_over) or ResumeFailover
                outcome = self.run(outcome.state)
        return outcome

    def reconcile(self, action: Reconcile) -> tuple[tuple[Event, ...], bool]:
        """Bring the proxies to ``action`` (``ha.actions.reconcile``): the events, and whether a stop failed."""
        return reconcile(action, self.config, self.supervisor, self.log)

    def fence(self, name: str) -> Event:
        """Fence an old master that answers writable (``ha.actions.fence``)."""
        return fence(self.config.nodes[name], self.mysql, self.log)

    # -- operator commands -----------------------------------------------------------------------------

    def operate(
        self,
        case: Case,
        node: str,
        ready: Callable[[DaemonState], None],
        after: Callable[[], None] | None = None,
        lock_wait: float = 10.0,
        begin: Callable[[], None] | None = None,
        ended: Callable[[Outcome], None] | None = None,
    ) -> Outcome:
        """Start the plan of ``case`` under the state lock, as the daemon would, and run it.

        ``ready`` may refuse (raise) after seeing the current state. ``begin`` runs once ``ready`` and
        the grants check passed, before the plan is saved as started; it may still refuse (raise).
        ``after`` runs, still under the lock, once the plan finished; the runner then re-arms automatic
        failover. ``ended`` runs, still under the lock, once the plan returned, finished or not.
        """
        plan = self.plan(case)  # a plan that cannot be built (no replication user) starts nothing
        with self.store.lock(timeout=lock_wait):
            before = self.store.load()
            if before.phase == "failing_over":
                raise MysqlhaError(f"{before.case} in progress; not starting {case}")
            ready(before)
            why = refusal(case, self.config, self.mysql, node if case in FAILOVERS else None)
            if why:  # the monitor user's grants, before step 1
                raise MysqlhaError(f"not starting {case}, nothing touched: {why}")
            if begin is not None:
                begin()
            state = replace(
                before,
                phase="failing_over",
                case=case,
                failed_node=node,
                steps_done=0,
                since=self.wall(),
                reason=None,
                previous=before.to_json(),
            )
            self.store.save(state)
            outcome = self.run(state, plan)
            if after is not None and outcome.finished:
                after()
                armed = DaemonState(sentence=f"{case} finished; automatic failover armed for the new layout")
                self.store.save(armed)
                outcome = replace(outcome, state=armed)
            if ended is not None:
                ended(outcome)
        return outcome

    def rearm(self, check: Callable[[DaemonState], None], lock_wait: float = 10.0) -> DaemonState:
        """Re-arm automatic failover (`mysqlha ack`); returns the state it replaced."""
        with self.store.lock(timeout=lock_wait):
            state = self.store.load()
            if state.phase == "armed":
                return state
            if state.phase == "failing_over":
                raise MysqlhaError(f"{state.case} in progress; wait for it to finish")
            check(state)
            self.store.save(DaemonState(sentence=f"re-armed by an operator (was {state.phase})"))
        return state

    # -- running a plan --------------------------------------------------------------------------------

    def run(self, state: DaemonState, plan: Plan | None = None) -> Outcome:
        """Run (or resume) the plan of ``state.case`` (or ``plan``) from the first step not done."""
        assert state.case is not None, "a plan runs only in the failing_over phase"
        plan = plan or self.plan(state.case)
        started = self.clock()
        total = len(plan.steps)
        if state.steps_done == 0:
            self.log(plan.header)
        for index in range(state.steps_done, total):
            if self.should_stop():
                self.log(f"{plan.label} paused before step {index + 1}/{total}: shutting down; a restart resumes it")
                sentence = f"{plan.label} paused before step {index + 1}"
                return Outcome(self.said(state, sentence), sentence=sentence, marks=plan.marks)
            if not self.may_act():
                self.log(
                    f"{plan.label} stopped before step {index + 1}/{total}: this monitor no longer leads "
                    "(its lease deadline passed); the leader resumes it"
                )
                sentence = f"{plan.label} stopped before step {index + 1}: not leading"
                return Outcome(self.said(state, sentence, refusable=True), sentence=sentence)
            step = plan.steps[index]
            step_started = self.clock()
            try:
                detail = step.run()
            except MysqlhaError as exc:
                self.log(f"  step {index + 1}/{total} {step.description}: FAILED: {exc}")
                self._journal(index + 1, step.description, False, step_started, str(exc))
                if plan.abortable and not plan.committed(state.steps_done):
                    return self.abort(state, plan, index, exc)
                self.log(f"{plan.label} stopped at a safe point before step {index + 1}; it is retried next cycle")
                failed = Event("step_failed", state.failed_node, state.case, f"step {index + 1}/{total}: {exc}")
                sentence = f"{plan.label} stopped before step {index + 1}: {step.description} failed: {exc}"
                return Outcome(self.said(state, sentence), (failed,), sentence, marks=plan.marks)
            state = replace(state, steps_done=index + 1)
            self.store.save(state)
            took = f"{(self.clock() - step_started) * 1000:.0f} ms"
            self.log(f"  step {index + 1}/{total} {step.description}: ok ({took})" + (f": {detail}" if detail else ""))
            self._journal(index + 1, step.description, True, step_started, str(detail) if detail else "")
        return self.finish(state, plan, self.clock() - started)

    def said(self, state: DaemonState, sentence: str, refusable: bool = False) -> DaemonState:
        """Save ``state`` with the sentence that says where the plan stopped (`status` shows it).
        ``refusable``: a monitor that no longer leads may find its write refused (the state in etcd is
        the leader's to write); it is then left as it was."""
        told = replace(state, sentence=sentence)
        try:
            self.store.save(told)
        except MysqlhaError:
            if not refusable:
                raise
            return state
        return told

    def _journal(self, number: int, description: str, ok: bool, started: float, detail: str) -> None:
        ms = round((self.clock() - started) * 1000)
        self.journal.append({"n": number, "description": description, "ok": ok, "ms": ms, "detail": detail})

    def finish(self, state: DaemonState, plan: Plan, seconds: float) -> Outcome:
        """Every step done: move to the plan's end phase, say so, and tell who listens."""
        case, config = plan.case, self.config
        took = f"{seconds * 1000:.0f} ms"
        if case in FAILOVERS:
            sentence = finished_line(case, config)
            self.log(sentence)
            self.log(
                f"failover actions took {took}; automatic failover is off until {state.failed_node} "
                "failback (`mysqlha failback`, or `mysqlha ack` once the normal layout is back)"
            )
            final = replace(state, phase=plan.end_phase, previous=None, sentence=sentence)
            event = Event("failover_finished", state.failed_node, case, analysis=state.analysis or "")
        elif plan.end_phase == "armed":
            sentence = f"{case} finished in {took}: normal layout restored; automatic failover armed"
            self.log(sentence)
            final = DaemonState(sentence=sentence)
            event = Event("failback", state.failed_node, case)
        else:
            sentence = (
                f"{case} finished in {took}: {config.candidate.name} is master, {config.master.name} its semi-sync "
                "replica; automatic failover is off until `mysqlha failback`"
            )
            self.log(sentence)
            final = replace(state, phase=plan.end_phase, previous=None, sentence=sentence)
            event = Event("switchover" if case == "switchover" else "failback", state.failed_node, case)
        self.store.save(final)
        return Outcome(final, (event,), sentence, finished=True, marks=plan.marks)

    def abort(self, state: DaemonState, plan: Plan, failed_at: int, error: MysqlhaError) -> Outcome:
        """Undo a plan that failed before it committed: its undo list, last change first; then the
        state saved before it started. An undo step that fails leaves the phase ``refused``.

        When the committing step itself failed (a promotion, perhaps half-done), its own undo runs first
        and must succeed (it verifies the new master is a read-only replica again) before anything else
        is undone; otherwise nothing else is undone and the plan stays in progress (``not_undone``)."""
        undo = plan.undo_list(failed_at)
        failed_step = plan.steps[failed_at]
        failed = f"step {failed_at + 1}/{len(plan.steps)} {failed_step.description} failed: {error}"
        if failed_step.commits and failed_step.undo is None:
            return self.not_undone(state, plan, failed_at, failed, "it has no undo")
        first = ", that step's own first (verified before anything is made writable)" if failed_step.commits else ""
        when = "at its committing step" if failed_step.commits else "before it committed"
        self.log(f"{plan.label} failed {when}: undoing {len(undo)} change(s){first}")
        problems = []
        for number, step in enumerate(undo, 1):
            try:
                detail = step.run()
                self.log(f"  undo {number}/{len(undo)} {step.description}: ok" + (f": {detail}" if detail else ""))
            except MysqlhaError as exc:
                self.log(f"  undo {number}/{len(undo)} {step.description}: FAILED: {exc}")
                if failed_step.commits and step is failed_step.undo:
                    return self.not_undone(state, plan, failed_at, failed, f"undoing it failed: {exc}")
                problems.append(f"{step.description}: {exc}")
        previous = state.restored()
        if problems:
            reason = (
                f"{plan.label} aborted ({failed}) but not fully undone ({'; '.join(problems)}): "
                "put the layout right by hand, then `mysqlha ack`"
            )
            sentence = f"{plan.label} ABORTED, undo incomplete: {reason}"
            final = replace(
                previous,
                phase="refused",
                case=plan.case,
                failed_node=state.failed_node,
                since=self.wall(),
                reason=reason,
                sentence=sentence,
            )
        else:
            back = "automatic failover armed" if previous.phase == "armed" else f"back to {previous.phase}"
            sentence = f"{plan.label} aborted and undone ({failed}); {back}"
            final = replace(previous, sentence=sentence)
        self.log(sentence)
        self.store.save(final)
        return Outcome(final, sentence=sentence, marks=plan.marks)

    def not_undone(self, state: DaemonState, plan: Plan, failed_at: int, failed: str, why: str) -> Outcome:
        """The committing step failed and could not be undone: what it left is unknown, so nothing else is
        undone (the old master stays read-only, no proxy is started); the plan stays in progress at that
        step and is retried (forward) next cycle. One line says so."""
        sentence = (
            f"{plan.label} NOT undone, nothing made writable: {failed}; {why}; it stays in progress and "
            f"step {failed_at + 1} is retried next cycle"
        )
        self.log(sentence)
        event = Event("step_failed", state.failed_node, state.case, f"{failed}; {why}")
        return Outcome(self.said(state, sentence), (event,), sentence, marks=plan.marks)
