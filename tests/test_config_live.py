"""check-config's live checks and the grant preflight, against real MariaDB servers of a sandbox.

Every test breaks one thing on the shared sandbox, checks that it is found with its fix, and
repairs it (the errant transaction, which cannot be repaired, comes last).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql
import yaml
from conftest import log_lines, needs_servers, wait_for

from ha.config import load_config
from ha.livecheck import Finding, live_findings
from ha.mysql import MySQL
from ha.sandbox.cluster import Sandbox
from ha.sandbox.wiring import MONITOR_GRANTS

pytestmark = needs_servers
FINISHED = "failover finished! : master2 is new master"


def host(box: Sandbox) -> str:
    """The host part of the sandbox's accounts (127.% on the same-port lab)."""
    return str(box.layout().get("client_host") or "127.0.0.1")


def mysqlha(box: Sandbox, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ha", *args, "--config", str(config or box.config_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def findings(box: Sandbox) -> list[Finding]:
    config = load_config(box.config_path)
    return live_findings(config, MySQL(config.monitor))


@contextmanager
def as_root(box: Sandbox, node: str) -> Iterator[pymysql.cursors.Cursor]:
    """Root on ``node`` with binary logging off: the change replicates nowhere and leaves no GTID."""
    with box.server(node).root() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        yield cur


def only(found: list[Finding], node: str, words: str) -> Finding:
    hits = [f for f in found if f.node == node and words in f.problem]
    assert len(hits) == 1, found
    return hits[0]


def test_a_healthy_sandbox_passes_every_live_check(healthy_sandbox: Sandbox) -> None:
    assert findings(healthy_sandbox) == []
    result = mysqlha(healthy_sandbox, "check-config")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].endswith("config valid (4 nodes, 10 proxy programs)")
    report = json.loads(mysqlha(healthy_sandbox, "check-config", "--json").stdout)
    assert report["valid"] and report["ok"] and report["mismatches"] == []
    assert [f for f in report["findings"] if f["severity"] != "warning"] == [], "the 30 s heartbeats are warnings"


