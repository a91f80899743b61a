"""One benchmark run: a fresh sandbox, load, one fault, the daemon's failover, the numbers."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import metrics
from bench.load import Reader, Writer
from bench.metrics import Events
from bench.sandboxes import (
    READ_PROGRAM,
    WRITE_PROGRAM,
    Lab,
    create_table,
    keys_on,
    listen,
    log_lines,
    server_names,
    stamped_lines,
    state,
)
from bench.sandboxes import wait_for as wait
from ha.errors import MysqlhaError
from ha.sandbox.cluster import Sandbox

WARMUP = 1.0  # seconds of load before the fault
TAIL = 0.5  # seconds of load kept after the failover is visible to the clients

PHASES = random.Random(20261201)  # the faults' phases in the check cycle: seeded, so a re-run repeats them


@dataclass(frozen=True)
class Setting:
    """A monitoring profile: what goes into the sandbox's ``monitor`` and ``failover`` sections."""

    name: str
    interval: float
    failures: int
    recheck: float | None = None  # monitor.recheck_interval; None: equal to interval
    replica_silence: float | None = None  # failover.replica_silence; None: the sandbox's (3 s)

    @property
    def window(self) -> float:
        return self.failures * (self.recheck or self.interval)

    def extra(self) -> dict[str, dict[str, float]]:
        """Keys the sandbox does not set by itself (applied with a SIGHUP before the run)."""
        extra: dict[str, dict[str, float]] = {}
        if self.recheck is not None:
            extra["monitor"] = {"recheck_interval": self.recheck}
        if self.replica_silence is not None:
            extra["failover"] = {"replica_silence": self.replica_silence}
        return extra


@dataclass(frozen=True)
class Scenario:
    name: str
    node: str  # M1 or M2
    case: str  # the daemon's failure class: master_down or candidate_down
    what: str
    finished: str  # the daemon's last log line of the failover ("" for a blip: no failover)
    semi_sync_ms: int = 1000  # master1's rpl_semi_sync_master_timeout


SETTINGS = {s.name: s for s in (Setting("classic", 5.0, 5), Setting("fast", 1.0, 3, 0.2, 1.0))}
CASE1, CASE2 = "failover finished! : master2 is new master", "failover finished! : master2/slave4 has been purged"
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("kill-m1", "M1", "master_down", "kill -9 M1", CASE1),
        Scenario("kill-m2", "M2", "candidate_down", "kill -9 M2 (10 s semi-sync timeout)", CASE2, 10000),
        Scenario("freeze-m1", "M1", "master_down", "SIGSTOP M1, SIGCONT after the failover", CASE1),
        Scenario("blip-m1", "M1", "", "SIGSTOP M1 for 0.8 x the window, then SIGCONT: no failover", ""),
    )
}


@dataclass
class Run:
    """What one run measured, and what the timeline picture needs."""

    numbers: dict[str, Any]
    events: Events | None = None
    marks: dict[str, float | None] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def inject(box: Sandbox, scenario: Scenario, setting: Setting) -> Callable[[], None]:
    """Apply the fault; return what undoes it at the end of the run (thaw a frozen server)."""
    server = box.server(scenario.node)
    if scenario.name.startswith("kill-"):
        server.kill()
    elif scenario.name == "blip-m1":
        pid = server.signal(signal.SIGSTOP)
        time.sleep(0.8 * setting.window)
        os.kill(pid, signal.SIGCONT)
    else:
        pid = server.signal(signal.SIGSTOP)
        return lambda: os.kill(pid, signal.SIGCONT)
    return nothing


def wait_resumed(box: Sandbox, scenario: Scenario, since: float, writer: Writer, reader: Reader) -> None:
    """Until the clients see the new layout: writes on M2 (case 1), reads on the read-failover backend."""
    if scenario.case == "master_down":
        m2 = box.server("M2").server_id
        wait(lambda: sum(w.server == m2 for w in writer.ops) >= 20, 30, "writes acknowledged by M2")
    backend = box.server("S2" if scenario.case == "master_down" else "S1").server_id

    def reads_resumed() -> bool:
        return sum(r.server == backend and reader.opened[r.conn] > since for r in reader.ops) >= 20

    wait(reads_resumed, 30, "reads through the read-failover proxy")


def error_kinds(texts: list[str]) -> dict[str, int]:
    """How many client errors of each kind (exception and error code)."""
    return dict(Counter(text.split(",")[0] for text in texts))


