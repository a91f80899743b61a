"""Live checks of accounts and history: the monitor user's grants, the replication and health-check
users, and errant transactions."""

from __future__ import annotations

from typing import Any

import pymysql

from ha.config import Config, Node
from ha.errors import MysqlhaError
from ha.finding import Finding
from ha.mysql import MySQL, cursor
from ha.preflight import every_need, missing_grants


def grants(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    needs = [need for need in every_need(config) if need.node in facts]
    missing, _ = missing_grants(config, mysql, needs)
    return [Finding(m.node, m.sentence().partition(": ")[2], m.fix()) for m in missing]


def login(node: Node, user: str, password: str, timeout: float) -> list[str]:
    """``SHOW GRANTS`` of ``user`` on ``node``; raises pymysql errors."""
    with cursor(
        timeout, timeout, host=node.host, port=node.port, user=user, password=password, ssl_disabled=True
    ) as cur:
        cur.execute("SHOW GRANTS")
        return [str(row[0]) for row in cur.fetchall()]


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
        create = (
            f"on {node.name}: CREATE USER '{credentials.user}'@'<host of the other master>' IDENTIFIED BY '...'; "
            f"GRANT REPLICATION SLAVE ON *.* TO '{credentials.user}'@'<host of the other master>';"
        )
        try:
            rows_ = login(node, credentials.user, credentials.password, config.monitor.connect_timeout + 1)
        except pymysql.err.Error as exc:
            findings.append(
                Finding(
                    node.name,
                    f"the replication user {credentials.user} cannot log in from here "
                    f"({exc.args[0]} {exc.args[1] if len(exc.args) > 1 else ''})",
                    create,
                )
            )
            continue
        if not any("REPLICATION SLAVE" in row.upper() or "ALL PRIVILEGES" in row.upper() for row in rows_):
            findings.append(
                Finding(
                    node.name,
                    f"the replication user {credentials.user} lacks REPLICATION SLAVE",
                    create.split("; ", 1)[1] if "; " in create else create,
                )
            )
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
            login(node, user, "", config.monitor.connect_timeout + 1)
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
                    f"inspect them with `mariadb-binlog` on {node.name}; apply what {master.name} needs there, "
                    f"then rebuild {node.name} from a backup of {master.name} (and keep read_only=ON on replicas)",
                )
            )
    return findings
