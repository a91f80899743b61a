"""A failover is a list of idempotent steps; progress is saved after each one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ha.config import Config
from ha.errors import MysqlhaError
from ha.model import Case, DaemonState
from ha.mysql import MySQL
from ha.supervisor import Supervisor


@dataclass(frozen=True)
class Step:
    description: str
    run: Callable[[], object]


def plan(case: Case, config: Config, mysql: MySQL, supervisor: Supervisor) -> list[Step]:
    """The steps of one failure case, in order; each may be run again safely."""
    programs = config.proxies.programs
    if case == "master_down":
        transition, candidate = config.proxies.master_down, config.candidate
        timeout = config.failover.catchup_timeout
        return [
            Step(f"stop {', '.join(transition.stop)}", lambda: supervisor.stop(transition.stop)),
            Step(
                f"wait until {candidate.name} applied all it received",
                lambda: mysql.wait_caught_up(candidate, timeout),
            ),
            Step(f"promote {candidate.name} (read_only=OFF)", lambda: mysql.promote(candidate, timeout)),
            Step(
                f"start {', '.join(transition.start)}",
                lambda: supervisor.start([programs[name] for name in transition.start]),
            ),
        ]
    transition = config.proxies.candidate_down
    return [
        Step(f"stop {', '.join(transition.stop)}", lambda: supervisor.stop(transition.stop)),
        Step(
            f"start {', '.join(transition.start)}",
            lambda: supervisor.start([programs[name] for name in transition.start]),
        ),
    ]


def finished_line(state: DaemonState, config: Config) -> str:
    """The classic last line of a failover."""
    if state.case == "master_down":
        return f"failover finished! : {config.candidate.name} is new master"
    purged = [config.candidate.name, *(n.name for n in config.replicas_of(config.candidate.name))]
    return f"failover finished! : {'/'.join(purged)} has been purged"


def run_failover(
    state: DaemonState,
    steps: list[Step],
    save: Callable[[DaemonState], None],
    log: Callable[[str], None],
    config: Config,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> DaemonState:
    """Run the steps not done yet; stop at a resumable point on error or when asked to."""
    started = clock()
    number = "failover1" if state.case == "master_down" else "failover2"
    if state.steps_done == 0:
        log(f"{number}: {len(steps)} steps")
    for index in range(state.steps_done, len(steps)):
        if should_stop():
            log(f"failover paused before step {index + 1}/{len(steps)}: shutting down; a restart resumes it")
            return state
        step = steps[index]
        step_started = clock()
        try:
            step.run()
        except MysqlhaError as exc:
            log(f"  step {index + 1}/{len(steps)} {step.description}: FAILED: {exc}")
            log(f"failover stopped at a safe point before step {index + 1}; it is retried next cycle")
            return state
        state = replace(state, steps_done=index + 1)
        save(state)
        log(f"  step {index + 1}/{len(steps)} {step.description}: ok ({(clock() - step_started) * 1000:.0f} ms)")
    state = replace(state, phase="failed_over")
    save(state)
    log(finished_line(state, config))
    log(
        f"failover actions took {(clock() - started) * 1000:.0f} ms; automatic failover is off until "
        f"{state.failed_node} failback (run `mysqlha ack` once the normal layout is back)"
    )
    return state
