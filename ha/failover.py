"""The automatic failover plans: case 1 (master down) and case 2 (candidate down)."""

from __future__ import annotations

import os
import subprocess

from ha.config import Config, Node
from ha.errors import StepFailed
from ha.model import Case, DaemonState
from ha.mysql import MySQL
from ha.steps import Step, best_effort
from ha.supervisor import Supervisor


def failover_plan(case: Case, config: Config, mysql: MySQL, supervisor: Supervisor) -> list[Step]:
    """The steps of one failure case, in order; each may be run again safely."""
    programs = config.proxies.programs
    failover = config.failover
    master, candidate = config.master, config.candidate
    if case == "master_down":
        transition, survivor, failed = config.proxies.master_down, candidate, master
    else:
        transition, survivor, failed = config.proxies.candidate_down, master, candidate

    def start(names: tuple[str, ...]) -> Step:
        return Step(f"start {', '.join(names)}", lambda: supervisor.start([programs[name] for name in names]))

    def launch(names: tuple[str, ...]) -> Step:
        return Step(f"launch {', '.join(names)}", lambda: supervisor.start([programs[n] for n in names], wait=False))

    steps = [Step(f"stop {', '.join(transition.stop)}", lambda: supervisor.stop(transition.stop))]
    if case == "master_down":
        # Programs that do not route to the candidate (the read-failover set) need no promotion:
        # launch them at once, so reads are not down while the candidate catches up; the last
        # step verifies every program of the set serves.
        to_candidate = tuple(name for name in transition.start if candidate.name in programs[name].backends)
        others = tuple(name for name in transition.start if name not in to_candidate)
        if others:
            steps.append(launch(others))
        if failover.fence_command:
            steps.append(Step(f"fence {failed.name}: {failover.fence_command}", lambda: fence_command(config, failed)))
        steps += [
            Step(
                f"wait until {candidate.name} applied all it received",
                lambda: mysql.wait_caught_up(candidate, failover.catchup_timeout),
            ),
            Step(
                f"promote {candidate.name} (without semi-sync: no semi-sync replica is left)",
                lambda: mysql.promote(candidate, failover.catchup_timeout),
            ),
            start((*to_candidate, *others)),
        ]
    else:
        steps.append(start(transition.start))
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
