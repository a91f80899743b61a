"""Every plan, built from the config and the adapters and nothing else: lists of idempotent steps.

Building a plan touches nothing; ``ha.runner`` runs it. A plan an operator starts (switchover,
rejoin, failback) can be aborted: each step that changes the layout names its ``undo``, and the
step that makes the new master writable ``commits`` (after it the plan only goes forward). That
step may fail half-done (the new master detached, even writable): its own undo puts the new master
back as a read-only semi-sync replica and verifies it, and only then may the rest be undone (the
old master made writable again). The automatic failovers are never undone: a failed step is
retried next cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ha.config import Config, Credentials, Node
from ha.errors import MysqlhaError, StepFailed
from ha.hooks import fence_command
from ha.identity import same_node
from ha.layout import Moves
from ha.model import Case, Phase
from ha.mysql import MySQL
from ha.supervisor import Supervisor

Marks = dict[str, float]


@dataclass(frozen=True)
class Step:
    description: str
    run: Callable[[], object]
    undo: Step | None = None  # puts back what this step changed (also run when this step itself failed)
    # once done, the plan cannot be undone: it is finished instead. When it fails, its undo must succeed
    # before any other undo runs (none: the plan is not undone, it stays in progress)
    commits: bool = False
    moves: Moves = field(default_factory=Moves)  # what it does to the proxies (the layout a resumed plan reconciles to)


@dataclass(frozen=True)
class Plan:
    case: Case
    steps: tuple[Step, ...]
    end_phase: Phase
    abortable: bool  # a failure before a committing step undoes the plan, else it is retried
    header: str  # first log line, "failover1: 5 steps"
    label: str  # how its log lines name it: "failover", "switchover"
    marks: Marks = field(default_factory=dict)  # when writes stopped and resumed (switchovers)

    def undo_list(self, failed_at: int) -> list[Step]:
        """What undoes a plan that failed at step ``failed_at`` (0-based), last change first."""
        return [step.undo for step in reversed(self.steps[: failed_at + 1]) if step.undo is not None]

    def committed(self, steps_done: int) -> bool:
        return any(step.commits for step in self.steps[:steps_done])


def build(
    case: Case, config: Config, mysql: MySQL, supervisor: Supervisor, clock: Callable[[], float] = time.monotonic
) -> Plan:
    """The plan of ``case``."""
    if case in ("master_down", "candidate_down"):
        steps = failover_steps(case, config, mysql, supervisor)
        header = "failover1" if case == "master_down" else "failover2"
        return Plan(case, tuple(steps), "failed_over", False, f"{header}: {len(steps)} steps", "failover")
    marks: Marks = {}
    ops = Operations(config, mysql, supervisor, marks, clock)
    master, candidate, proxies = config.master, config.candidate, config.proxies
    end: Phase = "armed"
    if case == "switchover":
        steps = ops.switch(master, candidate, proxies.master_down.stop, proxies.master_down.start)
        end = "switched_over"
    elif case == "rejoin_master":
        steps = [*ops.rejoin(master, candidate), ops.restore_sources()]
        end = "switched_over"
    elif case == "failback_master":
        back = ops.switch(candidate, master, proxies.master_down.start, proxies.normal)
        steps = [*ops.rejoin(master, candidate), *back, ops.restore_sources()]
    else:
        reads = proxies.candidate_down
        steps = [
            *ops.rejoin(candidate, master),
            ops.restore_sources(),
            ops.stop(reads.start, undo=ops.start(reads.start)),
            ops.start(reads.stop, undo=ops.stop(reads.stop)),
        ]
    return Plan(case, tuple(steps), end, True, f"{case}: {len(steps)} steps", case, marks)


class _LayoutOnly:
    """Stands in for the adapters when a plan is built only to read its steps' proxy moves."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a plan built for its layout only must not run ({name})")


def step_moves(case: Case, config: Config) -> tuple[Moves, ...] | None:
    """What each step of the plan of ``case`` does to the proxies (building touches nothing); None when
    the plan cannot be built (no replication user: it never started)."""
    inert: Any = _LayoutOnly()
    try:
        return tuple(step.moves for step in build(case, config, inert, inert).steps)
    except MysqlhaError:
        return None