def nothing() -> None:
    """Nothing to undo."""


def run_once(scenario: Scenario, setting: Setting, lab: Lab, after_fault: Callable[[], None] = nothing) -> Run:
    """One fresh sandbox, writer and reader running, one fault; raises MysqlhaError when the run went wrong.

    ``after_fault`` runs right after the fault is in (the next run's sandbox may be built meanwhile).
    """
    with lab.sandbox(setting, scenario.semi_sync_ms) as box:
        create_table(box)
        password = box.password("app")
        writer, reader = Writer(*listen(box, WRITE_PROGRAM), password), Reader(*listen(box, READ_PROGRAM), password)
        writer.start()
        reader.start()
        undo = nothing
        try:
            time.sleep(WARMUP)
            wait(lambda: writer.ops and reader.ops, 10, "writes and reads flowing")
            lab.settle()  # the previous run's sandbox is down before this one's fault
            # A real fault lands at any moment of the daemon's schedule; without this, every run's
            # fault would sit at the same phase of the check cycle (set by the reload before the run).
            time.sleep(PHASES.uniform(0, setting.interval))
            fault = time.time()
            undo = inject(box, scenario, setting)
            after_fault()
            if not scenario.case:
                return blip(box, scenario, setting, fault, writer)
            done = wait(
                lambda: (now := state(box)).phase in ("failed_over", "refused") and now,
                setting.failures * setting.interval + 60,
                "the failover",
            )
            if done.phase != "failed_over" or done.case != scenario.case or done.since is None:
                raise MysqlhaError(f"expected a {scenario.case} failover, got {done.phase} {done.case}: {done.reason}")
            wait_resumed(box, scenario, done.since, writer, reader)
            time.sleep(TAIL)
        finally:
            undo()
            writer.stop()
            reader.stop()
        end = time.time()
        if scenario.finished not in log_lines(box):
            raise MysqlhaError(f"the daemon's log lacks {scenario.finished!r}")
        events = Events(fault, done.since, writer.ops, reader.ops, reader.errors, reader.opened, end)
        suspected = first_suspicion(box, scenario, fault)
        marks: dict[str, float | None] = {"fault": fault, "suspicion": suspected, "decision": done.since}
        if scenario.case == "master_down":
            server = box.server("M2").server_id
            numbers = metrics.case1_numbers(events, server)
            marks["first write on M2"] = metrics.first_write_on(events, server, done.since)
        else:
            server = box.server("S1").server_id
            numbers = metrics.case2_numbers(events, server)
            marks["first read on S1 (failover proxy)"] = metrics.first_read_switched(events, server)
        present = keys_on(box, "M2" if scenario.case == "master_down" else "M1")
        numbers.update(
            suspicion=None if suspected is None else suspected - fault,
            confirmation=None if suspected is None else done.since - suspected,
            lost=sum(1 for w in writer.ops if w.key not in present),
            acked=len(writer.ops),
            reads=len(reader.ops),
            write_errors=error_kinds(writer.error_texts),
            read_errors=error_kinds(reader.error_texts),
        )
        names = server_names(box)
        return Run(numbers, events, marks, names)


def first_suspicion(box: Sandbox, scenario: Scenario, fault: float) -> float | None:
    """When the daemon first suspected the node: its watch channel closed, or its first failed check."""
    node = box.server(scenario.node).node.name
    marks = (f"  {node} closed the watch connection: suspect, checking now", f"{node} fail detected!")
    return next((t for t, text in stamped_lines(box) if t >= fault - 0.01 and text in marks), None)


def blip(box: Sandbox, scenario: Scenario, setting: Setting, fault: float, writer: Writer) -> Run:
    """After a blip shorter than the window: no failover for 2 windows + 2 intervals; count the failed checks."""
    time.sleep(2 * setting.window + 2 * setting.interval)
    now = state(box)
    if now.phase != "armed":
        raise MysqlhaError(f"a {0.8 * setting.window:g} s blip caused {now.phase} {now.case}")
    node = box.server(scenario.node).node.name
    failed = sum(1 for t, text in stamped_lines(box) if t >= fault and text == f"{node} fail detected!")
    writer.stop()
    present = keys_on(box, "M1")
    return Run(
        {
            "blip": 0.8 * setting.window,
            "failed_checks": failed,
            "failover": 0,
            "lost": sum(1 for w in writer.ops if w.key not in present),
            "acked": len(writer.ops),
        }
    )
