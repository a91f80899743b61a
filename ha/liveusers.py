"""Live checks of accounts and history: the monitor user's grants, the replication and health-check
users, and errant transactions."""

from __future__ import annotations

from typing import Any

import pymysql

from ha.config import Config, Node
from ha.errors import MysqlhaError, NodeAnsweredError
from ha.finding import Finding
from ha.mysql import MySQL, cursor
from ha.preflight import every_need, missing_grants
from ha.sqlbasics import CR_SSL_CONNECTION_ERROR, tls_options


def grants(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    needs = [need for need in every_need(config) if need.node in facts]
    missing, _ = missing_grants(config, mysql, needs)
    return [Finding(m.node, m.problem(), m.fix()) for m in missing]


def login(config: Config, node: Node, user: str, password: str) -> list[str]:
    """``SHOW GRANTS`` of ``user`` on ``node``, with the monitor's timeouts and TLS; raises pymysql errors."""
    monitor = config.monitor
    connect = {"host": node.host, "port": node.port, "user": user, "password": password, **tls_options(monitor)}
    try:
        with cursor(monitor.connect_timeout, monitor.read_timeout, **connect) as cur:
            cur.execute("SHOW GRANTS")
            return [str(row[0]) for row in cur.fetchall()]
    except NodeAnsweredError as exc:  # a plaintext session: a finding like any other login error (2026: TLS)
        raise pymysql.err.OperationalError(CR_SSL_CONNECTION_ERROR, str(exc)) from exc


def replication_user(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """Failback makes master1 replicate from master2: the replication user must exist there too."""
    if config.replication is None:
        return [
            Finding(
                config.candidate.name,
                "no replication user in the config: failback and repointing need one",
                "add a replication section (user, password_file) to the config",
                "warning",
            )
        ]
    credentials, findings = config.replication, []
    for node in (config.candidate, config.master):
        if node.name not in facts:
            continue
        account = f"'{credentials.user}'@'<host of the other master>'"
        grant = f"GRANT REPLICATION SLAVE ON *.* TO {account};"
        create = f"on {node.name}: CREATE USER {account} IDENTIFIED BY '...'; {grant}"
        try:
            granted = login(config, node, credentials.user, credentials.password)
        except pymysql.err.Error as exc:
            code = exc.args[0] if exc.args else "?"
            why = f"the replication user {credentials.user} cannot log in from here ({code})"
            findings.append(Finding(node.name, why, create))
            continue
        if not any("REPLICATION SLAVE" in row.upper() or "ALL PRIVILEGES" in row.upper() for row in granted):
            lacks = f"the replication user {credentials.user} lacks REPLICATION SLAVE"
            findings.append(Finding(node.name, lacks, f"on {node.name}: {grant}"))
    return findings


def health_user(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """HAProxy's mysql-check logs in without a password: it must be able to, on every backend."""
    user = config.proxies.health_check_user
    if not user:
        return []
    backends = {b for p in config.proxies.programs.values() for b in p.backends}
    hosts = {p.listen_host for p in config.proxies.programs.values()}
    host = hosts.pop() if len(hosts) == 1 and not hosts & {"", "*", "0.0.0.0", "::"} else "<the proxies' host>"
    findings = []
    for name in sorted(backends):
        if name not in facts:
            continue
        node = config.nodes[name]
        try:
            login(config, node, user, "")
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in (2003, 2013):
                continue
            findings.append(
                Finding(
                    name,
                    f"HAProxy's health check user {user} cannot log in ({exc.args[0]}): "
                    "every proxy marks this backend down",
                    f"on {name}: CREATE USER '{user}'@'{host}';  -- no password, no privileges",
                )
            )
    return findings


def errant(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """Transactions a node holds that the master never had: promotion or repointing would trip on them."""
    master, findings = config.master, []
    if master.name not in facts:
        return []
    for node in config.nodes.values():
        if node.name == master.name or node.name not in facts:
            continue
        try:
            extra = mysql.errant(node, master)
        except MysqlhaError:
            continue
        if extra:
            findings.append(
                Finding(
                    node.name,
                    f"holds transactions {master.name} does not have (errant GTIDs: {extra}): "
                    "a promotion or repointing by GTID trips on them",
                    f"inspect them in {node.name}'s binary log (mariadb-binlog / mysqlbinlog); replay through "
                    f"{master.name} what must be kept, then rebuild {node.name} from a backup of {master.name}; "
                    "keep replicas read_only and give applications no READ_ONLY ADMIN / SUPER",
                )
            )
    return findings
