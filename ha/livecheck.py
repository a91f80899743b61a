"""What a failover will need, checked on the live servers (the way masterha_check_repl does).

Each finding names the node, says what is wrong and what to run to fix it. A node that does not
answer is skipped here (the layout check reports it unreachable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pymysql

from ha.config import Config, Node
from ha.dialect import detect, pick_default_row
from ha.errors import MysqlhaError
from ha.mysql import MySQL, cursor, rows
from ha.preflight import every_need, missing_grants

SEMI_SYNC_FLOOR_MS = 100  # below this one slow acknowledgement drops master1 to async (a refused failover)


@dataclass(frozen=True)
class Finding:
    node: str
    problem: str
    fix: str
    severity: str = "error"  # or "warning"

    def lines(self) -> list[str]:
        head = "warning: " if self.severity == "warning" else ""
        return [f"{head}{self.node}: {self.problem}", f"  fix: {self.fix}"]

    def to_json(self) -> dict[str, str]:
        return asdict(self)


Check = Callable[[Config, MySQL, dict[str, dict[str, Any]]], list[Finding]]


def live_findings(config: Config, mysql: MySQL) -> list[Finding]:
    """Every live check; the servers' variables are read once per node."""
    facts: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for node in config.nodes.values():
        try:
            facts[node.name] = read_facts(mysql, node)
        except MysqlhaError:
            continue  # the layout check reports it unreachable; its other checks are skipped
    checks: list[Check] = [
        grants,
        binary_logs,
        heartbeats,
        semi_sync,
        gtid_strict,
        replication_user,
        health_user,
        errant,
    ]
    for check in checks:
        findings += check(config, mysql, facts)
    return findings


def read_facts(mysql: MySQL, node: Node) -> dict[str, Any]:
    """The node's variables that matter here, and its replica status row (None when not a replica)."""
    with mysql.session(node) as cur:
        cur.execute("SELECT @@version")
        dialect = detect((cur.fetchone() or ("",))[0])
        cur.execute(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'log_slave_updates', 'log_replica_updates', "
            "'gtid_strict_mode', 'gtid_mode', 'rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled', "
            "'rpl_semi_sync_master_wait_point', 'rpl_semi_sync_source_wait_point', 'rpl_semi_sync_master_timeout', "
            "'rpl_semi_sync_source_timeout')"
        )
        variables = {
            str(k).lower().replace("source", "master").replace("replica", "slave"): v for k, v in cur.fetchall()
        }
        cur.execute(dialect.replica_status_sql())
        replica = pick_default_row(rows(cur))
        heartbeat = None
        if replica is not None and dialect.flavor == "mysql":
            cur.execute("SELECT HEARTBEAT_INTERVAL FROM performance_schema.replication_connection_configuration")
            found = cur.fetchone()
            heartbeat = float(found[0]) if found else None
        elif replica is not None:
            value = replica.get("Slave_heartbeat_period")
            heartbeat = float(value) if value not in (None, "") else None
    return {"dialect": dialect, "vars": variables, "replica": replica, "heartbeat": heartbeat}


def on(value: Any) -> bool:
    return str(value).upper() in ("ON", "1", "YES")


def cnf_fix(node: str, setting: str) -> str:
    return f"set `{setting}` in {node}'s my.cnf ([mariadbd] or [mysqld]) and restart {node}"


