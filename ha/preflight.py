"""Can the monitor user run every statement a plan needs, on the nodes that will run it?

Checked at daemon start, on SIGHUP, by check-config, and before step 1 of every plan: a failover
that stopped the write proxies and then met error 1227 at ``RESET SLAVE ALL`` leaves writes down
until an operator comes. The answer comes from ``SHOW GRANTS`` on each node (global grants).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ha.config import Config, Node
from ha.dialect import Dialect, detect
from ha.errors import MysqlhaError, NodeUnreachable
from ha.mysql import MySQL

# what each kind of statement needs, by flavor (MariaDB: checked on 10.11 one privilege at a time);
# SUPER also does, except RELOAD, and on MariaDB 10.11+ except READ_ONLY ADMIN (MDEV-29596)
STATEMENTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "replica status": {
        "mariadb": ("SHOW ALL SLAVES STATUS", ("SLAVE MONITOR",)),
        "mysql": ("SHOW REPLICA STATUS", ("REPLICATION CLIENT",)),
    },
    "replication control": {
        "mariadb": ("STOP/START SLAVE, CHANGE MASTER", ("REPLICATION SLAVE ADMIN",)),
        "mysql": ("STOP/START REPLICA, CHANGE REPLICATION SOURCE", ("REPLICATION_SLAVE_ADMIN",)),
    },
    "reset replica": {
        "mariadb": ("RESET SLAVE ALL", ("RELOAD",)),
        "mysql": ("RESET REPLICA ALL", ("RELOAD",)),
    },
    "semi-sync source": {
        "mariadb": ("SET GLOBAL rpl_semi_sync_master_enabled", ("REPLICATION MASTER ADMIN",)),
        "mysql": ("SET GLOBAL rpl_semi_sync_source_enabled", ("SYSTEM_VARIABLES_ADMIN",)),
    },
    "semi-sync replica": {
        "mariadb": ("SET GLOBAL rpl_semi_sync_slave_enabled", ("REPLICATION SLAVE ADMIN",)),
        "mysql": ("SET GLOBAL rpl_semi_sync_replica_enabled", ("SYSTEM_VARIABLES_ADMIN",)),
    },
    "read only": {
        "mariadb": ("SET GLOBAL read_only", ("READ_ONLY ADMIN",)),
        "mysql": ("SET GLOBAL super_read_only", ("SYSTEM_VARIABLES_ADMIN",)),
    },
    "end sessions": {  # a fence ends the sessions waiting for a semi-sync ACK nobody will send
        "mariadb": ("SHOW PROCESSLIST, KILL CONNECTION", ("PROCESS", "CONNECTION ADMIN")),
        "mysql": ("SHOW PROCESSLIST, KILL", ("PROCESS", "CONNECTION_ADMIN")),
    },
}
# what each action of a plan runs (the status reads, GTID positions and waits need no privilege)
ACTIONS: dict[str, tuple[str, ...]] = {
    "watch": ("replica status",),
    "promote": (
        "replica status",
        "replication control",
        "reset replica",
        "semi-sync source",
        "semi-sync replica",
        "read only",
    ),
    "fence": ("read only", "end sessions"),
    "rejoin": ("replica status", "replication control", "semi-sync source", "semi-sync replica"),
    "semi-sync source": ("semi-sync source",),
}
ALIASES = {
    "REPLICA MONITOR": "SLAVE MONITOR",
    "REPLICATION CLIENT": "BINLOG MONITOR",
    "REPLICATION REPLICA ADMIN": "REPLICATION SLAVE ADMIN",
    "READ ONLY ADMIN": "READ_ONLY ADMIN",
}
GLOBAL_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON \*\.\* TO ", re.IGNORECASE)


@dataclass(frozen=True)
class Need:
    """``node`` runs ``action`` as part of ``what``; a best-effort step (repointing) is not ``required``."""

    node: str
    action: str
    what: str
    required: bool = True


@dataclass(frozen=True)
class MissingGrant:
    node: str
    account: str  # 'user'@'host' as the server names it
    privileges: tuple[str, ...]
    statements: tuple[str, ...]
    what: tuple[str, ...]

    def problem(self) -> str:
        return (
            f"the monitor user {self.account} lacks {', '.join(self.privileges)}, needed for "
            f"{', '.join(self.statements)} ({'; '.join(self.what)})"
        )

    def sentence(self) -> str:
        return f"{self.node}: {self.problem()}"

    def fix(self) -> str:
        return f"on {self.node}: GRANT {', '.join(self.privileges)} ON *.* TO {self.account};"


def plan_needs(case: str, config: Config) -> list[Need]:
    """What one plan runs where, following ha/plans.py step by step.

    The failed node is included (fencing it); callers skip it when it does not answer.
    """
    master, candidate = config.master.name, config.candidate.name
    if case == "master_down":
        needs = [Need(candidate, "promote", f"promote {candidate}"), Need(master, "fence", f"fence {master}")]
        return needs + _repoint(config, case, [r.name for r in config.replicas_of(master) if r.name != candidate])
    if case == "candidate_down":
        # best effort: master1 commits asynchronously at once instead of after the semi-sync timeout
        asynchronous = Need(master, "semi-sync source", f"{case}: semi-sync off at {master}", required=False)
        return [asynchronous, *_repoint(config, case, [r.name for r in config.replicas_of(candidate)])]
    if case == "switchover":
        return _switch(case, master, candidate)
    if case == "failback_candidate":
        return _rejoin(case, candidate, master) + _restore(config, case)
    needs = _rejoin(case, master, candidate)  # rejoin_master, failback_master
    if case == "failback_master":
        needs += _switch(case, candidate, master)
    return needs + _restore(config, case)


def _switch(case: str, old: str, new: str) -> list[Need]:
    return [
        Need(old, "fence", f"{case}: fence {old}"),
        Need(new, "promote", f"{case}: promote {new}"),
        Need(old, "rejoin", f"{case}: make {old} a replica of {new}"),
        Need(new, "semi-sync source", f"{case}: semi-sync on at {new}"),
    ]


def _rejoin(case: str, node: str, under: str) -> list[Need]:
    return [
        Need(node, "fence", f"{case}: fence {node}"),
        Need(node, "rejoin", f"{case}: make {node} a replica of {under}"),
        Need(under, "semi-sync source", f"{case}: semi-sync on at {under}"),
    ]


def _restore(config: Config, case: str) -> list[Need]:
    """Restoring replica sources is best effort: it never stops a plan."""
    replicas = [n.name for n in config.nodes.values() if n.role == "replica"]
    return [Need(name, "rejoin", f"{case}: restore the source of {name}", required=False) for name in replicas]


def _repoint(config: Config, case: str, names: list[str]) -> list[Need]:
    """failover.repoint_replicas is best effort: it never holds up the failover."""
    if not config.failover.repoint_replicas:
        return []
    return [Need(name, "rejoin", f"repoint {name}", required=False) for name in names]


def daemon_needs(config: Config) -> list[Need]:
    """What the daemon may run by itself: watching every node, both failover cases, fencing."""
    # the master and the candidate are probed every cycle; a replica is only asked for its vote
    watch = [Need(n.name, "watch", "monitoring", n.role != "replica") for n in config.nodes.values()]
    return watch + plan_needs("master_down", config) + plan_needs("candidate_down", config)


def every_need(config: Config) -> list[Need]:
    """Everything any plan may run, for check-config."""
    cases = ("switchover", "failback_master", "failback_candidate")
    return daemon_needs(config) + [need for case in cases for need in plan_needs(case, config)]


def granted(rows: Iterable[str], dialect: Dialect) -> set[str]:
    """The global privileges in ``SHOW GRANTS`` rows, with aliases resolved; ALL gives every one."""
    found: set[str] = set()
    for row in rows:
        match = GLOBAL_GRANT.match(row.strip())
        if not match:
            continue
        for word in match["privileges"].split(","):
            name = " ".join(word.replace("`", "").upper().split())
            found.add(ALIASES.get(name, name) if dialect.flavor == "mariadb" else name)
    every = {p for flavors in STATEMENTS.values() for p in flavors[dialect.flavor][1]}
    if found & {"ALL", "ALL PRIVILEGES"}:
        found |= every
    if "SUPER" in found:
        spared = {"RELOAD"}
        if dialect.flavor == "mariadb" and dialect.version >= (10, 11, 0):
            spared.add("READ_ONLY ADMIN")
        found |= every - spared
    return found


def missing_grants(config: Config, mysql: MySQL, needs: list[Need]) -> tuple[list[MissingGrant], list[str]]:
    """(missing grants by node, nodes that could not be asked); a node that does not answer is skipped."""
    by_node: dict[str, list[Need]] = {}
    for need in needs:
        by_node.setdefault(need.node, []).append(need)
    missing, unasked = [], []
    for name, node_needs in by_node.items():
        try:
            account, have, dialect = _grants_of(mysql, config.nodes[name])
        except (NodeUnreachable, MysqlhaError) as exc:
            unasked.append(f"{name}: grants not checked: {exc}")
            continue
        lacking: dict[str, None] = {}
        statements: dict[str, None] = {}
        what: dict[str, None] = {}
        for need in node_needs:
            for kind in ACTIONS[need.action]:
                statement, privileges = STATEMENTS[kind][dialect.flavor]
                absent = [p for p in privileges if p not in have]
                if absent:
                    lacking.update(dict.fromkeys(absent))
                    statements[statement] = None
                    what[need.what] = None
        if lacking:
            missing.append(MissingGrant(name, account, tuple(lacking), tuple(statements), tuple(what)))
    return missing, unasked


def _grants_of(mysql: MySQL, node: Node) -> tuple[str, set[str], Dialect]:
    version, current, rows = mysql.grants(node)
    dialect = detect(version)
    user, _, host = str(current).rpartition("@")
    return f"'{user}'@'{host}'", granted(rows, dialect), dialect


# the plans that promote the candidate (its SQL thread must apply what it received)
PROMOTING_CANDIDATE = ("master_down", "switchover")


def refusal(case: str, config: Config, mysql: MySQL, failed: str | None = None) -> str | None:
    """Why a plan must not start, or None; no proxy or role is touched.

    A grant it needs is missing; or (a plan promoting the candidate) the candidate's SQL thread
    cannot apply what it received: it is started if stopped, so an SQL error shows here, with its
    text, instead of at the catch-up step after the proxies moved. The ``failed`` node is not
    asked: it did not answer, and a hung one would cost a timeout.
    """
    return grant_refusal(case, config, mysql, failed) or replication_refusal(case, config, mysql, failed)


def grant_refusal(case: str, config: Config, mysql: MySQL, failed: str | None = None) -> str | None:
    """The grants ``case``'s plan needs that the monitor user lacks, with the fix, or None."""
    needs = [need for need in plan_needs(case, config) if need.node != failed and need.required]
    missing, _ = missing_grants(config, mysql, needs)
    return "; ".join(f"{m.sentence()}: run {m.fix()}" for m in missing) or None


def replication_refusal(case: str, config: Config, mysql: MySQL, failed: str | None = None) -> str | None:
    """The candidate's SQL thread, before a plan promoting it starts (see ``MySQL.sql_thread_problem``)."""
    candidate = config.candidate
    if case not in PROMOTING_CANDIDATE or candidate.name == failed:
        return None
    try:
        return mysql.sql_thread_problem(candidate)
    except MysqlhaError:  # not answering: the plan's own steps report it
        return None


def start_problems(config: Config, mysql: MySQL) -> list[str]:
    """Grant problems that must stop the daemon at start (and a reload); unreachable nodes are not one."""
    missing, _ = missing_grants(config, mysql, [need for need in daemon_needs(config) if need.required])
    return [f"{config.path}: monitor.user: {m.sentence()}; run {m.fix()}" for m in missing]
