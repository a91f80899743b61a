"""What reconciling the proxies costs: the per-cycle look at supervisord, the pure decision, a full reconcile.

    python3 -m bench.reconcile [--runs N]

Builds one sandbox in a temporary directory on free ports (daemon not started), then measures
``getAllProcessInfo`` (what every cycle adds), ``decide`` with the program states in its snapshot
(nothing to do, and a failed_over phase after a reload), and the runner's reconcile from the
normal set to the failed_over layout and back (4 stops and 4 verified starts each way). Prints
median and max in milliseconds, and stops every process it started.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

from ha.decide import decide
from ha.layout import phase_layout, reconcile
from ha.model import DaemonState, NodeCheck, Snapshot
from ha.mysql import MySQL
from ha.runner import Runner
from ha.sandbox.cluster import Sandbox, free_base_port
from ha.state import StateStore


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and max wall time of ``call`` in milliseconds."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), max(took)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mysqlha-bench-reconcile-") as directory:
        box = Sandbox(directory, log=lambda line: None)
        try:
            box.up(base_port=free_base_port(), daemon=False)
            config = box.config
            supervisor = box.supervisor()
            runner = Runner(config, MySQL(config.monitor), supervisor, StateStore(config.failover.state_file), print)
            checks = {
                name: NodeCheck(name, "ok", 0.001, read_only=name != config.master.name)
                for name in (config.master.name, config.candidate.name)
            }
            failed_over = DaemonState(phase="failed_over", case="master_down", failed_node=config.master.name)
            normal = supervisor.states()
            snapshot = Snapshot(1, time.time(), checks, programs=normal)
            promoted = {name: replace(check, read_only=not check.read_only) for name, check in checks.items()}
            reloaded = Snapshot(1, time.time(), promoted, programs=normal)  # master2 writable, the normal set up
            layouts = {
                "failed_over": phase_layout(config, "failed_over", "master_down"),
                "armed": phase_layout(config, "armed", None),
            }

            def there_and_back() -> None:
                for target, layout in layouts.items():
                    assert layout is not None
                    action = reconcile(config, target, layout, supervisor.states())
                    assert action is not None
                    runner.reconcile(action)

            rows = [
                ("getAllProcessInfo (every cycle)", timed(supervisor.states, args.runs * 10)),
                ("decide, layout right", timed(lambda: decide(snapshot, DaemonState(), config, time.time()), 1000)),
                ("decide, failed_over after a reload", timed(lambda: decide(reloaded, failed_over, config, 1.0), 1000)),
                ("reconcile normal -> failed_over -> normal", timed(there_and_back, args.runs)),
            ]
        finally:
            box.down()
    for what, (median, worst) in rows:
        print(f"{what:45} median {median:8.3f} ms   max {worst:8.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