def grants(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    needs = [need for need in every_need(config) if need.node in facts]
    missing, _ = missing_grants(config, mysql, needs)
    return [Finding(m.node, m.sentence().partition(": ")[2], m.fix()) for m in missing]


def binary_logs(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """Both masters need a binary log with replicated writes in it: each is the other's source some day."""
    findings = []
    for node in (config.candidate, config.master):
        variables = facts.get(node.name, {}).get("vars")
        if variables is None:
            continue
        if not on(variables.get("log_bin")):
            findings.append(
                Finding(
                    node.name,
                    "log_bin is OFF: once promoted it has no binary log for replicas to follow",
                    cnf_fix(node.name, "log_bin"),
                )
            )
        if not on(variables.get("log_slave_updates")):
            followers = ", ".join(r.name for r in config.replicas_of(node.name)) or "its replicas"
            findings.append(
                Finding(
                    node.name,
                    f"log_slave_updates is OFF: what it replicates never reaches {followers}, and "
                    "after a promotion they cannot be repointed by GTID",
                    cnf_fix(node.name, "log_slave_updates = ON"),
                )
            )
    return findings


def heartbeats(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """A hung source is recognised by silent heartbeats: the period must be well below replica_silence."""
    if not config.failover.ask_replicas:
        return []
    silence, findings = config.failover.replica_silence, []
    for node in config.nodes.values():
        fact = facts.get(node.name)
        if fact is None or fact["replica"] is None or node.role == "master":
            continue
        period = fact["heartbeat"]
        if period is not None and 0 < period <= silence / 2:
            continue
        mariadb = fact["dialect"].flavor == "mariadb"
        change = (
            "STOP SLAVE; CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = 1; START SLAVE;"
            if mariadb
            else "STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_HEARTBEAT_PERIOD = 1; START REPLICA;"
        )
        every = "off" if not period else f"every {period:g} s"
        findings.append(
            Finding(
                node.name,
                f"its replication heartbeat is {every}, not at most half of failover.replica_silence "
                f"({silence:g} s): a hung {node.source} keeps looking alive to it and its vote vetoes the failover",
                f"on {node.name}: {change}",
            )
        )
    return findings


def semi_sync(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """The master acknowledges only what master2 has (AFTER_SYNC), with a timeout that suits the detection."""
    findings = []
    master = config.master.name
    window = config.monitor.failures * config.monitor.interval
    for node in (config.master, config.candidate):
        variables = facts.get(node.name, {}).get("vars")
        if variables is None:
            continue
        point = str(variables.get("rpl_semi_sync_master_wait_point", "")).upper()
        if point and point != "AFTER_SYNC":
            findings.append(
                Finding(
                    node.name,
                    f"semi-sync wait_point is {point}: clients see a commit before the replica has it, "
                    "and a failover then loses what they saw",
                    f"on {node.name}: SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC; and "
                    + cnf_fix(node.name, "rpl_semi_sync_master_wait_point = AFTER_SYNC"),
                )
            )
        if node.name != master or not on(variables.get("rpl_semi_sync_master_enabled")):
            continue
        timeout = int(variables.get("rpl_semi_sync_master_timeout") or 0)
        if timeout < SEMI_SYNC_FLOOR_MS:
            findings.append(
                Finding(
                    node.name,
                    f"rpl_semi_sync_master_timeout is {timeout} ms: one slow acknowledgement drops "
                    f"{master} to async, and the daemon then refuses to promote",
                    f"on {node.name}: SET GLOBAL rpl_semi_sync_master_timeout = 1000;",
                    "warning",
                )
            )
        elif timeout > window * 1000:
            findings.append(
                Finding(
                    node.name,
                    f"rpl_semi_sync_master_timeout is {timeout} ms: with {config.candidate.name} gone "
                    f"every commit waits that long, longer than the daemon needs to notice "
                    f"(failures x interval = {window:g} s)",
                    f"on {node.name}: SET GLOBAL rpl_semi_sync_master_timeout = {int(window * 500)};",
                    "warning",
                )
            )
    return findings


def gtid_strict(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    findings = []
    for name, fact in facts.items():
        variables = fact["vars"]
        if fact["dialect"].flavor == "mariadb" and not on(variables.get("gtid_strict_mode")):
            findings.append(
                Finding(
                    name,
                    "gtid_strict_mode is OFF: a replica may apply transactions out of order or "
                    "hold extra ones unnoticed, and promotion by GTID is no longer exact",
                    f"on {name}: SET GLOBAL gtid_strict_mode = ON; and " + cnf_fix(name, "gtid_strict_mode = ON"),
                )
            )
        if fact["dialect"].flavor == "mysql" and str(variables.get("gtid_mode", "")).upper() != "ON":
            findings.append(
                Finding(
                    name,
                    "gtid_mode is not ON: mysqlha promotes and repoints by GTID",
                    cnf_fix(name, "gtid_mode = ON, enforce_gtid_consistency = ON"),
                )
            )
    return findings


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
