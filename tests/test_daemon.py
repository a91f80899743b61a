"""The real daemon under real supervisord, against real servers behind real HAProxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest
import yaml
from conftest import log_lines, needs_servers, wait_for

from ha.logsetup import STAMP
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
INTERVAL, FAILURES = 0.5, 4
DEADLINE = INTERVAL * FAILURES + 20  # detection plus a generous margin


def daemon_sandbox(make_sandbox: Callable[..., Sandbox], **options: object) -> Sandbox:
    box = make_sandbox(interval=INTERVAL, failures=FAILURES, **options)
    wait_for(lambda: log_lines(box).count("ok") >= 4, 30, "the daemon's first checks")
    return box


def write_node(box: Sandbox, program: str = "mysql-proxy-master1") -> str:
    """Insert a row through a proxy program's port; return the node that took it."""
    listen = box.config.proxies.programs[program]
    with box.app(listen.listen_host, listen.listen_port) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS writes (id INT AUTO_INCREMENT PRIMARY KEY, at DOUBLE)")
        cur.execute("INSERT INTO writes (at) VALUES (%s)", (time.time(),))
        return box.node_of(cur)


def read_nodes(box: Sandbox, programs: tuple[str, ...] = ("mysql-proxy-slave1", "mysql-proxy-slave2")) -> set[str]:
    """The nodes that answer through the read ports, over several connections each."""
    seen = set()
    for name in programs:
        program = box.config.proxies.programs[name]
        for _ in range(4):
            with box.app(program.listen_host, program.listen_port) as cur:
                seen.add(box.node_of(cur))
    return seen


def read_only(box: Sandbox, node: str) -> int:
    with box.server(node).root() as cur:
        cur.execute("SELECT @@global.read_only")
        return cur.fetchone()[0]


def table_on_m2(box: Sandbox) -> bool:
    with box.server("M2").root() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            ("app", "writes"),
        )
        return cur.fetchone()[0] == 1


def daemon_pid(box: Sandbox) -> int:
    return box.supervisor().rpc.supervisor.getProcessInfo("mysqlcheck")["pid"]


def test_m1_killed_fails_over_to_m2_once(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    config = box.config
    pid = daemon_pid(box)
    box.server("M1").kill()
    m2 = config.candidate.name
    wait_for(lambda: write_node(box) == m2, DEADLINE, "writes through the master port landing on M2")
    wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), 10, "the failover to finish")
    assert write_node(box, "mysql-proxy-master2") == m2
    assert read_only(box, "M2") == 0
    assert read_nodes(box) == {box.server("S2").node.name}
    lines = log_lines(box)
    assert "master1 fail detected!" in lines
    assert lines.count("master1 failing: failover starting") == 1
    assert "failover finished! : master2 is new master" in lines
    time.sleep(INTERVAL * (FAILURES + 2))
    lines = log_lines(box)
    assert lines.count("master1 failing: failover starting") == 1, "acts once, then waits for an operator"
    assert lines[-1] in ("ok", "master1 fail detected!") or lines[-1].startswith("  ")
    assert daemon_pid(box) == pid, "the daemon neither exited nor restarted"


def test_m2_stopped_reads_go_to_s1_and_writes_stay_on_m1(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    box.server("M2").stop()
    s1 = box.server("S1").node.name
    wait_for(lambda: "failover finished! : master2/slave4 has been purged" in log_lines(box), DEADLINE, "case 2")
    assert read_nodes(box) == {s1}
    assert write_node(box) == box.config.master.name
    assert "master2 failing: failover starting" in log_lines(box)


def test_frozen_m1_counts_as_failed_and_is_fenced_when_thawed(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox, heartbeat=1)  # a hung master is told by its stopped heartbeats
    m1 = box.server("M1")
    pid = m1.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), DEADLINE, "failover")
        failures = [line for line in log_lines(box) if "failure 1 of" in line]
        assert failures and "2013" in failures[0], "a hung server fails by timeout (lost connection)"
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: read_only(box, "M1") == 1, 10, "the thawed old master fenced read_only=ON")
    assert any("fenced: read_only=ON" in line for line in log_lines(box))


def test_short_outage_below_threshold_causes_no_failover(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    m1 = box.server("M1")
    pid = m1.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: "master1 fail detected!" in log_lines(box), 10, "a first failed check")
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(INTERVAL * (FAILURES + 2))
    lines = log_lines(box)
    assert not any("failover starting" in line for line in lines)
    assert write_node(box) == box.config.master.name


