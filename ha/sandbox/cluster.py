"""The sandbox: four MariaDB servers, supervisord and its HAProxy programs, in one directory."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import yaml

from ha.config import Config, load_config
from ha.errors import MysqlhaError
from ha.invocation import me
from ha.mysql import cursor, dialect_of, one, wait_running
from ha.render import DAEMON_PROGRAM, write_proxy_files
from ha.sandbox.mariadb import Server, binary, process_state, read_pid, wait_gone
from ha.sandbox.monitors import monitor_programs, start_etcd, stop_etcd, write_monitor_configs
from ha.sandbox.ports import (
    CLASSIC_PROXY_PORTS,
    busy_ports_message,
    free_base_port,
    free_host_block,
    layout_free,
    port_free,
    port_holder,
    suggested_base_port,
)
from ha.sandbox.supervisord import start_supervisord, stop_supervisord, supervisord_conf
from ha.sandbox.topology import example_topology, sandbox_config, write_secrets, write_yaml
from ha.sandbox.wiring import build_servers
from ha.supervisor import Supervisor

ALIASES = {"M1": "master", "M2": "candidate"}
__all__ = [  # the port helpers live in ha.sandbox.ports; callers import them from here too
    "CLASSIC_PROXY_PORTS",
    "Sandbox",
    "busy_ports_message",
    "free_base_port",
    "free_host_block",
    "layout_free",
    "port_free",
    "port_holder",
    "suggested_base_port",
]


def say(line: str) -> None:
    """The sandbox's progress lines: on stderr, flushed, so they stay in order with errors when piped."""
    print(line, file=sys.stderr, flush=True)


