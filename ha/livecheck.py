"""What a failover will need, checked on the live servers (the way masterha_check_repl does).

Each finding names the node, says what is wrong and what to run to fix it. A node that does not
answer is skipped here (the layout check reports it unreachable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ha.config import Config, Node
from ha.dialect import detect, pick_default_row
from ha.errors import MysqlhaError
from ha.finding import Finding
from ha.liveusers import errant, grants, health_user, replication_user
from ha.mysql import MySQL, rows

SEMI_SYNC_FLOOR_MS = 100  # below this one slow acknowledgement drops master1 to async (a refused failover)


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
    return {"dialect": dialect, "vars": variables, "replica": replica}


def on(value: Any) -> bool:
    return str(value).upper() in ("ON", "1", "YES")


def cnf_fix(node: str, setting: str) -> str:
    return f"set `{setting}` in {node}'s my.cnf ([mariadbd] or [mysqld]) and restart {node}"


def persist(node: str, setting: str) -> str:
    return f"; and set `{setting}` in {node}'s my.cnf so a restart keeps it"


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


def semi_sync(config: Config, mysql: MySQL, facts: dict[str, dict[str, Any]]) -> list[Finding]:
    """The master acknowledges only what master2 has (AFTER_SYNC), with a timeout that suits the detection."""
    findings = []
    master = config.master.name
    window = config.monitor.window
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
                    f"on {node.name}: SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC"
                    + persist(node.name, "rpl_semi_sync_master_wait_point = AFTER_SYNC"),
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
                    f"(failures x recheck_interval = {window:g} s)",
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
                    f"on {name}: SET GLOBAL gtid_strict_mode = ON" + persist(name, "gtid_strict_mode = ON"),
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
