"""Several monitors, measured: leader takeover after SIGKILL and after SIGTERM, and kill -9 master1 ->
the first write master2 accepts through the master port, with three monitors and with one, in the same run.

    python3 -m bench.monitors [--runs 3] [--out bench/results]

Every run builds fresh sandboxes on free ports (with ``--monitors 3``: a 3-member etcd and the programs
mysqlcheck1..3) at interval 0.5 s x 3 failures, etcd TTL 2 s, and tears them down by pid.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ha.config import load_config
from ha.coordstatus import etcd_client
from ha.etcd import Etcd
from ha.sandbox.cluster import Sandbox, free_base_port
from ha.sandbox.monitors import program_of
from ha.sandbox.poll import wait_for

INTERVAL, FAILURES = 0.5, 3


def build(monitors: int) -> Sandbox:
    box = Sandbox(Path(tempfile.mkdtemp(prefix="mysqlha-bench-mon-")), log=lambda line: None)
    box.up(base_port=free_base_port(40000, 50000), interval=INTERVAL, failures=FAILURES, monitors=monitors)
    return box


def etcd_of(box: Sandbox) -> tuple[Etcd, str]:
    config = load_config(box.directory / "mon1.yml")
    assert config.coordination is not None
    return etcd_client(config), config.coordination.etcd.prefix.rstrip("/") + "/leader"


def leader_now(etcd: Etcd, key: str) -> str | None:
    found = etcd.get(key)
    return found.value if found else None


def takeover(box: Sandbox, how: str) -> float:
    """Seconds from stopping the leader (SIGKILL, or SIGTERM through supervisord) to another one holding the key."""
    import os
    import signal

    etcd, key = etcd_of(box)
    chief = wait_for(lambda: leader_now(etcd, key), 30, "a leader")
    rpc = box.supervisor().rpc.supervisor
    program = program_of(chief)
    started = time.monotonic()
    if how == "SIGKILL":
        os.kill(int(rpc.getProcessInfo(program)["pid"]), signal.SIGKILL)
        while rpc.getProcessInfo(program)["statename"] not in ("STOPPED", "EXITED", "FATAL"):
            try:  # keep supervisord from restarting it: another monitor must lead
                rpc.stopProcess(program, False)
            except Exception:  # noqa: BLE001 - NOT_RUNNING between exit and respawn
                pass
            time.sleep(0.02)
    else:
        rpc.stopProcess(program, False)
    wait_for(lambda: leader_now(etcd, key) not in (None, chief), 30, "another leader", poll=0.02)
    took = time.monotonic() - started
    # the old leader gives the lead up before it has finished exiting: restart it only once it has
    wait_for(lambda: rpc.getProcessInfo(program)["statename"] in ("STOPPED", "EXITED", "FATAL"), 40, "it to exit")
    rpc.startProcess(program, True)
    return took


def kill_to_write(box: Sandbox) -> float:
    """Seconds from kill -9 master1 to the first write master2 accepts through the master port."""
    config = box.config
    program = config.proxies.programs[config.proxies.normal[0]]

    def write() -> str | None:
        try:
            with box.app(program.listen_host, program.listen_port, timeout=1.0) as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS bench_mon (id INT AUTO_INCREMENT PRIMARY KEY)")
                cur.execute("INSERT INTO bench_mon VALUES ()")
                return box.node_of(cur)
        except Exception:  # noqa: BLE001 - refused or lost while the master moves
            return None

    wait_for(lambda: write() == config.master.name, 30, "writes on master1")
    time.sleep(2 * INTERVAL)
    started = time.monotonic()
    box.server("M1").kill()
    wait_for(lambda: write() == config.candidate.name, 60, "a write on master2", poll=0.01)
    return time.monotonic() - started


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {"takeover_sigkill": [], "takeover_sigterm": [], "write_3": [], "write_1": []}
    for run in range(args.runs):
        for monitors in (3, 1):
            box = build(monitors)
            try:
                if monitors == 3:
                    time.sleep(2)
                    results["takeover_sigkill"].append(takeover(box, "SIGKILL"))
                    time.sleep(3)
                    results["takeover_sigterm"].append(takeover(box, "SIGTERM"))
                    time.sleep(3)
                results[f"write_{monitors}"].append(kill_to_write(box))
            finally:
                box.down()
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in results.items() if v), flush=True)
    summary: dict[str, Any] = {k: {"median": median(v), "max": max(v), "runs": v} for k, v in results.items()}
    lines = [
        f"# Several monitors ({args.runs} runs, interval {INTERVAL} s x {FAILURES}, etcd TTL 2 s)",
        "",
        "| what | median | max |",
        "| --- | --- | --- |",
        *(
            f"| {label} | {summary[k]['median']:.2f} s | {summary[k]['max']:.2f} s |"
            for k, label in (
                ("takeover_sigkill", "leader SIGKILLed -> another holds the leader key"),
                ("takeover_sigterm", "leader SIGTERMed (revokes its lease) -> another holds the key"),
                ("write_3", "kill -9 master1 -> first write on master2, three monitors"),
                ("write_1", "kill -9 master1 -> first write on master2, one monitor"),
            )
        ),
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "monitors.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "monitors.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
