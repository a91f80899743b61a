"""What the config checks cost: loading the YAML, the grant preflight before step 1, the live check-config.

    python3 -m bench.config_checks [--runs N]

Builds one sandbox in a temporary directory on free ports (daemon not started), prints median and
max of each, and stops every process it started.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

from ha.config import load_config
from ha.livecheck import live_findings
from ha.mysql import MySQL
from ha.preflight import refusal, start_problems
from ha.sandbox.cluster import Sandbox, free_base_port


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
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mysqlha-bench-config-") as directory:
        box = Sandbox(directory, log=lambda line: None)
        try:
            box.up(base_port=free_base_port(), daemon=False)
            config = load_config(box.config_path)
            mysql = MySQL(config.monitor)
            assert refusal("master_down", config, mysql, config.master.name) is None
            rows = {
                "load_config (YAML, line map, every check, password files)": lambda: load_config(box.config_path),
                "grant check before step 1 of case 1 (master2 only)": lambda: refusal(
                    "master_down", config, mysql, config.master.name
                ),
                "grant check at start / SIGHUP (every node)": lambda: start_problems(config, mysql),
                "live checks of check-config (every node)": lambda: live_findings(config, mysql),
            }
            print(f"| what ({args.runs} runs) | median | max |")
            print("| --- | --- | --- |")
            for what, call in rows.items():
                median, worst = timed(call, args.runs)
                print(f"| {what} | {median:.1f} ms | {worst:.1f} ms |")
        finally:
            box.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
