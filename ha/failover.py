"""A failover is a list of idempotent steps; progress is saved after each one."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ha.config import Config, Node
from ha.errors import MysqlhaError, StepFailed
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
    failover = config.failover
    master, candidate = config.master, config.candidate
    if case == "master_down":
        transition, survivor, failed = config.proxies.master_down, candidate, master
    else:
        transition, survivor, failed = config.proxies.candidate_down, master, candidate
    steps = [Step(f"stop {', '.join(transition.stop)}", lambda: supervisor.stop(transition.stop))]
    if case == "master_down":
        if failover.fence_command:
            steps.append(Step(f"fence {failed.name}: {failover.fence_command}", lambda: fence_command(config, failed)))
        steps += [
            Step(
                f"wait until {candidate.name} applied all it received",
                lambda: mysql.wait_caught_up(candidate, failover.catchup_timeout),
            ),
            Step(f"promote {candidate.name}", lambda: mysql.promote(candidate, failover.catchup_timeout)),
        ]
    steps.append(
        Step(
            f"start {', '.join(transition.start)}",
            lambda: supervisor.start([programs[name] for name in transition.start]),
        )
    )
    stranded = [n for n in config.replicas_of(failed.name) if n.name != candidate.name]
    if failover.repoint_replicas and config.replication is not None:
        credentials = config.replication
        for replica in stranded:
            steps.append(
                Step(
                    f"repoint {replica.name} to {survivor.name}",
                    lambda replica=replica: best_effort(
                        lambda: mysql.repoint(replica, survivor, credentials, failover.catchup_timeout)
                    ),
                )
            )
    return steps


def best_effort(run: Callable[[], str]) -> str:
    """A step that must not hold up the failover: its failure is reported, not raised."""
    try:
        return run()
    except MysqlhaError as exc:
        return f"skipped: {exc}"


def fence_command(config: Config, node: Node) -> str:
    """Run the operator's fencing command for ``node``; StepFailed unless it exits 0 in time."""
    command = config.failover.fence_command or ""
    env = {
        **os.environ,
        "MYSQLHA_FAILED_NODE": node.name,
        "MYSQLHA_FAILED_HOST": node.host,
        "MYSQLHA_FAILED_PORT": str(node.port),
    }
    try:
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=config.failover.fence_timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"fence command timed out after {config.failover.fence_timeout:g} s") from exc
    output = (result.stdout + result.stderr).strip().splitlines()
    tail = output[-1] if output else ""
    if result.returncode != 0:
        raise StepFailed(f"fence command exited {result.returncode}: {tail}")
    return tail or "exit 0"


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
            detail = step.run()
        except MysqlhaError as exc:
            log(f"  step {index + 1}/{len(steps)} {step.description}: FAILED: {exc}")
            log(f"failover stopped at a safe point before step {index + 1}; it is retried next cycle")
            return state
        state = replace(state, steps_done=index + 1)
        save(state)
        took = f"{(clock() - step_started) * 1000:.0f} ms"
        log(f"  step {index + 1}/{len(steps)} {step.description}: ok ({took})" + (f": {detail}" if detail else ""))
    state = replace(state, phase="failed_over")
    save(state)
    log(finished_line(state, config))
    log(
        f"failover actions took {(clock() - started) * 1000:.0f} ms; automatic failover is off until "
        f"{state.failed_node} failback (run `mysqlha ack` once the normal layout is back)"
    )
    return state
