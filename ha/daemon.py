"""The loop: observe -> decide -> runner, on a fixed schedule; signals only set flags."""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType

from ha import __version__
from ha.adapters import Adapters, start_checks, stdout_log
from ha.config import Config, load_config
from ha.decide import decide, unapplied, ungranted, vetoed
from ha.errors import ConfigError, MysqlhaError
from ha.heartbeat import slow_detection
from ha.logsetup import setup_logging, stderr_log
from ha.model import DaemonState, Decision, Event, Snapshot, StartFailover, Witness
from ha.observer import ask, bounded, late_ask, observe
from ha.oversight import Oversight, hold
from ha.preflight import grant_refusal, replication_refusal
from ha.runner import Runner
from ha.schedule import next_check
from ha.state import LockBusy


@dataclass
class Daemon:
    config: Config
    adapters: Adapters
    log: Callable[[str], None] = stdout_log
    wall: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic
    number: int = 0
    last_sentence: str = ""  # what the last cycle did (also saved in the state file for `status`)
    stopping: bool = False
    reload_requested: bool = False
    wakeup: threading.Event = field(default_factory=threading.Event)
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=8))
    oversight: Oversight | None = None
    counts: dict[str, int] = field(default_factory=dict)  # several monitors: this monitor's own failure counts
    seen: DaemonState = field(default_factory=DaemonState)  # the last cycle's state: what the schedule reads

    @property
    def watch(self) -> Oversight:
        """Pause, history, events once per episode, heartbeat (rebuilt when the adapters are)."""
        if self.oversight is None or self.oversight.hooks is not self.adapters.hooks:
            adapters = self.adapters
            fresh = Oversight(self.config, adapters.hooks, adapters.metrics, self.log, self.wall, adapters.coordinator)
            if self.oversight is not None:
                old = self.oversight
                fresh.episodes, fresh.paused, fresh.first_failure, fresh.seen, fresh.vetoing = (
                    old.episodes,
                    old.paused,
                    old.first_failure,
                    old.seen,
                    old.vetoing,
                )
            self.oversight = fresh
        return self.oversight

    def observe(self) -> Snapshot:
        """Check the master and the candidate, ask the masters' replicas: one snapshot."""
        self.number += 1
        return observe(self.pool, self.config, self.adapters, self.number, self.wall())

    def ask(self, failing: list[str]) -> dict[str, Witness]:
        """What the replicas of the ``failing`` nodes say about them, asked concurrently."""
        return ask(self.pool, self.config, self.adapters, failing)

    def runner(self) -> Runner:
        adapters = self.adapters
        return Runner(
            self.config,
            adapters.mysql,
            adapters.supervisor,
            adapters.store,
            self.log,
            self.clock,
            self.wall,
            lambda: self.stopping,
            adapters.coordinator.guard if adapters.coordinator else lambda: True,
        )

    def run_cycle(self) -> str:
        """One cycle: observe, decide, hand the decision to the runner; returns what happened."""
        if self.adapters.coordinator is not None:
            from ha.coordinated import coordinated_cycle

            return coordinated_cycle(self, self.adapters.coordinator)
        snapshot = self.observe()
        store, watch, now = self.adapters.store, self.watch, self.wall()
        pause = watch.begin(now)
        conditions: dict[str, Event] = {}
        try:
            with store.lock(timeout=min(1.0, self.config.monitor.interval / 4)):
                before = store.load()
                watch.operator_changes(before)
                decision, held = hold(decide(snapshot, before, self.config, now), pause, now)
                decision = self.screen(decision)
                for line in decision.lines:
                    self.log(line)
                self.announce(decision.events)
                runner = self.runner()
                outcome = runner.apply(decision, before)
                conditions = watch.settle(outcome.events, runner.journal, why(decision, snapshot))
                self.count(outcome.events)
                if held is not None:
                    conditions[f"failover_held:{held.node}"] = held
                self.adapters.metrics.observe(snapshot, outcome.state)
                self.last_sentence = outcome.sentence
                watch.seen = outcome.state
                self.seen = outcome.state
        except LockBusy:
            decision = decide(snapshot, store.load(), self.config, self.wall(), watch_only=True)
            for line in decision.lines:
                self.log(line)
            self.last_sentence = decision.sentence
            self.seen = decision.state
        analysis = decision.analysis
        watch.end(snapshot, analysis.kind, getattr(analysis, "node", None), self.last_sentence, conditions)
        return self.last_sentence

    def screen(self, decision: Decision) -> Decision:
        """Before a failover starts, before anything is announced: the pre_failover hook's veto, then the grants."""
        start = next((action for action in decision.actions if isinstance(action, StartFailover)), None)
        if start is None:
            return decision
        ask = Event("failover_started", start.failed_node, start.case, analysis=decision.analysis.kind)
        veto = self.adapters.hooks.pre_failover(ask)
        if veto:
            return vetoed(decision, veto)
        # the monitor user's grants, then the candidate's SQL thread, before any proxy is touched
        mysql, failed = self.adapters.mysql, start.failed_node
        if why := grant_refusal(start.case, self.config, mysql, failed):
            return ungranted(decision, why)
        if why := replication_refusal(start.case, self.config, mysql, failed):
            return unapplied(decision, why)
        return decision

    def heartbeat_warnings(self) -> list[str]:
        """Ask the replicas of master and candidate their heartbeat period once; warn where it is slow."""
        config = self.config
        replicas = {n.name: n for source in (config.master, config.candidate) for n in config.replicas_of(source.name)}
        asked = bounded(self.pool, config.monitor, replicas, self.adapters.mysql.ask, late_ask)
        return slow_detection(config, {name: witness.view for name, witness in asked.items()})

    def announce(self, events: tuple[Event, ...]) -> None:
        """Tell the hooks, the metrics and the history; count failover outcomes (of what was announced:
        a veto asked again in the same episode is neither announced nor counted)."""
        self.count(self.watch.announce(events))

    def count(self, events: tuple[Event, ...]) -> None:
        outcomes = {"failover_finished": "finished", "failover_refused": "refused", "failover_vetoed": "vetoed"}
        for event in events:
            if event.name in outcomes:
                self.adapters.metrics.failover(event.case or "", outcomes[event.name])

    def banner(self) -> str:
        master, candidate, monitor = self.config.master, self.config.candidate, self.config.monitor
        return (
            f"mysqlha {__version__} watching {master.name} ({master.host}:{master.port}) and "
            f"{candidate.name} ({candidate.host}:{candidate.port}) every {monitor.interval:g} s"
            + (f" (a suspect node every {monitor.recheck:g} s)" if monitor.recheck != monitor.interval else "")
            + f"; failover after {monitor.failures} failed checks; config {self.config.path}"
        )

    def run(self) -> int:
        """Run cycles until SIGTERM; a cycle that raises is logged and the loop lives on."""
        self.install_signals()
        if self.adapters.coordinator is not None:
            self.adapters.coordinator.start_renewing()
        self.log(self.banner())
        for warning in self.heartbeat_warnings():
            self.log(f"WARNING: {warning}")
        try:
            state = self.adapters.store.load()
            self.log(f"state: {state.phase}" + (f" ({state.case}, {state.failed_node})" if state.case else ""))
        except MysqlhaError as exc:  # etcd not answering yet: the cycles say so, and act on nothing
            self.log(f"state: unknown for now ({exc})")
        closed: frozenset[str] = frozenset()
        while not self.stopping:
            if self.reload_requested:
                self.reload()
            started = self.clock()
            for name in sorted(closed):
                self.log(f"  {name} closed the watch connection: suspect, checking now")
            try:
                self.run_cycle()
            except Exception:  # noqa: BLE001 - the loop must outlive any one cycle
                self.log("cycle failed unexpectedly:\n" + traceback.format_exc().rstrip())
            closed = self.sleep(started)
        if self.adapters.coordinator is not None:
            self.adapters.coordinator.resign()
            self.log("coordination: lease revoked, another monitor can lead at once")
        self.adapters.close()
        self.log("SIGTERM: stopped")
        self.pool.shutdown(wait=False, cancel_futures=True)
        return 0

    def sleep(self, started: float) -> frozenset[str]:
        """Wait until the next check is due (or a signal); returns the nodes whose channel closed."""
        while True:
            closed = self.adapters.watcher.take()
            seen, now = self.seen, self.clock()
            due = next_check(self.config.monitor, seen.phase, seen.failures, closed, started, now)
            if due <= now or self.stopping or self.reload_requested:
                return closed
            self.wakeup.wait(due - now)
            self.wakeup.clear()

    def reload(self) -> None:
        self.reload_requested = False
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            self.log("SIGHUP: new config is invalid, keeping the old one:")
            for problem in exc.problems:
                self.log(f"  {problem}")
            return
        problems = start_checks(config)
        if problems:
            self.log("SIGHUP: new config rejected as at a start, keeping the old one:")
            for problem in problems:
                self.log(f"  {problem}")
            return
        for warning in config.warnings:
            self.log(f"warning: {warning}")
        if config.logging.format != self.config.logging.format:
            setup_logging(config.logging.format)
        old = self.adapters.coordinator
        keep = old is not None and config.coordination == self.config.coordination
        same_metrics = config.metrics.listen == self.config.metrics.listen
        metrics = self.adapters.metrics if same_metrics else None  # its counters live on across reloads
        self.config = config
        self.adapters.close(keep_metrics=same_metrics)
        self.adapters = Adapters.real(config, self.log, old if keep else None, self.wakeup.set, metrics)
        if old is not None and not keep:
            old.resign()  # another etcd, name or prefix: give the old lead up at once
        if self.adapters.coordinator is not None:
            self.adapters.coordinator.start_renewing()
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
        if HUP_BEFORE_START.is_set():
            HUP_BEFORE_START.clear()
            self.reload_requested = True


