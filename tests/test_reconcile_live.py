"""A reloaded, restarted or crashed supervisord must not undo a failover (issue 9, defects 3 and 6).

Real MariaDB servers, real supervisord and HAProxy, the real daemon. supervisord is sent SIGHUP (what
the old init script and unit did on `reload`: every program restarts, the normal proxies autostart),
restarted (SIGTERM, then started again), or killed with its children in the middle of a failover;
every process is stopped by pid, the supervisord started here too (through its pid file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import pymysql
import yaml
from conftest import log_lines, needs_servers, wait_for

from ha.layout import phase_layout
from ha.sandbox.cluster import Sandbox
from ha.sandbox.mariadb import binary, read_pid, wait_gone

pytestmark = needs_servers
INTERVAL, FAILURES = 0.5, 4
DEADLINE = INTERVAL * FAILURES + 20
FINISHED = "failover finished! : master2 is new master"
WRITE_PROGRAMS = ("mysql-proxy-master1", "mysql-proxy-master2")


def started(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    box = make_sandbox(interval=INTERVAL, failures=FAILURES)
    assert {node.port for node in box.config.nodes.values()} == {3306}, "the lab's same-port shape"
    wait_for(lambda: log_lines(box).count("ok") >= 4, 30, "the daemon's first checks")
    return box


def server_ids(box: Sandbox) -> dict[int, str]:
    ids = {}
    for name, server in box.servers().items():
        with server.root() as cur:
            cur.execute("SELECT @@server_id")
            ids[cur.fetchone()[0]] = name
    return ids


def binlog_position(box: Sandbox, node: str) -> str:
    with box.servers()[node].root() as cur:
        cur.execute("SELECT @@global.gtid_binlog_pos")
        return cur.fetchone()[0]


def write_through(box: Sandbox, program: str, ids: dict[int, str]) -> str:
    """Insert one row through a proxy program's port; the node that took it."""
    listen = box.config.proxies.programs[program]
    with box.app(listen.listen_host, listen.listen_port, timeout=2) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS writes (id INT AUTO_INCREMENT PRIMARY KEY, at DOUBLE)")
        cur.execute("INSERT INTO writes (at) VALUES (%s)", (time.time(),))
        cur.execute("SELECT @@server_id")
        return ids[cur.fetchone()[0]]


@contextmanager
def writer(box: Sandbox, ids: dict[int, str]) -> Iterator[dict[str, int]]:
    """Write through both master ports in a loop; count which node took each write, and the errors."""
    taken: dict[str, int] = {}
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            for program in WRITE_PROGRAMS:
                try:
                    node = write_through(box, program, ids)
                except pymysql.MySQLError:
                    node = "error"
                taken[node] = taken.get(node, 0) + 1
            time.sleep(0.02)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield taken
    finally:
        done.set()
        thread.join(30)


def layout_is(box: Sandbox, phase: str, case: str) -> bool:
    """Exactly the programs the phase wants run, and supervisord says so."""
    wanted = phase_layout(box.config, phase, case)  # type: ignore[arg-type]
    assert wanted is not None
    states = box.supervisor().states()
    return all((states[name] == "RUNNING") == (name in wanted) for name in box.config.proxies.programs)


def daemon_pid(box: Sandbox) -> int:
    return box.supervisor().rpc.supervisor.getProcessInfo("mysqlcheck")["pid"]


def supervisord_pid(box: Sandbox) -> int:
    pid = read_pid(box.supervisord_pid_file)
    assert pid is not None, "supervisord runs"
    return pid


def start_supervisord(box: Sandbox) -> None:
    """Start the sandbox's supervisord again (it daemonizes; its pid file lets the fixture stop it)."""
    subprocess.run([binary("supervisord"), "-c", str(box.supervisord_conf)], check=True, timeout=30)
    wait_for(lambda: box.supervisor().states(), 15, "supervisord to answer")


def reconciled_lines(box: Sandbox) -> list[str]:
    return [line for line in log_lines(box) if line.startswith("reconciled proxies to ")]