def test_a_missing_reload_grant_on_master2(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    user = box.config.monitor.credentials.user
    with as_root(box, "M2") as cur:
        cur.execute(f"REVOKE RELOAD ON *.* FROM '{user}'@'{host(box)}'")
    try:
        finding = only(findings(box), "master2", "lacks RELOAD")
        assert "RESET SLAVE ALL" in finding.problem and "promote master2" in finding.problem
        assert finding.fix == f"on master2: GRANT RELOAD ON *.* TO '{user}'@'{host(box)}';"
        result = mysqlha(box, "check-config")
        assert result.returncode == 1
        lines = result.stdout.splitlines()
        assert lines[0].endswith("config valid (4 nodes, 10 proxy programs)"), "config valid comes first"
        assert f"  fix: on master2: GRANT RELOAD ON *.* TO '{user}'@'{host(box)}';" in lines
        report = json.loads(mysqlha(box, "check-config", "--json").stdout)
        assert report["valid"] is True and report["ok"] is False
        assert [f["node"] for f in report["findings"] if f["severity"] == "error"] == ["master2"]
    finally:
        with as_root(box, "M2") as cur:
            cur.execute(f"GRANT RELOAD ON *.* TO '{user}'@'{host(box)}'")


def test_the_daemon_refuses_to_start_without_the_grants_a_failover_needs(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    user = box.config.monitor.credentials.user
    states = box.supervisor().states()
    with as_root(box, "M2") as cur:
        cur.execute(f"REVOKE ALL PRIVILEGES ON *.* FROM '{user}'@'{host(box)}'")
        cur.execute(f"GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO '{user}'@'{host(box)}'")
    try:
        result = mysqlha(box, "run")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "cannot start, nothing was touched" in result.stderr
        assert "master2: the monitor user" in result.stderr and "RELOAD" in result.stderr
        assert "READ_ONLY ADMIN" in result.stderr and "GRANT " in result.stderr
        assert box.supervisor().states() == states
    finally:
        with as_root(box, "M2") as cur:
            cur.execute(f"GRANT {MONITOR_GRANTS} ON *.* TO '{user}'@'{host(box)}'")


def test_after_commit_on_master1(healthy_sandbox: Sandbox) -> None:
    with as_root(healthy_sandbox, "M1") as cur:
        cur.execute("SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_COMMIT")
    try:
        finding = only(findings(healthy_sandbox), "master1", "wait_point is AFTER_COMMIT")
        assert "SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC" in finding.fix
    finally:
        with as_root(healthy_sandbox, "M1") as cur:
            cur.execute("SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC")


def test_a_slow_heartbeat_is_a_warning_naming_what_it_costs(healthy_sandbox: Sandbox) -> None:
    """The server's default 30 s heartbeat is safe (a replica votes only past its own period), but slow."""

    def period(seconds: float) -> None:
        with as_root(healthy_sandbox, "S1") as cur:
            cur.execute("STOP SLAVE")
            cur.execute(f"CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = {seconds}")
            cur.execute("START SLAVE")

    def slow() -> list[dict[str, str]]:
        report = json.loads(mysqlha(healthy_sandbox, "check-config", "--json").stdout)
        assert report["ok"], report["findings"]
        return [f for f in report["findings"] if f["node"] == "slave3" and "heartbeat" in f["problem"]]

    period(30)
    try:
        (warning,) = slow()
        assert warning["severity"] == "warning"
        assert warning["problem"].startswith("slave3 heartbeat 30 s: a hung master1 is confirmed only after ~33 s")
        fix = warning["fix"]
        assert "on slave3: STOP SLAVE; CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1; START SLAVE;" in fix
        with as_root(healthy_sandbox, "S1") as cur:  # the fix, as printed
            for statement in fix.split("on slave3: ", 1)[1].split(";")[:3]:
                cur.execute(statement)
        assert slow() == []
    finally:
        period(30)


def layout(box: Sandbox) -> list[dict[str, str]]:
    report = json.loads(mysqlha(box, "check-config", "--json").stdout)
    return list(report["mismatches"])


def run_fix(box: Sandbox, server: str, fix: str) -> None:
    """Run the statements a fix prints (``on <node>: A; B; C;`` up to any prose after them)."""
    statements = fix.split(": ", 1)[1]
    with as_root(box, server) as cur:
        for statement in statements.split(";"):
            if statement.strip().startswith(("SET ", "STOP ", "START ", "CHANGE ")):
                cur.execute(statement)


def test_layout_differences_come_with_fixes_that_work(healthy_sandbox: Sandbox) -> None:
    """A writable replica and a stopped one: check-config names each with statements that repair it."""
    box = healthy_sandbox
    with as_root(box, "S1") as cur:
        cur.execute("SET GLOBAL read_only = OFF")
        cur.execute("STOP SLAVE")
    try:
        found = {f["problem"]: f for f in layout(box) if f["node"] == "slave3"}
        assert set(found) == {"read_only is OFF, expected ON for a replica", "replication not running (IO No): "}
        writable, stopped = (
            found["read_only is OFF, expected ON for a replica"],
            found["replication not running (IO No): "],
        )
        assert writable["fix"].startswith("on slave3: SET GLOBAL read_only = ON; and set `read_only = ON`")
        assert stopped["fix"] == "on slave3: START SLAVE;"
        text = mysqlha(box, "check-config").stdout
        assert (
            "slave3: read_only is OFF, expected ON for a replica\n  fix: on slave3: SET GLOBAL read_only = ON;" in text
        )
        run_fix(box, "S1", writable["fix"])
        run_fix(box, "S1", stopped["fix"])
        wait_for(lambda: layout(box) == [], 30, "slave3 read-only and replicating again")
    finally:
        with as_root(box, "S1") as cur:
            cur.execute("SET GLOBAL read_only = ON")
            cur.execute("START SLAVE")


def test_a_candidate_that_is_not_a_semi_sync_replica_gets_the_statements_that_make_it_one(
    healthy_sandbox: Sandbox,
) -> None:
    box = healthy_sandbox
    semi_sync_replica(box, "OFF")
    try:
        found = wait_for(
            lambda: [f for f in layout(box) if f["problem"] == "not a semi-sync replica"], 15, "master2 not semi-sync"
        )
        assert isinstance(found, list)
        (finding,) = found
        assert finding["fix"].startswith(
            "on master2: SET GLOBAL rpl_semi_sync_slave_enabled = ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD;"
        )
        run_fix(box, "M2", finding["fix"])
        wait_for(lambda: layout(box) == [], 30, "master2 a semi-sync replica again, master1 with its client")
    finally:
        semi_sync_replica(box, "ON")


def semi_sync_replica(box: Sandbox, value: str) -> None:
    """Turn master2's semi-sync replica role ON or OFF; its IO thread reconnects so the role applies."""
    with as_root(box, "M2") as cur:
        cur.execute(f"SET GLOBAL rpl_semi_sync_slave_enabled = {value}")
        cur.execute("STOP SLAVE IO_THREAD")
        cur.execute("START SLAVE IO_THREAD")


def test_gtid_strict_mode_off(healthy_sandbox: Sandbox) -> None:
    with as_root(healthy_sandbox, "S1") as cur:
        cur.execute("SET GLOBAL gtid_strict_mode = OFF")
    try:
        finding = only(findings(healthy_sandbox), "slave3", "gtid_strict_mode is OFF")
        assert finding.fix.startswith("on slave3: SET GLOBAL gtid_strict_mode = ON; and set")
    finally:
        with as_root(healthy_sandbox, "S1") as cur:
            cur.execute("SET GLOBAL gtid_strict_mode = ON")


def test_no_replication_user_on_master2(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    assert box.config.replication is not None
    repl = box.config.replication.user
    with as_root(box, "M2") as cur:
        cur.execute(f"DROP USER '{repl}'@'{host(box)}'")
    try:
        finding = only(findings(box), "master2", f"replication user {repl} cannot log in from here (1045)")
        assert f"GRANT REPLICATION SLAVE ON *.* TO '{repl}'@" in finding.fix
    finally:
        with as_root(box, "M2") as cur:
            cur.execute(f"CREATE USER '{repl}'@'{host(box)}' IDENTIFIED BY '{box.password('repl')}'")
            cur.execute(f"GRANT REPLICATION SLAVE ON *.* TO '{repl}'@'{host(box)}'")


def test_no_health_check_user_on_a_replica(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    user = box.config.proxies.health_check_user
    with as_root(box, "S1") as cur:
        cur.execute(f"DROP USER '{user}'@'{host(box)}'")
    try:
        finding = only(findings(box), "slave3", f"health check user {user} cannot log in (1045)")
        proxies = {program.listen_host for program in box.config.proxies.programs.values()}
        assert finding.fix == f"on slave3: CREATE USER '{user}'@'{proxies.pop()}';  -- no password, no privileges"
    finally:
        with as_root(box, "S1") as cur:
            cur.execute(f"CREATE USER '{user}'@'{host(box)}'")


def test_log_slave_updates_off_on_master2(healthy_sandbox: Sandbox) -> None:
    server = healthy_sandbox.server("M2")
    before = server.cnf.read_text()

    def restart(text: str) -> None:
        server.stop()
        server.cnf.write_text(text)
        server.start()
        server.wait_ready()

    restart(before + "log_slave_updates = OFF\n")
    try:
        finding = only(findings(healthy_sandbox), "master2", "log_slave_updates is OFF")
        assert "never reaches slave4" in finding.problem
        assert finding.fix == (
            "set `log_slave_updates = ON` in master2's my.cnf ([mariadbd] or [mysqld]) and restart master2"
        )
    finally:
        restart(before)
    wait_for(lambda: findings(healthy_sandbox) == [], 30, "master2 replicating and semi-sync again")


def test_offline_contacts_nothing_and_live_reports_unreachable(healthy_sandbox: Sandbox, tmp_path: Path) -> None:
    data = yaml.safe_load(healthy_sandbox.config_path.read_text())
    for index, node in enumerate(data["nodes"].values()):
        node["port"] = 1 + index  # nothing listens there
    data["supervisor"]["url"] = f"unix://{tmp_path}/absent.sock"
    path = tmp_path / "elsewhere.yml"
    path.write_text(yaml.safe_dump(data))
    offline = mysqlha(healthy_sandbox, "check-config", "--offline", config=path)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    interval, failures = data["monitor"]["interval"], data["monitor"]["failures"]
    assert offline.stdout.splitlines() == [
        f"{path}: config valid (4 nodes, 10 proxy programs)",
        f"failover window: a node failing {failures} checks {interval:g} s apart (failures x recheck_interval "
        f"= {failures * interval:g} s); a shorter blip is no failover",
    ]
    live = mysqlha(healthy_sandbox, "check-config", config=path)
    assert live.returncode == 1 and live.stdout.splitlines()[0].endswith("config valid (4 nodes, 10 proxy programs)")
    assert "master1: unreachable" in live.stdout


def test_an_invalid_config_exits_2_with_every_problem(healthy_sandbox: Sandbox, tmp_path: Path) -> None:
    text = healthy_sandbox.config_path.read_text().replace("interval:", "intervall:")
    path = tmp_path / "typo.yml"
    path.write_text(text)
    result = mysqlha(healthy_sandbox, "check-config", "--offline", config=path)
    assert result.returncode == 2 and result.stdout == ""
    assert "monitor.intervall: unknown key; did you mean 'interval'?" in result.stderr
    report = json.loads(mysqlha(healthy_sandbox, "check-config", "--json", config=path).stdout)
    assert report["valid"] is False and any("did you mean 'interval'" in p for p in report["problems"])


def test_schema_command_prints_the_shipped_schema(healthy_sandbox: Sandbox) -> None:
    shipped = Path(__file__).resolve().parent.parent / "conf" / "mysqlha.schema.json"
    printed = subprocess.run([sys.executable, "-m", "ha", "schema"], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and json.loads(printed.stdout) == json.loads(shipped.read_text())


def test_a_switchover_refuses_before_step_1_without_the_grants(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    user = box.config.monitor.credentials.user
    with as_root(box, "M1") as cur:
        cur.execute(f"REVOKE READ_ONLY ADMIN ON *.* FROM '{user}'@'{host(box)}'")
    try:
        result = mysqlha(box, "switchover", "--yes")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "not starting switchover, nothing touched: master1: the monitor user" in result.stderr
        assert "lacks READ_ONLY ADMIN" in result.stderr
        with box.server("M1").root() as cur:
            cur.execute("SELECT @@global.read_only")
            assert cur.fetchone()[0] == 0, "master1 still writable"
        assert all(box.supervisor().states()[name] == "RUNNING" for name in box.config.proxies.normal)
    finally:
        with as_root(box, "M1") as cur:
            cur.execute(f"GRANT READ_ONLY ADMIN ON *.* TO '{user}'@'{host(box)}'")


def test_an_errant_transaction_on_master2(healthy_sandbox: Sandbox) -> None:
    """Last: an errant GTID cannot be taken back."""
    with healthy_sandbox.server("M2").root() as cur:  # root may write despite read_only
        cur.execute("CREATE DATABASE errant_check")
    found = wait_for(
        lambda: [f for f in findings(healthy_sandbox) if "errant GTIDs" in f.problem], 10, "the errant GTID seen"
    )
    assert isinstance(found, list)
    assert {f.node for f in found} >= {"master2"}
    master2 = next(f for f in found if f.node == "master2")
    assert "holds transactions master1 does not have (errant GTIDs: 0-2-" in master2.problem
    assert "rebuild master2 from a backup of master1" in master2.fix, master2.fix


@needs_servers
def test_the_plan_refuses_before_step_1_without_the_grants(make_sandbox: Callable[..., Sandbox]) -> None:
    """The grants go after the daemon started: master1 dies, the failover is refused before any proxy moves;
    once the grant is back, the next cycle fails over."""
    box = make_sandbox(interval=0.5, failures=4)
    wait_for(lambda: log_lines(box).count("ok") >= 4, 30, "the daemon's first checks")
    user = box.config.monitor.credentials.user
    with as_root(box, "M2") as cur:
        cur.execute(f"REVOKE RELOAD, READ_ONLY ADMIN ON *.* FROM '{user}'@'{host(box)}'")
    normal = set(box.config.proxies.normal)
    box.server("M1").kill()
    wait_for(lambda: any("failover NOT STARTED" in line for line in log_lines(box)), 30, "the refusal")
    line = next(line for line in log_lines(box) if "failover NOT STARTED" in line)
    assert line.startswith("master1 failing: failover NOT STARTED, nothing touched: master2: the monitor user")
    assert "lacks RELOAD, READ_ONLY ADMIN" in line and "GRANT RELOAD, READ_ONLY ADMIN ON *.* TO" in line
    states = box.supervisor().states()
    assert all(states[name] == "RUNNING" for name in normal), states
    with box.server("M2").root() as cur:
        cur.execute("SELECT @@global.read_only")
        assert cur.fetchone()[0] == 1, "master2 untouched"
    assert FINISHED not in log_lines(box)
    with as_root(box, "M2") as cur:
        cur.execute(f"GRANT RELOAD, READ_ONLY ADMIN ON *.* TO '{user}'@'{host(box)}'")
    wait_for(lambda: FINISHED in log_lines(box), 30, "the failover once the grants are back")


@needs_servers
def test_sighup_rejects_a_config_naming_a_program_supervisord_lacks(make_sandbox: Callable[..., Sandbox]) -> None:
    box = make_sandbox(interval=0.5, failures=4)
    wait_for(lambda: log_lines(box).count("ok") >= 4, 30, "the daemon's first checks")
    good = box.config_path.read_text()
    data = yaml.safe_load(good)
    data["proxies"]["programs"]["mysql-proxy-ghost"] = {"listen": "127.0.0.1:1", "backends": ["slave3"]}
    box.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    box.supervisor().rpc.supervisor.signalProcess("mysqlcheck", "HUP")
    wait_for(lambda: any("SIGHUP: new config rejected" in line for line in log_lines(box)), 15, "the rejection")
    assert any("proxies.programs.mysql-proxy-ghost: no such program in supervisord" in line for line in log_lines(box))
    assert not any("SIGHUP: config reloaded" in line for line in log_lines(box))
    box.config_path.write_text(good)
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), 30, "a failover with the old config")
