"""One benchmark run: a fresh sandbox, load, one fault, the daemon's failover, the numbers."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import metrics
from bench.load import Reader, Writer
from bench.metrics import Events
from bench.sandboxes import READ_PROGRAM, WRITE_PROGRAM, Lab, create_table, keys_on, listen, log_lines, state
from bench.sandboxes import wait_for as wait
from ha.errors import MysqlhaError
from ha.sandbox.cluster import Sandbox

WARMUP = 1.0  # seconds of load before the fault
TAIL = 0.5  # seconds of load kept after the failover is visible to the clients


@dataclass(frozen=True)
class Setting:
    name: str
    interval: float
    failures: int


@dataclass(frozen=True)
class Scenario:
    name: str
    node: str  # M1 or M2
    case: str  # the daemon's failure class: master_down or candidate_down
    what: str
    finished: str  # the daemon's last log line of the failover


SETTINGS = {s.name: s for s in (Setting("default", 5.0, 5), Setting("fast", 1.0, 3))}
CASE1, CASE2 = "failover finished! : master2 is new master", "failover finished! : master2/slave4 has been purged"
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("kill-m1", "M1", "master_down", "kill -9 M1", CASE1),
        Scenario("stop-m2", "M2", "candidate_down", "clean shutdown of M2", CASE2),
        Scenario("freeze-m1", "M1", "master_down", "SIGSTOP M1, SIGCONT after the failover", CASE1),
    )
}


@dataclass
class Run:
    """What one run measured, and what the timeline picture needs."""

    numbers: dict[str, Any]
    events: Events | None = None
    marks: dict[str, float | None] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def inject(box: Sandbox, scenario: Scenario) -> Callable[[], None]:
    """Apply the fault; return what undoes it at the end of the run (thaw a frozen server)."""
    server = box.server(scenario.node)
    if scenario.name == "kill-m1":
        server.kill()
    elif scenario.name == "stop-m2":
        server.stop()
    else:
        pid = server.signal(signal.SIGSTOP)
        return lambda: os.kill(pid, signal.SIGCONT)
    return nothing


def wait_resumed(box: Sandbox, scenario: Scenario, since: float, writer: Writer, reader: Reader) -> None:
    """Until the clients see the new layout: writes on M2 (case 1), reads on the read-failover backend."""
    if scenario.case == "master_down":
        m2 = box.config.candidate.port
        wait(lambda: sum(w.port == m2 for w in writer.ops) >= 20, 30, "writes acknowledged by M2")
    backend = box.server("S2" if scenario.case == "master_down" else "S1").node.port

    def reads_resumed() -> bool:
        return sum(r.port == backend and reader.opened[r.conn] > since for r in reader.ops) >= 20

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
    with lab.sandbox(setting.interval, setting.failures) as box:
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
            fault = time.time()
            undo = inject(box, scenario)
            after_fault()
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
        marks: dict[str, float | None] = {"fault": fault, "decision": done.since}
        if scenario.case == "master_down":
            port = box.config.candidate.port
            numbers = metrics.case1_numbers(events, port)
            marks["first write on M2"] = metrics.first_write_on(events, port, done.since)
        else:
            port = box.server("S1").node.port
            numbers = metrics.case2_numbers(events, port)
            marks["first read on S1 (failover proxy)"] = metrics.first_read_switched(events, port)
        present = keys_on(box, "M2" if scenario.case == "master_down" else "M1")
        numbers.update(
            lost=sum(1 for w in writer.ops if w.key not in present),
            acked=len(writer.ops),
            reads=len(reader.ops),
            write_errors=error_kinds(writer.error_texts),
            read_errors=error_kinds(reader.error_texts),
        )
        names = {node.port: node.name for node in box.config.nodes.values()}
        return Run(numbers, events, marks, names)