def failover_steps(case: Case, config: Config, mysql: MySQL, supervisor: Supervisor) -> list[Step]:
    """The steps of one failure case, in order; each may be run again safely."""
    programs = config.proxies.programs
    failover = config.failover
    master, candidate = config.master, config.candidate
    if case == "master_down":
        transition, survivor, failed = config.proxies.master_down, candidate, master
    else:
        transition, survivor, failed = config.proxies.candidate_down, master, candidate

    def start(names: tuple[str, ...]) -> Step:
        run = [programs[n] for n in names]
        return Step(f"start {', '.join(names)}", lambda: supervisor.start(run), moves=Moves(start=names))

    def launch(names: tuple[str, ...]) -> Step:
        return Step(
            f"launch {', '.join(names)}",
            lambda: supervisor.start([programs[n] for n in names], wait=False),
            moves=Moves(start=names),
        )

    stop = transition.stop
    steps = [Step(f"stop {', '.join(stop)}", lambda: supervisor.stop(stop), moves=Moves(stop=stop))]
    if case == "master_down":
        # Programs that do not route to the candidate (the read-failover set) need no promotion:
        # launch them at once, so reads are not down while the candidate catches up; the last
        # step verifies every program of the set serves.
        to_candidate = tuple(name for name in transition.start if candidate.name in programs[name].backends)
        others = tuple(name for name in transition.start if name not in to_candidate)
        if others:
            steps.append(launch(others))
        command = failover.fence_command
        if command:
            timeout = failover.fence_timeout
            steps.append(Step(f"fence {failed.name}: {command}", lambda: fence_command(command, timeout, failed)))
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
        steps.insert(0, asynchronous(mysql, survivor, failed))
        steps.append(start(transition.start))
    stranded = [n for n in config.replicas_of(failed.name) if n.name != candidate.name]
    credentials = config.replication
    if failover.repoint_replicas and credentials is not None:
        for replica in stranded:
            steps.append(Step(f"repoint {replica.name} to {survivor.name}", repoint(mysql, replica, survivor, config)))
    return steps


def asynchronous(mysql: MySQL, master: Node, gone: Node) -> Step:
    """Case 2, first: no semi-sync replica is left, so the master's commits would wait the whole
    ``rpl_semi_sync_master_timeout``; turn the role off now (best effort: it never holds up moving
    the reads). Failback of case 2 turns it on again once ``gone`` rejoins as its semi-sync replica."""
    line = f"no semi-sync replica left: {master.name} commits asynchronously until {gone.name} rejoins"
    return Step(line, lambda: best_effort(lambda: mysql.semi_sync_off(master)))


def repoint(mysql: MySQL, replica: Node, source: Node, config: Config) -> Callable[[], object]:
    credentials = _credentials(config)
    timeout = config.failover.catchup_timeout
    return lambda: best_effort(lambda: mysql.repoint(replica, source, credentials, timeout))


def best_effort(run: Callable[[], object]) -> object:
    """For a step that must not hold up the plan: its failure is reported, not raised."""
    try:
        return run()
    except MysqlhaError as exc:
        return f"skipped: {exc}"


def _credentials(config: Config) -> Credentials:
    if config.replication is None:
        raise MysqlhaError(f"{config.path}: replication: missing; needed to make a node replicate")
    return config.replication