class Sandbox:
    """A sandbox lives in ``directory``; every command finds its processes by pid files there."""

    def __init__(self, directory: str | os.PathLike[str], log: Callable[[str], None] = say) -> None:
        self.directory = Path(directory).resolve()
        self.log = log
        self._config: Config | None = None

    # -- what it is made of -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.directory / "mysqlha.yml"

    @property
    def config(self) -> Config:
        if self._config is None:
            if not self.config_path.exists():
                raise MysqlhaError(f"no sandbox in {self.directory} (no mysqlha.yml)")
            self._config = load_config(self.config_path)
        return self._config

    @property
    def supervisord_conf(self) -> Path:
        return self.directory / "supervisord.conf"

    @property
    def supervisord_pid_file(self) -> Path:
        return self.directory / "supervisord.pid"

    @property
    def layout_path(self) -> Path:
        return self.directory / "layout.json"

    def layout(self) -> dict[str, object]:
        """How the sandbox was laid out: accounts' client host, heartbeat, per-node network namespace."""
        try:
            data = json.loads(self.layout_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def servers(self) -> dict[str, Server]:
        netns = self.layout().get("netns") or {}
        assert isinstance(netns, dict)
        return {
            node.name: Server(
                node,
                self.directory / "nodes" / node.name,
                index + 1,
                ("ip", "netns", "exec", netns[node.name]) if node.name in netns else (),
            )
            for index, node in enumerate(self.config.nodes.values())
        }

    def node_of(self, cur: pymysql.cursors.Cursor) -> str:
        """The node a session is connected to, by server_id (ports alone do not tell them apart)."""
        cur.execute("SELECT @@server_id")
        (server_id,) = cur.fetchone() or (None,)
        return next(s.node.name for s in self.servers().values() if s.server_id == server_id)

    def server(self, name: str) -> Server:
        """A server by node name, or by M1/M2/S1/S2."""
        config = self.config
        if name.upper() in ALIASES:
            name = config.with_role(ALIASES[name.upper()]).name
        elif name.upper() in ("S1", "S2"):
            source = config.master if name.upper() == "S1" else config.candidate
            name = next(n.name for n in config.replicas_of(source.name) if n.role == "replica")
        servers = self.servers()
        if name not in servers:
            raise MysqlhaError(f"unknown node {name!r}; expected one of {sorted(servers)} or M1, M2, S1, S2")
        return servers[name]

    def supervisor(self) -> Supervisor:
        return Supervisor(self.config.supervisor)

    def password(self, name: str) -> str:
        return (self.directory / "secrets" / f"{name}.password").read_text().strip()

    # -- up -----------------------------------------------------------------------------
    def up(
        self,
        topology: str | os.PathLike[str] | None = None,
        base_port: int | None = None,
        interval: float | None = None,
        failures: int | None = None,
        daemon: bool = True,
        semi_sync_timeout_ms: int = 1000,
        hosts: str | None = None,
        heartbeat: float | None = 1.0,
        netns: dict[str, str] | None = None,
        client_host: str | None = None,
        tls: dict[str, str] | None = None,
        monitors: int = 1,
        monitor_hosts: dict[str, list[Any]] | None = None,
    ) -> float:
        """Build, start and verify the sandbox; on any failure stop what was started and raise.

        Shapes: ports (``base_port``: every node on 127.0.0.1, its own port), same port own
        address (``hosts``: a prefix a.b.c; nodes on .11-.14:3306, proxies on .1), and, with
        ``netns`` (node -> network namespace), each server started inside its namespace.
        ``heartbeat`` is the replication heartbeat period the sandbox sets (None: the server's
        default, slave_net_timeout / 2 = 30 s). ``tls`` (ca, cert, key: file paths) turns TLS on
        in every server and gives the monitor ``tls_ca``.
        """
        started = time.monotonic()
        for tool in ("mariadbd", "mariadb-install-db", "haproxy", "supervisord"):
            binary(tool)
        if self.config_path.exists() and self.running():
            stop = f"{me()} sandbox --dir {self.directory} down"
            raise MysqlhaError(f"a sandbox is already running in {self.directory}: run `{stop}` first")
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "logs").mkdir(exist_ok=True)
        passwords = write_secrets(self.directory)
        template = yaml.safe_load(Path(topology or example_topology()).read_text())
        data = sandbox_config(template, self.directory, base_port, interval, failures, hosts)
        if tls:
            data["monitor"]["tls_ca"] = tls["ca"]
        write_yaml(data, self.config_path)
        client_host = client_host or ("127.%" if hosts else "127.0.0.1")
        layout = {"client_host": client_host, "heartbeat": heartbeat, "netns": netns or {}}
        self.layout_path.write_text(json.dumps(layout, indent=2) + "\n")
        self._config = None
        config = self.config
        busy = [(host, port) for host, port in self._ports() if not port_free(host, port)] if not netns else []
        if busy:
            raise MysqlhaError(busy_ports_message(busy))
        if heartbeat is None:
            self.log("replication heartbeat: the server's default (slave_net_timeout / 2 = 30 s as shipped)")
        else:
            self.log(
                f"replication heartbeat TUNED: MASTER_HEARTBEAT_PERIOD={heartbeat:g} "
                "(MariaDB's default is slave_net_timeout / 2 = 30 s)"
            )
        try:
            servers = list(self.servers().values())
            files: dict[str, object] | None = None
            if tls:
                files = {"ssl_ca": tls["ca"], "ssl_cert": tls["cert"], "ssl_key": tls["key"]}
            build_servers(servers, config, passwords, semi_sync_timeout_ms, heartbeat, client_host, files)
            write_proxy_files(config, config.proxies.config_dir)
            programs = None
            if monitors > 1 or monitor_hosts:  # several monitors: etcd, one config and one program each
                etcd = start_etcd(self.directory, monitor_hosts)
                count = len(monitor_hosts) if monitor_hosts else monitors
                paths = write_monitor_configs(self.directory, self.config_path, etcd.endpoints, count)
                programs = monitor_programs(config, paths, daemon, monitor_hosts)
            self.supervisord_conf.write_text(supervisord_conf(self.directory, config, daemon, programs))
            start_supervisord(self.supervisord_conf, self.supervisor(), config)
            self.verify()
        except BaseException:
            self.log("sandbox up failed; stopping what was started")
            self.down()
            raise
        return time.monotonic() - started

    def _ports(self) -> list[tuple[str, int]]:
        nodes = [(n.host, n.port) for n in self.config.nodes.values()]
        return nodes + sorted({(p.listen_host, p.listen_port) for p in self.config.proxies.programs.values()})

    # -- verify -------------------------------------------------------------------------
    def verify(self, timeout: float = 20.0) -> None:
        """Semi-sync on with one client, replicas running, a row written via the master port read via the read ports."""
        config = self.config
        servers = self.servers()
        master = servers[config.master.name]
        deadline = time.monotonic() + timeout
        while True:
            with master.root() as cur:
                cur.execute(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN "
                    "('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')"
                )
                status = dict(cur.fetchall())
            if status.get("Rpl_semi_sync_master_status") == "ON" and status.get("Rpl_semi_sync_master_clients") == "1":
                break
            if time.monotonic() > deadline:
                raise MysqlhaError(f"{master.node.name}: semi-sync not on with one client: {status}")
            time.sleep(0.05)
        for server in servers.values():
            if server.node.source is not None:
                self.wait_replicating(server, deadline - time.monotonic())
        write_program, *_ = [config.proxies.programs[n] for n in config.proxies.normal]
        with self.app(write_program.listen_host, write_program.listen_port) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS sandbox_check (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64))"
            )
            cur.execute("INSERT INTO sandbox_check (note) VALUES ('written through the master proxy')")
            row_id = cur.lastrowid
            cur.execute("SELECT @@last_gtid")
            (gtid,) = one(cur)
            reached = self.node_of(cur)
        if reached != config.master.name:
            raise MysqlhaError(f"{write_program.name} reached {reached}, expected {config.master.name}")
        for server in servers.values():
            if server.node.source is None:
                continue
            wait = max(1.0, deadline - time.monotonic())
            with server.root(timeout=wait + 5) as cur:
                cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (gtid, wait))
                if one(cur)[0] != 0:
                    raise MysqlhaError(f"{server.node.name} did not receive {gtid}")
        for name in config.proxies.normal:
            program = config.proxies.programs[name]
            for _ in range(len(program.backends)):
                with self.app(program.listen_host, program.listen_port) as cur:
                    cur.execute("SELECT COUNT(*) FROM sandbox_check WHERE id = %s", (row_id,))
                    (count,) = one(cur)
                    answered = self.node_of(cur)
                if answered not in program.backends or count != 1:
                    expected = ", ".join(program.backends)
                    raise MysqlhaError(f"{name} answered from {answered} with {count} rows; expected {expected}")

    def wait_replicating(self, server: Server, timeout: float) -> None:
        with server.root(timeout=timeout + 5) as cur:
            wait_running(cur, dialect_of(cur), server.node, timeout)

    @contextmanager
    def app(self, host: str, port: int, timeout: float = 5.0) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor as the sandbox's application user, through a proxy port."""
        with cursor(
            timeout,
            timeout,
            host=host,
            port=port,
            user="app",
            password=self.password("app"),
            database="app",
            ssl_disabled=True,
        ) as cur:
            yield cur

    # -- down, status -------------------------------------------------------------------
    def running(self) -> bool:
        pids = [s.pid() for s in self.servers().values()] + [read_pid(self.supervisord_pid_file)]
        return any(pid is not None for pid in pids)

    def down(self) -> float:
        """Stop supervisord (programs first) and every server, by pid; remove nothing."""
        started = time.monotonic()
        stop_supervisord(self.supervisord_pid_file, self.supervisor, self.log)
        stop_etcd(self.directory)
        servers = list(self.servers().values()) if self.config_path.exists() else []
        pids = {}
        for server in servers:
            pid = server.pid()
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
                pids[server.node.name] = pid
        for name, pid in pids.items():
            if not wait_gone(pid, 60):
                self.log(f"{name} (pid {pid}) ignored SIGTERM for 60 s: SIGKILL")
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 10)
        return time.monotonic() - started

    def status(self) -> list[str]:
        lines = []
        for server in self.servers().values():
            pid = server.pid()
            state = "down"
            if pid is not None:
                state = f"frozen (pid {pid})" if process_state(pid) == "T" else f"running (pid {pid})"
            node = server.node
            lines.append(f"{node.name:10} {node.role:9} {node.host}:{node.port:<5} {state}")
        pid = read_pid(self.supervisord_pid_file)
        if pid is None:
            lines.append("supervisord down")
            return lines
        lines.append(f"supervisord running (pid {pid}), {self.config.supervisor.url}")
        try:
            states = self.supervisor().states()
        except MysqlhaError as exc:
            return [*lines, f"  {exc}"]
        programs = self.config.proxies.programs
        for name, state in sorted(states.items()):
            where = f"{programs[name].listen} -> {', '.join(programs[name].backends)}" if name in programs else ""
            lines.append(f"  {name:30} {state:9} {where}")
        return lines

    def mysqlcheck_log(self) -> Path:
        return Path(self.config.proxies.log_dir) / f"{DAEMON_PROGRAM}.log"
