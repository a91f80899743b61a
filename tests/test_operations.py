"""Operator commands against real sandboxes: status, check-config, switchover, failback, ack, locking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import log_lines, needs_servers, raw_log_lines, wait_for
from test_events_live import free_port, scrape
from test_operators_live import ISO
from test_safety import FINISHED, Writer, read_only, reconfigure, started, state

from ha.mysql import replica_status
from ha.sandbox.cluster import Sandbox
from ha.state import StateStore

pytestmark = needs_servers


def mysqlha(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ha", *args, "--config", str(box.config_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def status_json(box: Sandbox) -> dict:
    result = mysqlha(box, "status", "--json")
    assert result.returncode in (0, 1, 2) and result.stdout, result.stderr  # healthy, degraded, critical
    return json.loads(result.stdout)


def acked_on(box: Sandbox, node: str, writer: Writer) -> int:
    """How many of the writer's acknowledged keys are missing on ``node``."""
    with box.server(node).root() as cur:
        cur.execute("SELECT k FROM app.acked")
        present = {row[0] for row in cur.fetchall()}
    return sum(1 for key in writer.acked if key not in present)


def test_status_and_check_config_of_a_healthy_cluster(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    text = mysqlha(box, "status")
    assert text.returncode == 0
    assert "failover: armed" in text.stdout and "source ON (1)" in text.stdout and "replica ON" in text.stdout
    assert "all checks ok [all_healthy]" in text.stdout, "the daemon's last sentence and analysis"
    data = status_json(box)
    assert (data["daemon"]["phase"], data["daemon"]["analysis"], data["daemon"]["sentence"]) == (
        "armed",
        "all_healthy",
        "all checks ok",
    )
    assert data["nodes"]["master2"]["source"] == "master1" and data["nodes"]["slave4"]["source"] == "master2"
    assert data["nodes"]["master1"]["read_only"] is False and data["nodes"]["master1"]["semi_sync_clients"] == 1
    assert data["programs"]["mysql-proxy-master1"]["state"] == "RUNNING"
    healthy = mysqlha(box, "check-config")
    assert healthy.returncode == 0, "a slow heartbeat is a warning, not a mismatch"
    assert "warning: master2 heartbeat 30 s: a hung master1 is confirmed only after ~33 s" in healthy.stdout
    assert "set MASTER_HEARTBEAT_PERIOD=1" in healthy.stdout

    with box.server("S1").root() as cur:
        cur.execute("SET GLOBAL read_only = OFF")
    checked = mysqlha(box, "check-config")
    assert checked.returncode == 1
    assert "slave3: read_only is OFF, expected ON" in checked.stdout


def test_switchover_and_failback_round_trip_lose_nothing(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("CREATE TABLE acked (k CHAR(36) PRIMARY KEY)")
    dry = mysqlha(box, "switchover", "--dry-run")
    assert dry.returncode == 0 and "would run 7 steps" in dry.stdout
    assert state(box).phase == "armed" and read_only(box, "M1") == 0

    writer = Writer(box)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) >= 50, 30, "writes flowing")
        over = mysqlha(box, "switchover", "--yes")
        assert over.returncode == 0, over.stdout + over.stderr
        print(over.stdout.splitlines()[-1])
        assert state(box).phase == "switched_over"
        count = len(writer.acked)
        wait_for(lambda: len(writer.acked) > count + 50, 30, "writes flowing to master2")
        assert read_only(box, "M1") == 1 and read_only(box, "M2") == 0
        back = mysqlha(box, "failback")
        assert back.returncode == 0, back.stdout + back.stderr
        print(back.stdout.splitlines()[-1])
        count = len(writer.acked)
        wait_for(lambda: len(writer.acked) > count + 50, 30, "writes flowing to master1 again")
    finally:
        writer.stopping.set()
        writer.join(10)
    assert state(box).phase == "armed"
    assert mysqlha(box, "check-config").returncode == 0
    assert acked_on(box, "M1", writer) == 0
    wait_for(lambda: acked_on(box, "M2", writer) == 0, 10, "every acknowledged write on master2 too")
    print(f"round trip: {len(writer.acked)} acknowledged writes, 0 lost, {writer.failed} failed attempts")


