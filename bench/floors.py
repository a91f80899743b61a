"""The physical floors of each failover phase on this machine, measured on an idle sandbox.

- suspicion: a refused connect (what a killed server answers, the fastest possible "it is gone");
- action: a supervisord start of one HAProxy program (until RUNNING and its port accepts, as the
  daemon's start does), then the first query through that new HAProxy on a fresh connection.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ha.errors import MysqlhaError
from ha.sandbox.cluster import Sandbox, free_host_block

STOP, START = "mysql-proxy-slave1", "mysql-proxy-slave-failover3"  # same listen port, another backend


def refused_connect(samples: int = 50) -> list[float]:
    """Seconds until a connect to a port nobody listens on is refused."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # bound, never listening: connects are refused
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            times.append(time.perf_counter() - began)
    return times


def proxy_start(box: Sandbox, samples: int = 5) -> tuple[list[float], list[float]]:
    """(supervisord start of a proxy program, first query through it) in seconds, ``samples`` times."""
    supervisor, programs = box.supervisor(), box.config.proxies.programs
    program = programs[START]
    starts, queries = [], []
    for _ in range(samples):
        supervisor.stop([STOP])
        began = time.perf_counter()
        supervisor.start([program])
        started = time.perf_counter()
        while True:
            try:
                with box.app(program.listen_host, program.listen_port, timeout=2) as cur:
                    cur.execute("SELECT 1")
                break
            except Exception:  # noqa: BLE001 - not serving yet
                time.sleep(0.001)
        done = time.perf_counter()
        starts.append(started - began)
        queries.append(done - started)
        supervisor.stop([START])
        supervisor.start([programs[STOP]])
    return starts, queries


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values), "n": len(values)}


def measure(log: Any = print) -> dict[str, Any]:
    """Every floor, median and max, on a sandbox of its own (daemon not started)."""
    for attempt in range(3):
        box = Sandbox(Path(tempfile.mkdtemp(prefix="mysqlha-floors-")), log=lambda line: None)
        try:
            box.up(hosts=free_host_block(), daemon=False)
            starts, queries = proxy_start(box)
            break
        except MysqlhaError:  # a port taken by someone else between the check and the bind
            if attempt == 2:
                raise
        finally:
            box.down()
            shutil.rmtree(box.directory, ignore_errors=True)
    floors = {
        "refused_connect": summary(refused_connect()),
        "supervisord_start": summary(starts),
        "first_query": summary(queries),
    }
    floors["action"] = {"median": floors["supervisord_start"]["median"] + floors["first_query"]["median"]}
    log(
        "[floors] refused connect {:.3f} ms, supervisord start {:.0f} ms, first query through a new HAProxy "
        "{:.1f} ms (medians)".format(
            floors["refused_connect"]["median"] * 1000,
            floors["supervisord_start"]["median"] * 1000,
            floors["first_query"]["median"] * 1000,
        )
    )
    return floors
