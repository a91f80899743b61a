"""The loop: observe -> decide -> act, on a fixed schedule; signals only set flags."""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import TypeVar

from ha import __version__
from ha.config import Config, Node, load_config
from ha.decide import check_lines, decide
from ha.errors import ConfigError, MysqlhaError
from ha.heartbeat import slow_detection
from ha.hooks import HookRunner
from ha.metrics import Metrics
from ha.model import Action, DaemonState, Event, Fence, NodeCheck, Snapshot, StartFailover, Witness
from ha.mysql import MySQL, check_budget
from ha.plan import execute, plan
from ha.state import LockBusy, StateStore
from ha.supervisor import Supervisor

T = TypeVar("T")


def stdout_log(line: str) -> None:
    print(line, flush=True)


@dataclass
class Adapters:
    """Everything that touches the outside world, built once per config."""

    mysql: MySQL
    supervisor: Supervisor
    store: StateStore
    hooks: HookRunner
    metrics: Metrics

    @classmethod
    def real(cls, config: Config, log: Callable[[str], None] = stdout_log) -> Adapters:
        return cls(
            MySQL(config.monitor),
            Supervisor(config.supervisor),
            StateStore(config.failover.state_file),
            HookRunner(config.hooks, log),
            Metrics(config.metrics.listen, log),
        )

    def close(self) -> None:
        self.hooks.wait_idle(self.hooks.hooks.timeout)
        self.metrics.close()