def test_a_switchover_failing_before_the_promotion_is_undone(make_sandbox: Callable[..., Sandbox]) -> None:
    """master2 dies while the switchover waits for it to apply master1's writes: master1 is made
    writable again behind the normal proxies, the daemon is armed, and it does not resume the switchover."""
    box = started(make_sandbox)
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("CREATE TABLE held (id INT PRIMARY KEY)")
    m2 = box.server("M2")
    with m2.root() as hold:
        hold.execute("FLUSH TABLES WITH READ LOCK")  # master2 receives (and acks) but cannot apply
        with box.app(program.listen_host, program.listen_port) as cur:
            cur.execute("INSERT INTO held VALUES (1)")
        command = [sys.executable, "-m", "ha", "switchover", "--yes", "--config", str(box.config_path)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            out: list[str] = []
            reader = threading.Thread(target=lambda: out.extend(proc.stdout or ()), daemon=True)
            reader.start()
            wait_for(lambda: any(line.startswith("  step 2/7 stop") for line in out), 30, "the switchover to wait")
            m2.kill()  # master2 stops mid-way, before it is promoted
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    lines = [line.rstrip("\n") for line in out]
    print("\n".join(lines[-4:]))
    assert proc.returncode == 1, lines
    assert "Traceback" not in stderr + "".join(out), stderr
    assert lines[-1].startswith("switchover aborted and undone (step 3/7 wait until master2 applied everything")
    assert lines[-1].endswith("automatic failover armed")
    assert sum("aborted" in line for line in lines) == 1, "one clear line"
    assert state(box).phase == "armed"
    assert read_only(box, "M1") == 0
    programs = box.supervisor().states()
    assert all(programs[name] == "RUNNING" for name in box.config.proxies.normal), programs
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("INSERT INTO held VALUES (2)")  # semi-sync falls back after its 1 s timeout
        cur.execute("SELECT @@port")
        assert cur.fetchone()[0] == box.config.master.port, "writes go to master1 through the normal proxy"
    m2.start()
    m2.wait_ready()
    count = len(log_lines(box))
    wait_for(lambda: log_lines(box)[count:].count("ok") >= 6, 30, "the daemon's next checks")
    assert not any("switchover resuming" in line for line in log_lines(box)), "the undone switchover stays undone"
    assert state(box).case != "switchover"


def test_failback_after_a_crash_rearms_the_daemon(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover")
    data = status_json(box)
    assert data["daemon"]["phase"] == "failed_over"
    assert data["nodes"]["master1"]["reachable"] is False
    refused = mysqlha(box, "failback")
    assert refused.returncode != 0  # master1 is down: nothing touched
    assert state(box).phase == "failed_over"

    box.server("M1").start()
    box.server("M1").wait_ready()
    wait_for(lambda: read_only(box, "M1") == 1, 10, "the returning master fenced")
    assert mysqlha(box, "ack").returncode != 0, "ack refuses while the failover proxies serve"
    back = mysqlha(box, "failback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert mysqlha(box, "check-config").returncode == 0
    assert state(box).phase == "armed"

    wait_for(lambda: state(box).semi_sync_seen is True, 10, "the daemon to see master1 with semi-sync again")
    box.server("M1").kill()  # armed again: a second failover happens
    wait_for(lambda: log_lines(box).count(FINISHED) == 2, 30, "a second failover")


def source_of(box: Sandbox, node: str) -> tuple[str, int] | None:
    with box.server(node).root() as cur:
        view = replica_status(cur)
    return None if view is None else (view.source_host, view.source_port)


def test_failback_moves_a_repointed_replica_back_on_same_port_hosts(make_sandbox: Callable[..., Sandbox]) -> None:
    """Issue 9, defect 2: every node on 3306; slave3, repointed to master2 by the failover, goes
    back to master1 on failback (not "already there" by port), and does not veto the next failover."""
    box = started(make_sandbox)
    master1, master2 = box.config.master, box.config.candidate
    assert master1.port == master2.port == 3306
    reconfigure(box, lambda d: d["failover"].update(repoint_replicas=True))
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover")
    assert source_of(box, "slave3") == (master2.host, 3306)
    box.server("M1").start()
    box.server("M1").wait_ready()
    wait_for(lambda: read_only(box, "M1") == 1, 10, "the returning master fenced")
    back = mysqlha(box, "failback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert source_of(box, "slave3") == (master1.host, 3306), back.stdout
    checked = mysqlha(box, "check-config")
    assert checked.returncode == 0, checked.stdout
    assert status_json(box)["nodes"]["slave3"]["source"] == "master1"
    wait_for(lambda: state(box).semi_sync_seen is True, 10, "the daemon to see master1 with semi-sync again")
    box.server("M1").kill()
    wait_for(lambda: log_lines(box).count(FINISHED) == 2, 30, "a second failover, not vetoed by slave3")


def test_failback_with_swapped_roles_guards_the_new_layout(make_sandbox: Callable[..., Sandbox]) -> None:
    """Keep master2 as master: the config is rewritten, the daemon re-armed, and a master2 crash fails over.
    The counters live through the swap's SIGHUP; every log line (a start warning, SIGHUP) is stamped."""
    box = started(make_sandbox)
    port = free_port()

    def configure(data: dict) -> None:  # metrics on; an inline password draws a warning at start
        data["metrics"] = {"listen": f"127.0.0.1:{port}"}
        data["monitor"]["password"] = Path(data["monitor"].pop("password_file")).read_text().strip()

    reconfigure(box, configure)
    rpc = box.supervisor().rpc.supervisor
    rpc.stopProcess("mysqlcheck")
    mark = len(log_lines(box))
    rpc.startProcess("mysqlcheck")
    wait_for(lambda: log_lines(box)[mark:].count("ok") >= 4, 20, "the restarted daemon's checks")
    assert any(line.startswith("warning: ") and "inline password" in line for line in log_lines(box)[mark:])
    master1, master2 = box.servers()["master1"], box.servers()["master2"]
    master1.kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover")
    master1.start()
    master1.wait_ready()
    dry = mysqlha(box, "failback", "--swap-roles", "--dry-run")
    assert dry.returncode == 0 and "swap the master and candidate roles" in dry.stdout
    swap = mysqlha(box, "failback", "--swap-roles")
    assert swap.returncode == 0, swap.stdout + swap.stderr
    assert state(box).phase == "armed"
    assert (box.config_path.parent / "mysqlha.yml.bak").exists()
    checked = mysqlha(box, "check-config")
    assert checked.returncode == 0, checked.stdout
    assert "supervisord.conf.d/haproxy.conf: " in swap.stdout, "one line on the program files"
    wait_for(lambda: any("SIGHUP: config reloaded" in line for line in log_lines(box)), 10, "the daemon reloads")
    wait_for(lambda: state(box).semi_sync_seen is True, 10, "the daemon to see master2 with semi-sync")
    text = wait_for(lambda: 'event="failback"} 1.0' in (t := scrape(port)) and t, 10, "the failback counted")
    assert 'mysqlha_failovers_total{case="rejoin_master",outcome="finished"} 1.0' in text
    assert 'mysqlha_failovers_total{case="master_down",outcome="finished"} 1.0' in text, "kept across the SIGHUP"

    master2.kill()
    wait_for(lambda: "failover finished! : master1 is new master" in log_lines(box), 30, "a failover back to master1")
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        assert box.node_of(cur) == master1.node.name
    unstamped = [line for line in raw_log_lines(box) if not ISO.match(line)]
    assert not unstamped, f"log lines without a timestamp: {unstamped[:5]}"


def test_failback_refuses_errant_transactions(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover")
    box.server("M1").start()
    box.server("M1").wait_ready()
    # Fenced first: while master1 is writable the fence ends every session waiting for a semi-sync
    # ACK (it has no semi-sync replica), and this write would be one of them.
    wait_for(lambda: read_only(box, "M1") == 1, 10, "the returning master fenced")
    with box.server("M1").root() as cur:  # root may write despite read_only: a write M2 never saw
        cur.execute("CREATE TABLE app.errant (id INT PRIMARY KEY)")
    result = mysqlha(box, "failback")
    assert result.returncode == 1
    assert "holds transactions master2 never received" in result.stderr
    assert state(box).phase == "failed_over"
    with box.server("M1").root() as cur:
        cur.execute("SHOW SLAVE STATUS")
        assert cur.fetchone() is None, "nothing touched: master1 was not made a replica"


def test_failback_after_case_2_restores_the_read_proxies(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    box.server("M2").stop()
    wait_for(lambda: state(box).phase == "failed_over", 30, "case 2")
    box.server("M2").start()
    box.server("M2").wait_ready()
    back = mysqlha(box, "failback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert mysqlha(box, "check-config").returncode == 0
    assert status_json(box)["programs"]["mysql-proxy-slave1"]["state"] == "RUNNING"


def test_operator_and_daemon_respect_one_lock(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    store = StateStore(box.config.failover.state_file)
    with store.lock():
        wait_for(lambda: any("holds the state lock" in line for line in log_lines(box)), 10, "the daemon to wait")
        busy = mysqlha(box, "switchover", "--yes")
        assert busy.returncode == 1 and "holds the lock" in busy.stderr
    supervisor = box.supervisor().rpc.supervisor
    supervisor.stopProcess("mysqlcheck", True)
    store.save(type(store.load())(phase="failing_over", case="master_down", failed_node="master1"))
    refused = mysqlha(box, "switchover", "--yes")
    assert refused.returncode == 1 and "in progress" in refused.stderr
