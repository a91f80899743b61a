"""What an on-call DBA sees and does, against real servers: liveness and exit codes, pause, history,
forced failover, timestamps on every log line."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from conftest import log_lines, needs_servers, raw_log_lines, wait_for
from test_events_live import free_port, scrape
from test_safety import FAILURES, FINISHED, INTERVAL, read_only, reconfigure, started, state

from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ")
DEADLINE = INTERVAL * FAILURES + 30


def mysqlha(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ha", *args, "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def status(config: Path) -> tuple[int, dict]:
    result = mysqlha(config, "status", "--json")
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def quick_stale(box: Sandbox, tmp_path: Path) -> Path:
    """The sandbox's config with short step timeouts, for `status` only: a stuck daemon is stale sooner."""
    data = yaml.safe_load(box.config_path.read_text())
    data["failover"]["catchup_timeout"] = 1
    data["supervisor"]["start_timeout"] = 1
    path = tmp_path / "status.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def rpc(box: Sandbox) -> Any:
    return box.supervisor().rpc.supervisor


def test_status_while_running_stale_and_stopped(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    box = started(make_sandbox)
    config = quick_stale(box, tmp_path)
    wait_for(lambda: status(config)[1]["liveness"]["mysqlcheck"] == "RUNNING", 20, "mysqlcheck RUNNING")
    code, data = status(config)
    assert code == 0, data["health"]
    assert data["liveness"]["summary"].startswith("daemon running (mysqlcheck RUNNING): cycle ")
    assert data["liveness"]["last_cycle"]["age"] < 5
    assert data["writer"] == "master1" and data["nodes"]["master2"]["role"] == "replica of master1"
    text = mysqlha(config, "status")
    assert text.returncode == 0 and "health:   healthy" in text.stdout and "writer:   master1" in text.stdout

    pid = rpc(box).getProcessInfo("mysqlcheck")["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        stale = wait_for(lambda: (r := status(config))[0] == 2 and r, 30, "status to call the daemon stale")
        assert "daemon stale (last cycle" in stale[1]["liveness"]["summary"]
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: status(config)[0] == 0, 30, "a healthy status again")

    rpc(box).stopProcess("mysqlcheck")
    code, data = status(config)
    assert code == 2 and data["liveness"]["summary"] == "daemon not running (mysqlcheck STOPPED)"
    assert data["daemon"]["summary"] == "armed: automatic failover is on (but nothing acts on it)"
    text = mysqlha(config, "status").stdout
    assert "daemon:   daemon not running (mysqlcheck STOPPED)" in text
    assert "failover: armed: automatic failover is on (but nothing acts on it)" in text

    lines = raw_log_lines(box)
    assert len(lines) > 20
    unstamped = [line for line in lines if not ISO.match(line)]
    assert not unstamped, f"log lines without a timestamp: {unstamped[:5]}"
    texts = [line.split(" ", 1)[1] for line in lines]
    assert "ok" in texts, "the classic text follows the timestamp unchanged"
    assert any(re.fullmatch(r"\d+: master1 status check at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", t) for t in texts)


def test_pause_survives_a_restart_blocks_a_kill_and_resume_lets_it_through(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox)
    config = box.config_path
    paused = mysqlha(config, "pause", "--for", "1h", "--reason", "drill")
    assert paused.returncode == 0, paused.stderr
    wait_for(
        lambda: any(line.startswith("paused: automatic failover paused by") for line in log_lines(box)),
        10,
        "a paused line",
    )
    rpc(box).stopProcess("mysqlcheck")
    rpc(box).startProcess("mysqlcheck")
    mark = len(log_lines(box))
    wait_for(lambda: any(line.startswith("paused:") for line in log_lines(box)[mark:]), 20, "paused after restart")

    box.server("M1").kill()
    held = "master1 failing: NOT failing over (master_down): automatic failover paused by"
    wait_for(lambda: any(line.startswith(held) for line in log_lines(box)), DEADLINE, "the held failover")
    time.sleep(INTERVAL * (FAILURES + 2))
    assert not any("failover starting" in line for line in log_lines(box))
    assert read_only(box, "M2") == 1 and state(box).phase == "armed"
    code, data = status(config)
    assert code == 2 and data["pause"]["reason"] == "drill" and "no writable master" in data["health"]["problems"]
    assert any(line == "failure 4 of 4" or line.endswith("failure 4 of 4") for line in log_lines(box))
    assert not any(f"failure {FAILURES + 1} of" in line for line in log_lines(box)), "the counter stops"

    assert mysqlha(config, "resume").returncode == 0
    wait_for(lambda: FINISHED in log_lines(box), DEADLINE, "the failover once resumed")
    assert read_only(box, "M2") == 0
    events = [e["event"] for e in map(json.loads, mysqlha(config, "history", "--json").stdout.splitlines())]
    assert events.index("pause") < events.index("failover_held") < events.index("resume") < events.index("failover")


def test_history_of_kill_failover_failback_survives_ack(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    config = box.config_path
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), DEADLINE, "the failover")
    box.server("M1").start()
    box.server("M1").wait_ready()
    wait_for(lambda: read_only(box, "M1") == 1, 10, "the returning master fenced")
    back = mysqlha(config, "failback")
    assert back.returncode == 0, back.stdout + back.stderr
    wait_for(lambda: any("re-armed" in line for line in log_lines(box)), 10, "the daemon saying it is re-armed")
    assert mysqlha(config, "ack").stdout.startswith("already armed")
    entries = [json.loads(line) for line in mysqlha(config, "history", "--json").stdout.splitlines()]
    kinds = [e["event"] for e in entries]
    for kind in ("failure_detected", "failover_started", "failover", "fencing_done", "failback"):
        assert kind in kinds, kinds
    failover = next(e for e in entries if e["event"] == "failover")
    assert failover["case"] == "master_down" and failover["node"] == "master1"
    assert len(failover["steps"]) == 5 and all(s["ok"] and s["ms"] >= 0 for s in failover["steps"])
    assert failover["why"] and failover["took_ms"] > 0
    failback = next(e for e in entries if e["event"] == "failback")
    assert failback["steps"] and failback.get("outage_ms") is not None
    text = mysqlha(config, "history").stdout
    assert "failover  case=master_down  node=master1" in text and "    step 1 stop " in text