def why(decision: Decision, snapshot: Snapshot) -> str:
    """Why a plan ran this cycle, for the history: the analysis and what the failed node's check said."""
    node = getattr(decision.analysis, "node", None)
    check = snapshot.checks.get(node or "")
    said = f": {check.error}" if check is not None and check.error else ""
    failures = decision.state.failures.get(node or "")
    counted = f" ({failures} failed checks in a row)" if failures else ""
    return f"{decision.analysis.kind} {node or ''}{said}{counted}".strip()


# A SIGHUP that arrives while main() is still loading and checking (supervisord signals a program as
# soon as it is spawned) is kept and honoured by the first cycle, instead of killing the process.
HUP_BEFORE_START = threading.Event()


def main(config_path: str) -> int:
    signal.signal(signal.SIGHUP, lambda signum, frame: HUP_BEFORE_START.set())
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        error = stderr_log("iso")  # the config's format is unknown: the default one
        error("mysqlha: invalid configuration, nothing was started:")
        for problem in exc.problems:
            error(f"  {problem}")
        return 2
    log = setup_logging(config.logging.format)
    for warning in config.warnings:
        log(f"warning: {warning}")
    problems = start_checks(config)
    if problems:
        error = stderr_log(config.logging.format)
        error("mysqlha: cannot start, nothing was touched:")
        for problem in problems:
            error(f"  {problem}")
        return 2
    wakeup = threading.Event()
    return Daemon(config, Adapters.real(config, log, wake=wakeup.set), log, wakeup=wakeup).run()
