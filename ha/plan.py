"""Every plan by its case, and the one runner the daemon and the operator commands share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from ha.config import Config
from ha.failover import failover_plan, finished_line
from ha.model import Case, DaemonState, Phase
from ha.mysql import MySQL
from ha.operations import (
    Marks,
    failback_candidate_plan,
    failback_master_plan,
    rejoin_master_plan,
    switchover_plan,
)
from ha.steps import Step, run_steps
from ha.supervisor import Supervisor

END_PHASE: dict[Case, Phase] = {
    "master_down": "failed_over",
    "candidate_down": "failed_over",
    "switchover": "switched_over",
    "rejoin_master": "switched_over",
    "failback_master": "armed",
    "failback_candidate": "armed",
}
HEADER: dict[Case, str] = {"master_down": "failover1", "candidate_down": "failover2"}


def plan(case: Case, config: Config, mysql: MySQL, supervisor: Supervisor, marks: Marks | None = None) -> list[Step]:
    marks = {} if marks is None else marks
    if case in ("master_down", "candidate_down"):
        return failover_plan(case, config, mysql, supervisor)
    if case == "switchover":
        return switchover_plan(config, mysql, supervisor, marks)
    if case == "rejoin_master":
        return rejoin_master_plan(config, mysql)
    if case == "failback_master":
        return failback_master_plan(config, mysql, supervisor, marks)
    return failback_candidate_plan(config, mysql, supervisor)


def execute(
    state: DaemonState,
    steps: list[Step],
    config: Config,
    save: Callable[[DaemonState], None],
    log: Callable[[str], None],
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> DaemonState:
    """Run (or resume) the plan of ``state.case``; on completion move to its end phase and say so."""
    assert state.case is not None
    case = state.case
    started = clock()
    if state.steps_done == 0:
        log(f"{HEADER.get(case, case)}: {len(steps)} steps")
    label = "failover" if case in HEADER else case
    state, done = run_steps(state, steps, save, log, should_stop, clock, label)
    if not done:
        return state
    took = f"{(clock() - started) * 1000:.0f} ms"
    phase = END_PHASE[case]
    if phase == "armed":
        state = DaemonState()
        log(f"{case} finished in {took}: normal layout restored; automatic failover armed")
    elif case in HEADER:
        state = replace(state, phase=phase)
        log(finished_line(state, config))
        log(
            f"failover actions took {took}; automatic failover is off until {state.failed_node} "
            "failback (`mysqlha failback`, or `mysqlha ack` once the normal layout is back)"
        )
    else:
        state = replace(state, phase=phase)
        log(
            f"{case} finished in {took}: {config.candidate.name} is master, {config.master.name} its semi-sync "
            "replica; automatic failover is off until `mysqlha failback`"
        )
    save(state)
    return state
