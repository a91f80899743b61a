"""Planned moves an operator asks for: switchover, rejoin, failback. Each is a list of idempotent steps."""

from __future__ import annotations

import time
from collections.abc import Callable

from ha.config import Config, Credentials, Node
from ha.errors import MysqlhaError, StepFailed
from ha.identity import same_node
from ha.mysql import MySQL
from ha.steps import Step, best_effort
from ha.supervisor import Supervisor

Marks = dict[str, float]


def _credentials(config: Config) -> Credentials:
    if config.replication is None:
        raise MysqlhaError(f"{config.path}: replication: missing; needed to make a node replicate")
    return config.replication


def switch(
    old: Node,
    new: Node,
    stop: tuple[str, ...],
    start: tuple[str, ...],
    config: Config,
    mysql: MySQL,
    supervisor: Supervisor,
    marks: Marks,
    clock: Callable[[], float] = time.monotonic,
) -> list[Step]:
    """Move the master role from ``old`` (healthy) to ``new`` without losing a write.

    Writes stop when ``old`` turns read-only and resume when the ``start`` proxies serve; ``new``
    gets ``old`` as its semi-sync replica before the first write reaches it.
    """
    timeout = config.failover.catchup_timeout
    credentials = _credentials(config)
    programs = config.proxies.programs

    def fence_old() -> str:
        marks.setdefault("writes_stopped", clock())
        mysql.fence(old)
        return "writes stop here"

    def start_new() -> None:
        supervisor.start([programs[name] for name in start])
        marks["writes_resumed"] = clock()

    return [
        Step(f"fence {old.name} (read_only=ON)", fence_old),
        Step(f"stop {', '.join(stop)}", lambda: supervisor.stop(stop)),
        Step(
            f"wait until {new.name} applied everything {old.name} wrote",
            lambda: mysql.wait_position(new, mysql.position(old), timeout),
        ),
        Step(f"promote {new.name}", lambda: mysql.promote(new, timeout)),
        Step(
            f"make {old.name} a semi-sync replica of {new.name}",
            lambda: mysql.replicate_from(old, new, credentials, timeout, semi_sync=True),
        ),
        Step(f"turn semi-sync on at {new.name}", lambda: mysql.semi_sync_source(new, timeout)),
        Step(f"start {', '.join(start)}", start_new),
    ]


def rejoin(node: Node, master: Node, config: Config, mysql: MySQL) -> list[Step]:
    """Bring a returning ``node`` back as ``master``'s semi-sync replica, refusing errant transactions."""
    timeout = config.failover.catchup_timeout
    credentials = _credentials(config)

    def no_errant() -> str:
        missing = mysql.errant(node, master)
        if missing:
            raise StepFailed(errant_explanation(node, master, missing))
        return f"{node.name} holds nothing {master.name} lacks"

    return [
        Step(f"fence {node.name} (read_only=ON)", lambda: mysql.fence(node)),
        Step(f"check {node.name} holds nothing {master.name} lacks", no_errant),
        Step(
            f"make {node.name} a semi-sync replica of {master.name}",
            lambda: mysql.replicate_from(node, master, credentials, timeout, semi_sync=True),
        ),
        Step(
            f"wait until {node.name} caught up with {master.name}",
            lambda: mysql.wait_position(node, mysql.position(master), timeout),
        ),
        Step(f"turn semi-sync on at {master.name}", lambda: mysql.semi_sync_source(master, timeout)),
    ]


def errant_explanation(node: Node, master: Node, missing: str) -> str:
    return (
        f"{node.name} holds transactions {master.name} never received ({missing}); they were never "
        f"acknowledged through a semi-sync commit, but {node.name} cannot follow {master.name} with them: "
        f"rebuild {node.name} from {master.name} (or remove those transactions), then run failback again"
    )


def restore_sources(config: Config, mysql: MySQL) -> Step:
    """Point every plain replica back at its configured source (best effort, errant ones left alone)."""
    credentials = _credentials(config)
    timeout = config.failover.catchup_timeout
    replicas = [n for n in config.nodes.values() if n.role == "replica" and n.source]

    def run() -> str:
        done = []
        for replica in replicas:
            source = config.nodes[replica.source or ""]
            view = mysql.ask(replica).view
            if view is not None and same_node(view.source_host, view.source_port, source.host, source.port):
                outcome = best_effort(lambda r=replica: mysql.wait_replicating(r, timeout))
            else:
                outcome = best_effort(lambda r=replica, s=source: mysql.repoint(r, s, credentials, timeout))
            done.append(f"{replica.name}: {outcome}")
        return "; ".join(done)

    return Step("restore the configured source of every replica", run)


def switchover_plan(config: Config, mysql: MySQL, supervisor: Supervisor, marks: Marks) -> list[Step]:
    master, candidate = config.master, config.candidate
    proxies = config.proxies
    return switch(
        master, candidate, proxies.master_down.stop, proxies.master_down.start, config, mysql, supervisor, marks
    )


def rejoin_master_plan(config: Config, mysql: MySQL) -> list[Step]:
    return [*rejoin(config.master, config.candidate, config, mysql), restore_sources(config, mysql)]


def failback_master_plan(config: Config, mysql: MySQL, supervisor: Supervisor, marks: Marks) -> list[Step]:
    """master1 back: rejoin it under master2, switch the master role back, restore the normal layout."""
    master, candidate = config.master, config.candidate
    proxies = config.proxies
    back = switch(candidate, master, proxies.master_down.start, proxies.normal, config, mysql, supervisor, marks)
    return [*rejoin(master, candidate, config, mysql), *back, restore_sources(config, mysql)]


def failback_candidate_plan(config: Config, mysql: MySQL, supervisor: Supervisor) -> list[Step]:
    """master2 back after case 2: rejoin it under master1 and restore the normal read proxies."""
    transition = config.proxies.candidate_down
    programs = config.proxies.programs
    return [
        *rejoin(config.candidate, config.master, config, mysql),
        restore_sources(config, mysql),
        Step(f"stop {', '.join(transition.start)}", lambda: supervisor.stop(transition.start)),
        Step(
            f"start {', '.join(transition.stop)}",
            lambda: supervisor.start([programs[name] for name in transition.stop]),
        ),
    ]