def test_forced_failover_after_a_semi_sync_refusal(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    config = box.config_path
    port = free_port()
    reconfigure(box, lambda d: d.update(metrics={"listen": f"127.0.0.1:{port}"}))
    with box.server("M2").root() as cur:
        cur.execute("STOP SLAVE")
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("CREATE TABLE async_rows (id INT PRIMARY KEY)")  # waits out the semi-sync timeout
        cur.execute("INSERT INTO async_rows VALUES (1)")
    wait_for(lambda: state(box).semi_sync_seen is False, 10, "the daemon to see semi-sync off")
    with box.server("M2").root() as cur:
        cur.execute("START SLAVE")  # it catches up on what it can; the daemon still saw semi-sync off
    box.server("M1").kill()
    wait_for(lambda: state(box).phase == "refused", DEADLINE, "the refusal")
    acked = mysqlha(config, "ack", "--force")  # re-armed by hand: the daemon refuses again, history keeps both
    assert acked.returncode == 0, acked.stderr
    wait_for(lambda: state(box).phase == "refused", DEADLINE, "the second refusal")
    assert mysqlha(config, "failover").returncode == 1, "without --accept-data-loss nothing happens"
    dry = mysqlha(config, "switchover", "--dry-run")
    assert dry.returncode == 1 and "preconditions FAIL: the daemon is refused" in dry.stdout
    forced = mysqlha(config, "failover", "--accept-data-loss", "--yes")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "forced by" in forced.stdout
    assert state(box).phase == "failed_over" and read_only(box, "M2") == 0
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("SELECT @@port")
        assert cur.fetchone()[0] == box.config.candidate.port
    entries = [json.loads(line) for line in mysqlha(config, "history", "--json").stdout.splitlines()]
    kinds = [e["event"] for e in entries]
    assert kinds.count("failover_refused") == 2 and kinds.index("ack") < kinds.index("failover_forced")
    refusal = next(e for e in entries if e["event"] == "failover_refused")
    forced_entry = next(e for e in entries if e["event"] == "failover_forced")
    assert "semi-sync" in refusal["detail"] and "@" in forced_entry["by"] and "lost_gtids" in forced_entry
    wait_for(
        lambda: any("failover forced by" in line for line in log_lines(box)), 10, "the daemon logging who forced it"
    )
    forced_seen = 'mysqlha_events_total{event="failover_forced"} 1.0'  # by the daemon, which sees it in the state
    text = wait_for(lambda: forced_seen in (t := scrape(port)) and t, 10, "the forced failover counted")
    assert 'mysqlha_failovers_total{case="master_down",outcome="finished"} 1.0' in text


def test_a_blind_monitor_is_one_event_per_episode_in_hooks_metrics_and_history(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """An expired monitor password: node_up stays 1 (the server answers), the event comes once."""
    box = started(make_sandbox)
    events = tmp_path / "events"
    port = free_port()

    def configure(data: dict) -> None:
        data["hooks"] = {"on_event": f'echo "$MYSQLHA_EVENT $MYSQLHA_NODE" >> {events}', "timeout": 5}
        data["metrics"] = {"listen": f"127.0.0.1:{port}"}

    reconfigure(box, configure)
    user = box.config.monitor.credentials.user

    def set_password(password: str) -> None:
        with box.server("M1").root() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            host = box.layout().get("client_host") or "127.0.0.1"
            cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))

    def blind() -> int:
        return events.read_text().splitlines().count("monitoring_problem master1") if events.exists() else 0

    set_password("expired")
    try:
        wait_for(lambda: blind() == 1, 20, "the monitoring_problem event")
        mark = log_lines(box).count("ok")
        wait_for(lambda: log_lines(box).count("ok") > mark + 4, 20, "more cycles")
        assert blind() == 1, "once per episode, not every cycle"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert 'mysqlha_node_up{node="master1"} 1.0' in text
        assert 'mysqlha_events_total{event="monitoring_problem"} 1.0' in text
        assert "mysqlha_last_cycle_timestamp_seconds" in text and "mysqlha_paused 0.0" in text
    finally:
        set_password(box.password("monitor"))

    def master1_ok() -> bool:
        lines = log_lines(box)[-8:]
        return any(re.match(r"\d+: master1 status check", a) and b == "ok" for a, b in itertools.pairwise(lines))

    wait_for(master1_ok, 20, "master1's check passing again")
    set_password("expired again")
    try:
        wait_for(lambda: blind() == 2, 20, "a new episode, a new event")
    finally:
        set_password(box.password("monitor"))
    entries = [json.loads(line) for line in mysqlha(box.config_path, "history", "--json").stdout.splitlines()]
    assert [e["event"] for e in entries].count("monitoring_problem") == 2