def test_daemon_killed_mid_failover_resumes_and_completes_once(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    data = yaml.safe_load(box.config_path.read_text())
    data["failover"]["catchup_timeout"] = 1
    box.config_path.write_text(yaml.safe_dump(data))
    supervisor = box.supervisor()
    supervisor.rpc.supervisor.signalProcess("mysqlcheck", "HUP")
    wait_for(lambda: any("SIGHUP: config reloaded" in line for line in log_lines(box)), 10, "config reload")

    written = [write_node(box)]  # creates app.writes
    wait_for(lambda: table_on_m2(box), 10, "app.writes on M2")
    with box.server("M2").root(timeout=120) as lock:
        lock.execute("LOCK TABLES app.writes WRITE")  # M2 receives (and acks) but cannot apply
        written += [write_node(box) for _ in range(19)]
        assert set(written) == {box.config.master.name}
        box.server("M1").kill()
        wait_for(lambda: any("safe point" in line for line in log_lines(box)), DEADLINE, "the catch-up step to fail")
        assert read_only(box, "M2") == 1, "not promoted before it applied what it received"

        first_pid = daemon_pid(box)
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: daemon_pid(box) not in (0, first_pid), 30, "supervisord to restart the daemon")
        resumed = "resuming at step 3"
        wait_for(lambda: any(resumed in line for line in log_lines(box)), 30, "the restarted daemon resumes")
        lock.execute("UNLOCK TABLES")
    wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), 30, "the failover to finish")
    lines = log_lines(box)
    assert sum(1 for line in lines if line.startswith("  step 1/5") and line.endswith(")")) == 1
    assert lines.count("failover finished! : master2 is new master") == 1
    assert lines.count("master1 failing: failover starting") == 1
    with box.server("M2").root() as cur:
        cur.execute("SELECT COUNT(*) FROM app.writes")
        assert cur.fetchone()[0] == 20, "every acknowledged write is on the new master"
    assert write_node(box) == box.config.candidate.name


def test_sigterm_exits_zero(healthy_sandbox: Sandbox) -> None:
    supervisor = healthy_sandbox.supervisor().rpc.supervisor
    supervisor.startProcess("mysqlcheck", True)
    supervisor.stopProcess("mysqlcheck", True)
    info = supervisor.getProcessInfo("mysqlcheck")
    assert info["exitstatus"] == 0 and info["statename"] == "STOPPED"
    assert log_lines(healthy_sandbox)[-1] == "SIGTERM: stopped"


def run_daemon(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ha", "run", "--config", str(config_path)], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["nodes"]["master1"].update(port="x"), "nodes.master1.port"),
        (lambda d: d["proxies"]["programs"].update({"ghost": {"listen": 1, "backends": ["master1"]}}), "ghost"),
        (lambda d: d["supervisor"].update(url="unix:///nonexistent/supervisor.sock"), "cannot reach supervisord"),
    ],
    ids=["malformed", "unknown-program", "supervisord-unreachable"],
)
def test_bad_start_is_refused_with_nothing_touched(
    healthy_sandbox: Sandbox, tmp_path: Path, change: Callable[[dict], None], expected: str
) -> None:
    data = yaml.safe_load(healthy_sandbox.config_path.read_text())
    data["failover"]["state_file"] = str(tmp_path / "state.json")
    change(data)
    path = tmp_path / "mysqlha.yml"
    path.write_text(yaml.safe_dump(data))
    before = healthy_sandbox.supervisor().states()
    result = run_daemon(path)
    assert result.returncode == 2
    assert expected in result.stderr and str(path) in result.stderr
    assert not (tmp_path / "state.json").exists()
    assert healthy_sandbox.supervisor().states() == before


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("nodes: [unclosed\n")
    result = run_daemon(path)
    assert result.returncode == 2
    assert f"{path}: not valid YAML" in result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), "stamped: supervisord puts stderr into the log"


def test_passwords_never_logged(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    box.server("M1").kill()
    wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), DEADLINE, "failover")
    text = box.mysqlcheck_log().read_text()
    for name in ("monitor", "repl", "app"):
        assert box.password(name) not in text
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert box.password("monitor") not in ps
    with pytest.raises(pymysql.err.OperationalError):
        write_node(box, "mysql-proxy-slave1")  # reads go to S2 which is read_only


def test_sighup_with_an_invalid_config_keeps_the_old_one(make_sandbox: Callable[..., Sandbox]) -> None:
    box = daemon_sandbox(make_sandbox)
    good = box.config_path.read_text()
    box.config_path.write_text(good.replace("interval: 0.5", "interval: -1"))
    box.supervisor().rpc.supervisor.signalProcess("mysqlcheck", "HUP")
    wait_for(
        lambda: any("new config is invalid, keeping the old one" in line for line in log_lines(box)), 10, "refusal"
    )
    assert any("monitor.interval" in line and "expected" in line for line in log_lines(box))
    count = log_lines(box).count("ok")
    wait_for(lambda: log_lines(box).count("ok") > count + 4, 10, "checks going on with the old config")
    box.server("M1").kill()
    wait_for(lambda: "failover finished! : master2 is new master" in log_lines(box), DEADLINE, "a failover")
