"""Issue 14 against real servers: the watch channel, the recheck cadence, case 2's switch to async and back."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise

import pymysql
from conftest import log_lines, needs_servers, raw_log_lines, wait_for
from test_safety import reconfigure

from ha.logsetup import unstamped
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
INTERVAL, FAILURES, RECHECK = 5.0, 3, 0.2  # a slow schedule: only the channel and the rechecks can be quick


def stamped(box: Sandbox, text: str) -> list[float]:
    """The times (epoch seconds) of the daemon's log lines whose classic text is ``text``."""
    times = []
    for line in raw_log_lines(box):
        if unstamped(line) == text:
            times.append(datetime.fromisoformat(line.split(" ", 1)[0]).timestamp())
    return times


def semi_sync_master(box: Sandbox, node: str) -> tuple[str, str]:
    with box.server(node).root() as cur:
        cur.execute("SELECT @@global.rpl_semi_sync_master_enabled")
        enabled = cur.fetchone()[0]
        cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'")
        return ("ON" if enabled else "OFF"), cur.fetchone()[1]


def test_a_killed_master_is_suspected_at_once_and_rechecked_at_the_recheck_cadence(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = make_sandbox(interval=INTERVAL, failures=FAILURES)
    wait_for(lambda: log_lines(box).count("ok") >= 2, 30, "the daemon's first checks")
    reconfigure(box, lambda d: d["monitor"].update(recheck_interval=RECHECK))
    wait_for(lambda: log_lines(box)[-1] == "ok", 30, "a check after the reload (the channel is rearmed)")
    time.sleep(1.0)  # the watcher threads open their idle connections
    last_check = stamped(box, "ok")[-1]
    killed = time.time()
    box.server("M1").kill()
    wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), 30, "the failover")
    lines = log_lines(box)
    assert "  master1 closed the watch connection: suspect, checking now" in lines
    failed = stamped(box, "master1 fail detected!")[:FAILURES]
    started = stamped(box, "master1 failing: failover starting")[0]
    print(
        f"kill -> first failed check {failed[0] - killed:.3f} s, -> decision {started - killed:.3f} s; "
        f"rechecks {[round(b - a, 3) for a, b in pairwise(failed)]} s apart"
    )
    # suspected before the next scheduled check (the classic schedule would wait up to 5 s, then 15 s more)
    assert failed[0] < last_check + INTERVAL
    assert all(b - a < INTERVAL / 2 for a, b in pairwise(failed)), "rechecks, not the interval"
    assert started < last_check + INTERVAL
    assert lines.count("master1 failing: failover starting") == 1


def test_case_2_makes_master1_asynchronous_at_once_and_failback_restores_semi_sync(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = make_sandbox(interval=0.5, failures=4, semi_sync_timeout_ms=10000)
    wait_for(lambda: log_lines(box).count("ok") >= 4, 30, "the daemon's first checks")
    assert semi_sync_master(box, "M1") == ("ON", "1")
    master = box.config.proxies.programs["mysql-proxy-master1"]
    stalls: list[float] = []
    stop = threading.Event()

    with box.app(master.listen_host, master.listen_port) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS stall (id INT AUTO_INCREMENT PRIMARY KEY)")

    def writer() -> None:
        while not stop.is_set():
            try:
                with box.app(master.listen_host, master.listen_port, timeout=30) as cur:
                    began = time.monotonic()
                    cur.execute("INSERT INTO stall VALUES ()")
                    stalls.append(time.monotonic() - began)
            except pymysql.err.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(stalls) >= 5, 20, "writes through the master port")
        box.server("M2").kill()
        wait_for(lambda: "failover finished! : master2/slave4 has been purged" in log_lines(box), 30, "case 2")
        count = len(stalls)
        wait_for(lambda: len(stalls) >= count + 5, 20, "writes after case 2")
    finally:
        stop.set()
        thread.join(35)
    print(f"longest write stall with master2 killed: {max(stalls):.3f} s (semi-sync timeout 10 s)")
    assert max(stalls) < 10.0, "a write waited for the whole semi-sync timeout"
    lines = log_lines(box)
    step = next(line for line in lines if "no semi-sync replica left" in line)
    assert "no semi-sync replica left: master1 commits asynchronously until master2 rejoins: ok" in step
    assert semi_sync_master(box, "M1")[0] == "OFF"
    box.server("M2").start()
    box.server("M2").wait_ready()
    back = subprocess.run(
        [sys.executable, "-m", "ha", "failback", "--config", str(box.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert back.returncode == 0, back.stdout + back.stderr
    assert semi_sync_master(box, "M1") == ("ON", "1")