def test_reload_and_restart_of_supervisord_do_not_undo_a_failover(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    ids = server_ids(box)
    m1 = box.server("M1")
    m1.kill()
    wait_for(lambda: FINISHED in log_lines(box), DEADLINE, "the failover")
    m1.start()  # master1 is back, and fenced by the daemon: the danger is a proxy sending writes to it
    m1.wait_ready()
    wait_for(lambda: "master1 fenced" in " ".join(log_lines(box)), 15, "master1 fenced")
    before = binlog_position(box, "master1")
    assert layout_is(box, "failed_over", "master_down")

    with writer(box, ids) as taken:
        # kill -HUP: supervisord restarts every program; the normal set (and the daemon) autostart
        daemon = daemon_pid(box)
        hup = time.monotonic()
        os.kill(supervisord_pid(box), signal.SIGHUP)
        wait_for(lambda: daemon_pid(box) not in (0, daemon), 30, "supervisord to restart its programs")
        wait_for(lambda: layout_is(box, "failed_over", "master_down"), 60, "the failed_over layout back")
        wait_for(lambda: len(reconciled_lines(box)) == 1, 10, "the daemon's line")
        print(f"kill -HUP -> failed_over layout back: {time.monotonic() - hup:.1f} s")
        wait_for(lambda: taken.get("master2", 0) > 10, 15, "writes reaching master2 again")

        # restart: SIGTERM (supervisord stops its programs), then start it again
        pid = supervisord_pid(box)
        os.kill(pid, signal.SIGTERM)
        assert wait_gone(pid, 60), "supervisord stopped"
        restart = time.monotonic()
        start_supervisord(box)
        wait_for(lambda: daemon_pid(box) != 0, 30, "the daemon to start")
        wait_for(lambda: layout_is(box, "failed_over", "master_down"), 60, "the failed_over layout back")
        wait_for(lambda: len(reconciled_lines(box)) == 2, 10, "the daemon's line")
        print(f"supervisord started again -> failed_over layout back: {time.monotonic() - restart:.1f} s")
        count = taken.get("master2", 0)
        wait_for(lambda: taken.get("master2", 0) > count + 10, 15, "writes reaching master2 again")
    print(f"writes through the master ports during both: {taken}")
    assert len(reconciled_lines(box)) == 2, "one line each time"
    assert "master1" not in taken, "no write reached master1 through a master port"
    assert binlog_position(box, "master1") == before, "master1 wrote nothing"
    normal = ", ".join(box.config.proxies.normal)
    for line in reconciled_lines(box):
        assert line.startswith(f"reconciled proxies to failed_over (master_down): stopped {normal}; started ")
    assert log_lines(box).count(FINISHED) == 1


def test_supervisord_crashing_mid_failover_does_not_strand_it(make_sandbox: Callable[..., Sandbox]) -> None:
    """Killed (with its programs) after step 2 of a failover while master2 cannot apply, then started
    again: the normal proxies autostart; the restarted daemon first stops them and starts the read
    failover set (what steps 1-2 did), then resumes at step 3 and finishes with the right layout."""
    box = started(make_sandbox)
    ids = server_ids(box)
    data = yaml.safe_load(box.config_path.read_text())
    data["failover"]["catchup_timeout"] = 1
    box.config_path.write_text(yaml.safe_dump(data))
    box.supervisor().rpc.supervisor.signalProcess("mysqlcheck", "HUP")
    wait_for(lambda: any("SIGHUP: config reloaded" in line for line in log_lines(box)), 10, "config reload")
    written = [write_through(box, "mysql-proxy-master1", ids)]  # creates app.writes
    wait_for(lambda: binlog_position(box, "master2") == binlog_position(box, "master1"), 10, "master2 caught up")

    with box.server("M2").root(timeout=120) as lock:
        lock.execute("LOCK TABLES app.writes WRITE")  # master2 receives (and acks) but cannot apply
        written += [write_through(box, "mysql-proxy-master1", ids) for _ in range(19)]
        assert set(written) == {"master1"}
        box.server("M1").kill()
        wait_for(lambda: any("safe point" in line for line in log_lines(box)), DEADLINE, "step 3 to wait")
        rpc = box.supervisor().rpc.supervisor
        children = [info["pid"] for info in cast(list[dict[str, Any]], rpc.getAllProcessInfo()) if info["pid"]]
        pid = supervisord_pid(box)
        for victim in (pid, *children):  # a crash: supervisord and everything it ran
            os.kill(victim, signal.SIGKILL)
        for victim in (pid, *children):
            assert wait_gone(victim, 10)
        mark = len(log_lines(box))
        start_supervisord(box)
        wanted = (
            "reconciled proxies to master_down after step 2: stopped "
            f"{', '.join(box.config.proxies.normal)}; started mysql-proxy-slave-failover1, mysql-proxy-slave-failover2"
        )
        step3 = "  step 3/5 wait until master2 applied all it received"
        wait_for(lambda: any(line.startswith(step3) for line in log_lines(box)[mark:]), 60, "the daemon to resume")
        lock.execute("UNLOCK TABLES")
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover to finish")
    assert layout_is(box, "failed_over", "master_down")
    lines = log_lines(box)[mark:]
    assert lines.index(wanted) < next(n for n, line in enumerate(lines) if line.startswith(step3)), "layout first"
    assert write_through(box, "mysql-proxy-master1", ids) == "master2"
    assert write_through(box, "mysql-proxy-master2", ids) == "master2"
    with box.server("M2").root() as cur:
        cur.execute("SELECT COUNT(*) FROM app.writes")
        assert cur.fetchone()[0] == 22, "every acknowledged write, and the two since, on the new master"
    assert log_lines(box).count(FINISHED) == 1