@dataclass
class Daemon:
    config: Config
    adapters: Adapters
    log: Callable[[str], None] = stdout_log
    wall: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic
    number: int = 0
    stopping: bool = False
    reload_requested: bool = False
    wakeup: threading.Event = field(default_factory=threading.Event)
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=4))

    def observe(self) -> Snapshot:
        """Check the master and the candidate concurrently; ask the replicas of a failing one."""
        self.number += 1
        wall = self.wall()
        config = self.config
        checks = self._bounded(
            {node.name: node for node in (config.master, config.candidate)},
            self.adapters.mysql.probe,
            lambda name, budget: NodeCheck(name, "failed", budget, f"check still running after {budget:g} s"),
        )
        failing = [name for name, check in checks.items() if check.status == "failed"]
        witnesses = {replica.name: replica for name in failing for replica in config.replicas_of(name)}
        asked = self._bounded(
            witnesses,
            self.adapters.mysql.ask,
            lambda name, budget: Witness(name, None, f"no answer within {budget:g} s"),
        )
        return Snapshot(self.number, wall, checks, asked)

    def _bounded(
        self, nodes: dict[str, Node], call: Callable[[Node], T], late: Callable[[str, float], T]
    ) -> dict[str, T]:
        """Run ``call`` on every node at once; a call not done within the timeouts gets ``late``.

        Every read of a call is bounded by read_timeout: a slow server that answers each in time is
        alive, so the overall bound allows every read of a probe its full read_timeout.
        """
        budget = check_budget(self.config.monitor)  # each read is bounded by read_timeout; this only backs that up
        futures = {name: self.pool.submit(call, node) for name, node in nodes.items()}
        wait(futures.values(), timeout=budget)
        return {name: f.result() if f.done() else late(name, budget) for name, f in futures.items()}

    def run_cycle(self) -> str:
        """One cycle; returns a sentence saying what happened."""
        snapshot = self.observe()
        store = self.adapters.store
        try:
            with store.lock(timeout=min(1.0, self.config.monitor.interval / 4)):
                before = store.load()
                decision = decide(snapshot, before, self.config, self.wall())
                for line in decision.lines:
                    self.log(line)
                state = decision.state
                self.announce(decision.events)
                for action in decision.actions:
                    state = self.act(action, state)
                if state != before:
                    store.save(state)
                self.adapters.metrics.observe(snapshot, state)
                return decision.sentence
        except LockBusy:
            failures = store.load().failures
            for name, check in snapshot.checks.items():
                count = failures.get(name, 0) + 1 if check.status == "failed" else 0
                for line in check_lines(snapshot, check, count, None):
                    self.log(line)
            self.log("an operator command holds the state lock: watching only this cycle")
            return "operator command in progress: watching only"

    def act(self, action: Action, state: DaemonState) -> DaemonState:
        if isinstance(action, Fence):
            node = self.config.nodes[action.node]
            try:
                self.log(f"{node.name} fenced: {self.adapters.mysql.fence(node)}")
            except MysqlhaError as exc:
                self.log(f"{node.name} fencing FAILED: {exc}; retrying next cycle")
            return state
        if isinstance(action, StartFailover):
            veto = self.adapters.hooks.pre_failover(Event("failover_started", action.failed_node, action.case))
            if veto:
                self.log(f"{action.failed_node} failing: failover VETOED by the pre_failover hook: {veto}")
                self.announce((Event("failover_vetoed", action.failed_node, action.case, veto),))
                return replace(state, phase="armed", case=None, failed_node=None, since=None)
            self.adapters.store.save(state)
        assert state.case is not None
        adapters = self.adapters
        steps = plan(state.case, self.config, adapters.mysql, adapters.supervisor)
        after = execute(state, steps, self.config, adapters.store.save, self.log, lambda: self.stopping, self.clock)
        if after.phase != "failing_over":
            self.announce((Event("failover_finished", state.failed_node, state.case),))
        return after

    def heartbeat_warnings(self) -> list[str]:
        """Ask the replicas of master and candidate their heartbeat period once; warn where it is slow."""
        config = self.config
        replicas = {n.name: n for source in (config.master, config.candidate) for n in config.replicas_of(source.name)}
        asked = self._bounded(replicas, self.adapters.mysql.ask, lambda name, budget: Witness(name, None, "late"))
        return slow_detection(config, {name: witness.view for name, witness in asked.items()})

    def announce(self, events: tuple[Event, ...]) -> None:
        """Tell the hooks, and count failover outcomes."""
        outcomes = {"failover_finished": "finished", "failover_refused": "refused", "failover_vetoed": "vetoed"}
        for event in events:
            self.adapters.hooks.notify(event)
            if event.name in outcomes:
                self.adapters.metrics.failover(event.case or "", outcomes[event.name])

    def describe(self) -> str:
        master, candidate, monitor = self.config.master, self.config.candidate, self.config.monitor
        return (
            f"mysqlha {__version__} watching {master.name} ({master.host}:{master.port}) and "
            f"{candidate.name} ({candidate.host}:{candidate.port}) every {monitor.interval:g} s; "
            f"failover after {monitor.failures} failed checks; config {self.config.path}"
        )

    def run(self) -> int:
        """Run cycles until SIGTERM; a cycle that raises is logged and the loop lives on."""
        self.install_signals()
        state = self.adapters.store.load()
        self.log(self.describe())
        for warning in self.heartbeat_warnings():
            self.log(f"WARNING: {warning}")
        self.log(f"state: {state.phase}" + (f" ({state.case}, {state.failed_node})" if state.case else ""))
        next_at = self.clock()
        while not self.stopping:
            if self.reload_requested:
                self.reload()
            try:
                self.run_cycle()
            except Exception:  # noqa: BLE001 - the loop must outlive any one cycle
                self.log("cycle failed unexpectedly:\n" + traceback.format_exc().rstrip())
            next_at += self.config.monitor.interval
            now = self.clock()
            if next_at < now:
                next_at = now
            self.wakeup.wait(max(0.0, next_at - now))
            self.wakeup.clear()
        self.adapters.close()
        self.log("SIGTERM: stopped")
        self.pool.shutdown(wait=False, cancel_futures=True)
        return 0

    def reload(self) -> None:
        self.reload_requested = False
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            self.log("SIGHUP: new config is invalid, keeping the old one:")
            for problem in exc.problems:
                self.log(f"  {problem}")
            return
        self.config = config
        self.adapters.close()
        self.adapters = Adapters.real(config, self.log)
        self.log(f"SIGHUP: config reloaded from {config.path}")

    def install_signals(self) -> None:
        def on_term(signum: int, frame: FrameType | None) -> None:
            self.stopping = True
            self.wakeup.set()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.reload_requested = True
            self.wakeup.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)


def preflight(config: Config, supervisor: Supervisor) -> list[str]:
    """Problems that must stop the daemon before it starts: supervisord and its programs."""
    try:
        missing = supervisor.missing(config.all_programs())
    except (MysqlhaError, OSError) as exc:
        return [f"{config.path}: supervisor.url: cannot reach supervisord: {exc}"]
    return [
        f"{config.path}: proxies.programs.{name}: no such program in supervisord at {config.supervisor.url}"
        for name in missing
    ]


def main(config_path: str) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print("mysqlha: invalid configuration, nothing was started:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    problems = preflight(config, Supervisor(config.supervisor))
    if problems:
        print("mysqlha: cannot start, nothing was touched:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    return Daemon(config, Adapters.real(config)).run()
