"""What makes four empty servers the seed topology: role settings, users, replication."""

from __future__ import annotations

from ha.config import Config, Node
from ha.mysql import dialect_of
from ha.sandbox.mariadb import Server

# What the daemon needs: check replication, stop and reset it (RESET SLAVE ALL wants RELOAD),
# switch semi-sync roles, set read_only; see and end the sessions stuck waiting for a semi-sync
# ACK when fencing (PROCESS, CONNECTION ADMIN). No privilege on any data.
MONITOR_GRANTS = (
    "SLAVE MONITOR, BINLOG MONITOR, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN, RELOAD,"
    " PROCESS, CONNECTION ADMIN"
)


def build_servers(
    servers: list[Server],
    config: Config,
    passwords: dict[str, str],
    semi_sync_timeout_ms: int,
    heartbeat: float | None = None,
    client_host: str = "127.0.0.1",
    extra: dict[str, object] | None = None,
) -> None:
    """Initialise one datadir, copy it to the others, start all, create users, wire replication.

    ``heartbeat`` None keeps the server's default period (slave_net_timeout / 2 = 30 s as shipped);
    ``client_host`` is the host part of every account (where the clients connect from);
    ``extra`` goes into every my.cnf (TLS files, say).
    """
    for server in servers:
        server.write_cnf({**role_settings(server.node, config, semi_sync_timeout_ms), **(extra or {})})
    first, *rest = servers
    if not (first.home / "data" / "mysql").exists():
        first.install()
        for server in rest:
            server.copy_datadir_from(first)
    for server in servers:
        server.start()
    for server in servers:
        server.wait_ready()
    for server in servers:
        with server.root() as cur:
            for statement in bootstrap_sql(config, passwords, client_host):
                cur.execute(statement)
    user = config.replication.user if config.replication else "repl"
    for server in servers:
        if server.node.source is None:
            continue
        source = config.nodes[server.node.source]
        with server.root() as cur:
            dialect = dialect_of(cur)
            cur.execute(dialect.stop_replica_sql())
            cur.execute(dialect.change_source_sql(heartbeat), (source.host, source.port, user, passwords["repl"]))
            cur.execute(dialect.start_replica_sql())


def role_settings(node: Node, config: Config, semi_sync_timeout_ms: int) -> dict[str, object]:
    """my.cnf settings of each role: semi-sync source on the master, semi-sync replica on the candidate."""
    if node.role == "master":
        return {
            "read_only": "OFF",
            "rpl_semi_sync_master_enabled": "ON",
            "rpl_semi_sync_master_timeout": semi_sync_timeout_ms,
            "rpl_semi_sync_master_wait_point": "AFTER_SYNC",
        }
    settings: dict[str, object] = {"read_only": "ON"}
    if node.role == "candidate":
        settings["rpl_semi_sync_slave_enabled"] = "ON"
        settings["rpl_semi_sync_master_timeout"] = semi_sync_timeout_ms
        settings["rpl_semi_sync_master_wait_point"] = "AFTER_SYNC"
    return settings


def bootstrap_sql(config: Config, passwords: dict[str, str], host: str = "127.0.0.1") -> list[str]:
    """Users and the app schema, written with binary logging off so every GTID history starts empty."""
    monitor = config.monitor.credentials.user
    repl = config.replication.user if config.replication else "repl"
    check_user = config.proxies.health_check_user
    statements = [
        "SET SESSION sql_log_bin = 0",
        f"CREATE USER IF NOT EXISTS '{monitor}'@'{host}' IDENTIFIED BY '{passwords['monitor']}'",
        f"GRANT {MONITOR_GRANTS} ON *.* TO '{monitor}'@'{host}'",
        f"CREATE USER IF NOT EXISTS '{repl}'@'{host}' IDENTIFIED BY '{passwords['repl']}'",
        f"GRANT REPLICATION SLAVE ON *.* TO '{repl}'@'{host}'",
        f"CREATE USER IF NOT EXISTS 'app'@'{host}' IDENTIFIED BY '{passwords['app']}'",
        f"GRANT ALL ON app.* TO 'app'@'{host}'",
        "CREATE DATABASE IF NOT EXISTS app",
    ]
    if check_user:
        statements.append(f"CREATE USER IF NOT EXISTS '{check_user}'@'{host}'")
    return statements
