"""The sandbox builds the topology it claims: real servers, real supervisord, real HAProxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pymysql
import pytest
from conftest import needs_servers, wait_for

from ha.errors import MysqlhaError
from ha.mysql import rows
from ha.sandbox.cluster import Sandbox, free_base_port
from ha.sandbox.mariadb import process_alive

pytestmark = needs_servers


def variables(box: Sandbox, node: str, *names: str) -> tuple:
    with box.server(node).root() as cur:
        cur.execute("SELECT " + ", ".join(f"@@global.{n}" for n in names))
        return cur.fetchone()


def test_read_only_flags_and_identity(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    expected = {"M1": 0, "M2": 1, "S1": 1, "S2": 1}
    ids = set()
    for alias, read_only in expected.items():
        value, server_id, log_bin, log_slave_updates = variables(
            box, alias, "read_only", "server_id", "log_bin", "log_slave_updates"
        )
        assert value == read_only, alias
        assert log_bin == 1 and log_slave_updates == 1
        ids.add(server_id)
    assert len(ids) == 4


def test_replication_sources_use_gtid(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    config = box.config
    for node in config.nodes.values():
        with box.server(node.name).root() as cur:
            cur.execute("SHOW SLAVE STATUS")
            status = rows(cur)[0] if cur.rowcount else None
        if node.source is None:
            assert status is None
            continue
        assert status is not None
        source = config.nodes[node.source]
        assert (status["Master_Host"], status["Master_Port"]) == (source.host, source.port), node.name
        assert status["Using_Gtid"] == "Slave_Pos"
        assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"


def test_semi_sync_between_m1_and_m2_only(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    with box.server("M1").root() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'")
        status = dict(cur.fetchall())
    assert status["Rpl_semi_sync_master_status"] == "ON"
    assert status["Rpl_semi_sync_master_clients"] == "1"
    assert variables(box, "M1", "rpl_semi_sync_master_wait_point") == ("AFTER_SYNC",)
    for alias, expected in {"M2": "ON", "S1": "OFF", "S2": "OFF"}.items():
        with box.server(alias).root() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'")
            assert cur.fetchone()[1] == expected, alias


def test_every_proxy_program_routes_as_named(healthy_sandbox: Sandbox) -> None:
    """Each program, started alone on its port, answers from exactly its backends."""
    box = healthy_sandbox
    config = box.config
    supervisor = box.supervisor()
    try:
        supervisor.stop(config.proxies.normal)
        for program in config.proxies.programs.values():
            supervisor.start([program])
            seen = set()
            for _ in range(3 * len(program.backends)):
                with box.app(program.listen_host, program.listen_port) as cur:
                    seen.add(box.node_of(cur))
            assert seen == set(program.backends), program.name
            supervisor.stop([program.name])
    finally:
        supervisor.stop(config.all_programs())
        supervisor.start([config.proxies.programs[n] for n in config.proxies.normal])


def test_second_proxy_on_a_port_fails_loudly(healthy_sandbox: Sandbox) -> None:
    """noreuseport: a failover proxy must not share a port with the running normal one."""
    config = healthy_sandbox.config
    supervisor = healthy_sandbox.supervisor()
    with pytest.raises(MysqlhaError, match="already served"):
        supervisor.start([config.proxies.programs["mysql-proxy-master-failover1"]])
    supervisor.rpc.supervisor.startProcess("mysql-proxy-master-failover1", False)
    wait_for(lambda: supervisor.state("mysql-proxy-master-failover1") in ("EXITED", "FATAL"), 10, "bind failure")
    assert supervisor.state("mysql-proxy-master1") == "RUNNING"


def test_monitor_user_cannot_write_data(healthy_sandbox: Sandbox) -> None:
    config = healthy_sandbox.config
    master = config.master
    conn = pymysql.connect(
        host=master.host,
        port=master.port,
        user=config.monitor.credentials.user,
        password=config.monitor.credentials.password,
        connect_timeout=5,
        read_timeout=5,
        ssl_disabled=True,
    )
    with conn, conn.cursor() as cur, pytest.raises(pymysql.err.OperationalError):
        cur.execute("CREATE TABLE app.forbidden (id INT)")


def test_freeze_and_thaw_a_server(healthy_sandbox: Sandbox) -> None:
    server = healthy_sandbox.server("S2")
    pid = server.signal(signal.SIGSTOP)
    try:
        assert "frozen" in "\n".join(healthy_sandbox.status())
        with pytest.raises(pymysql.err.OperationalError) as caught:
            node = server.node
            pymysql.connect(host=node.host, port=node.port, user="x", connect_timeout=0.5, read_timeout=0.5)
        assert caught.value.args[0] == 2013
    finally:
        os.kill(pid, signal.SIGCONT)
    server.wait_ready()


def test_stop_and_start_a_replica_resumes_replication(healthy_sandbox: Sandbox) -> None:
    box = healthy_sandbox
    server = box.server("S1")
    server.stop()
    assert server.pid() is None
    server.start()
    server.wait_ready()
    box.wait_replicating(server, 30)


def test_up_refuses_busy_ports_and_leaves_nothing_running(healthy_sandbox: Sandbox, tmp_path) -> None:
    taken = healthy_sandbox.config.master.host.rpartition(".")[0]
    other = Sandbox(tmp_path / "other", log=lambda line: None)
    with pytest.raises(MysqlhaError, match="ports in use"):
        other.up(hosts=taken)
    assert not other.running()


def test_default_shape_is_same_port_own_address_with_the_shipped_heartbeat(healthy_sandbox: Sandbox) -> None:
    """Lab shape 1: every server on 3306 of its own address, Master_Host that address, proxies on .1."""
    config = healthy_sandbox.config
    prefix = config.master.host.rpartition(".")[0]
    assert {n.port for n in config.nodes.values()} == {3306}
    assert sorted(n.host for n in config.nodes.values()) == [f"{prefix}.{i}" for i in range(11, 15)]
    assert {p.listen for p in config.proxies.programs.values()} == {f"{prefix}.1:{p}" for p in (3031, 3032, 3041, 3042)}
    for alias in ("M2", "S1", "S2"):
        with healthy_sandbox.server(alias).root() as cur:
            cur.execute("SHOW ALL SLAVES STATUS")
            period = rows(cur)[0]["Slave_heartbeat_period"]
            cur.execute("SELECT @@global.slave_net_timeout")
            assert float(period) == cur.fetchone()[0] / 2, "tests run with the heartbeat as the server ships it"


def test_cli_up_status_down(tmp_path) -> None:
    """The commands a user types: up prints what it built, down stops every pid."""
    base = free_base_port()
    command = [sys.executable, "-m", "ha", "sandbox", "--dir", str(tmp_path / "box")]
    box = Sandbox(tmp_path / "box", log=lambda line: None)
    try:
        up = subprocess.run(
            [*command, "up", "--base-port", str(base), "--no-daemon"], capture_output=True, text=True, timeout=120
        )
        assert up.returncode == 0, up.stderr
        assert "up and verified" in up.stdout and f"127.0.0.1:{base + 10}" in up.stdout
        assert "replication heartbeat TUNED: MASTER_HEARTBEAT_PERIOD=1" in up.stderr, "the sandbox says it tunes it"
        status = subprocess.run([*command, "status"], capture_output=True, text=True, timeout=30)
        assert status.stdout.count("running (pid") == 5  # four servers and supervisord
        pids = [s.pid() for s in box.servers().values()]
        down = subprocess.run([*command, "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        wait_for(lambda: not any(process_alive(p) for p in pids if p), 10, "servers gone")
        assert (tmp_path / "box" / "nodes").exists(), "down removes nothing"
    finally:
        box.down()
