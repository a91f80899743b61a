"""What to run when the live cluster differs from the normal layout: one fix per kind of difference.

Pure: statements are built from the config and what one look saw (``NodeCheck``), in the
node's own dialect (MariaDB when its version is unknown); nothing here runs them.
"""

from __future__ import annotations

from ha.config import Config, Node
from ha.dialect import Dialect, detect, sql_string
from ha.model import NodeCheck

MARIADB = Dialect("mariadb", (10, 11, 0))


def dialect_of(check: NodeCheck) -> Dialect:
    """The dialect of the server ``check`` looked at (its version reads "mariadb 10.11.6", "mysql 8.0.36")."""
    flavor, _, version = (check.version or "").partition(" ")
    if flavor not in ("mariadb", "mysql"):
        return MARIADB
    try:
        return detect(f"{version}-{flavor}")
    except ValueError:  # no version number
        return MARIADB


def on(node: str, *statements: str) -> str:
    return f"on {node}: " + " ".join(s if s.endswith(";") else f"{s};" for s in statements)


def kept(node: str, setting: str) -> str:
    return f" and set `{setting}` in {node}'s my.cnf so a restart keeps it"


def read_only(node: Node, check: NodeCheck) -> str:
    """A master that is read-only, or a replica that is writable."""
    dialect = dialect_of(check)
    if node.role == "master":
        return on(node.name, *dialect.writable_sql()) + " only once no other node is writable (see the other lines)"
    variable = "read_only" if dialect.mariadb else "super_read_only"
    return on(node.name, *dialect.fence_sql()) + kept(node.name, f"{variable} = ON")


def source(config: Config, node: Node, check: NodeCheck) -> str:
    """A node replicating from the wrong source, or from none."""
    dialect = dialect_of(check)
    stop = dialect.stop_replica_sql()
    if node.source is None:
        return on(node.name, stop, dialect.reset_replica_all_sql())
    wanted = config.nodes[node.source]
    user = config.replication.user if config.replication else "<replication user>"
    change = dialect.change_source_sql(tls_ca=config.monitor.tls_ca, tls_verify=config.monitor.tls_verify_cert) % (
        sql_string(wanted.host),
        wanted.port,
        sql_string(user),
        "'<its password>'",
    )
    return on(node.name, stop, change, dialect.start_replica_sql())


def start_replication(node: Node, check: NodeCheck, error: str) -> str:
    """Replication configured right but stopped (by hand, or by an error)."""
    start = on(node.name, dialect_of(check).start_replica_sql())
    return f"remove the cause of the error above, then {start}" if error else start


def semi_sync_source(config: Config, check: NodeCheck) -> str:
    """master1 without semi-sync, or with no semi-sync replica connected."""
    master, candidate = config.master.name, config.candidate.name
    if check.semi_sync:  # on, but nobody acknowledges
        return f"make {candidate} its semi-sync replica (see {candidate}'s line, if any)"
    statement = dialect_of(check).semi_sync_role_sql("source", True)
    return (
        on(master, statement)
        + kept(master, statement.removeprefix("SET GLOBAL "))
        + f" (a source that fell back to async turns semi-sync on again by itself once {candidate} acknowledges)"
    )


def semi_sync_replica(config: Config, check: NodeCheck) -> str:
    """master2 not acknowledging as master1's semi-sync replica."""
    candidate = config.candidate.name
    dialect = dialect_of(check)
    statement = dialect.semi_sync_role_sql("replica", True)
    word = dialect.stop_io_sql().split()[1]  # SLAVE or REPLICA
    restart = (dialect.stop_io_sql(), f"START {word} IO_THREAD")  # the role applies from the next connection
    return on(candidate, statement, *restart) + kept(candidate, statement.removeprefix("SET GLOBAL "))


def unreachable(config: Config, node: Node, check: NodeCheck) -> str:
    if check.status == "failed":
        return f"start {node.name}, or open the path from this host to {node.host}:{node.port}"
    user = config.monitor.credentials.user
    return f"give the monitor user {user} an account on {node.name} that can log in from this host (see the error)"


def supervisord(config: Config) -> str:
    return f"start supervisord, or check supervisor.url ({config.supervisor.url}) and its credentials"


def program(config: Config, name: str, state: str) -> str:
    """A proxy program supervisord lacks, or in the wrong state for the normal layout."""
    if state == "MISSING":
        return (
            "`mysqlha render --out DIR`, include DIR/supervisord.conf.d/*.conf in supervisord's config, "
            "then `supervisorctl update`"
        )
    if name in config.proxies.normal:
        return f"supervisorctl start {name}"
    return f"supervisorctl stop {name}"