@dataclass
class Operations:
    """The steps the operator's plans are made of."""

    config: Config
    mysql: MySQL
    supervisor: Supervisor
    marks: Marks
    clock: Callable[[], float]

    def start(self, names: tuple[str, ...], undo: Step | None = None) -> Step:
        programs = self.config.proxies.programs
        return Step(
            f"start {', '.join(names)}",
            lambda: self.supervisor.start([programs[n] for n in names]),
            undo,
            moves=Moves(start=names),
        )

    def stop(self, names: tuple[str, ...], undo: Step | None = None) -> Step:
        return Step(f"stop {', '.join(names)}", lambda: self.supervisor.stop(names), undo, moves=Moves(stop=names))

    def writable(self, node: Node) -> Step:
        return Step(f"make {node.name} writable again", lambda: self.mysql.make_writable(node))

    def switch(self, old: Node, new: Node, stop: tuple[str, ...], start: tuple[str, ...]) -> list[Step]:
        """Move the master role from ``old`` (healthy) to ``new`` without losing a write.

        Writes stop when ``old`` turns read-only and resume when the ``start`` proxies serve; ``new``
        gets ``old`` as its semi-sync replica before the first write reaches it. Until ``new`` is
        promoted, undoing makes ``old`` writable again behind the ``stop`` proxies.
        """
        mysql, marks, clock = self.mysql, self.marks, self.clock
        timeout = self.config.failover.catchup_timeout
        credentials = _credentials(self.config)

        def fence_old() -> str:
            marks.setdefault("writes_stopped", clock())
            mysql.fence(old)
            return "writes stop here"

        def start_new() -> None:
            self.start(start).run()
            marks["writes_resumed"] = clock()

        return [
            Step(f"fence {old.name} (read_only=ON)", fence_old, undo=self.writable(old)),
            self.stop(stop, undo=self.start(stop)),
            Step(
                f"wait until {new.name} applied everything {old.name} wrote",
                lambda: mysql.wait_position(new, mysql.position(old), timeout),
            ),
            Step(f"promote {new.name}", lambda: mysql.promote(new, timeout), self.unpromote(new, old), commits=True),
            Step(
                f"make {old.name} a semi-sync replica of {new.name}",
                lambda: mysql.replicate_from(old, new, credentials, timeout, semi_sync=True),
            ),
            Step(f"turn semi-sync on at {new.name}", lambda: mysql.semi_sync_source(new, timeout)),
            Step(f"start {', '.join(start)}", start_new, moves=Moves(start=start)),
        ]

    def unpromote(self, node: Node, source: Node) -> Step:
        """Undo a promotion of ``node`` that failed, perhaps half-way (``promote`` may have stopped and reset
        its replication and turned read_only off): fence it, refuse when it holds writes ``source`` lacks,
        make it ``source``'s semi-sync replica again and wait until ``source`` has a semi-sync replica. Any
        failure here (``node`` unreachable: its state unknown) raises, and nothing else is undone."""
        mysql = self.mysql
        timeout = self.config.failover.catchup_timeout
        credentials = _credentials(self.config)

        def run() -> str:
            mysql.fence(node)
            missing = mysql.errant(node, source)
            if missing:
                raise StepFailed(f"{node.name} holds transactions {source.name} lacks ({missing})")
            replicating = mysql.replicate_from(node, source, credentials, timeout, semi_sync=True)
            return f"{node.name} read_only=ON, {replicating}; {source.name}: {mysql.semi_sync_source(source, timeout)}"

        return Step(f"make {node.name} a read-only semi-sync replica of {source.name} again", run)

    def rejoin(self, node: Node, master: Node) -> list[Step]:
        """Bring a returning ``node`` back as ``master``'s semi-sync replica, refusing errant transactions.

        Nothing here needs undoing: a node replicating from the master is what every later state wants.
        """
        mysql = self.mysql
        timeout = self.config.failover.catchup_timeout
        credentials = _credentials(self.config)

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

    def restore_sources(self) -> Step:
        """Point every plain replica back at its configured source (best effort, errant ones left alone)."""
        config, mysql = self.config, self.mysql
        credentials = _credentials(config)
        timeout = config.failover.catchup_timeout
        replicas = [n for n in config.nodes.values() if n.role == "replica" and n.source]

        def restore(replica: Node) -> object:
            source = config.nodes[replica.source or ""]
            view = mysql.ask(replica).view
            if view is not None and same_node(view.source_host, view.source_port, source.host, source.port):
                return best_effort(lambda: mysql.wait_replicating(replica, timeout))
            return best_effort(lambda: mysql.repoint(replica, source, credentials, timeout))

        def run() -> str:
            return "; ".join(f"{replica.name}: {restore(replica)}" for replica in replicas)

        return Step("restore the configured source of every replica", run)


def errant_explanation(node: Node, master: Node, missing: str) -> str:
    return (
        f"{node.name} holds transactions {master.name} never received ({missing}); they were never "
        f"acknowledged through a semi-sync commit, but {node.name} cannot follow {master.name} with them: "
        f"rebuild {node.name} from {master.name} (or remove those transactions), then run failback again"
    )


def finished_line(case: Case, config: Config) -> str:
    """The classic last line of a failover."""
    if case == "master_down":
        return f"failover finished! : {config.candidate.name} is new master"
    purged = [config.candidate.name, *(n.name for n in config.replicas_of(config.candidate.name))]
    return f"failover finished! : {'/'.join(purged)} has been purged"
