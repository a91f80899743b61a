"""MySQL/MariaDB adapter: every call is a fresh, bounded connection; SQL text comes from the dialect.

Which driver errors mean "alive" is decided in ha/sqlbasics.py (as MHA does); the waits on one
open session live in ha/replwait.py. Their names are re-exported here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pymysql

from ha.config import Credentials, Monitor, Node
from ha.dialect import Dialect
from ha.errors import MysqlhaError, NodeAnsweredError, NodeUnreachable, StepFailed
from ha.gtid import gtid_missing
from ha.model import NodeCheck, Witness
from ha.replwait import end_ack_waits as _end_ack_waits
from ha.replwait import execute_unless_unknown_variable as _execute_unless_unknown_variable
from ha.replwait import start_sql_thread, stop_io_thread, wait_running
from ha.replwait import wait_applied as _wait_applied
from ha.replwait import wait_gtid as _wait_gtid
from ha.sqlbasics import (
    UNREACHABLE_CODES,
    Cursor,
    cursor,
    dialect_of,
    one,
    replica_status,
    rows,
    tls_options,
    tls_problem,
    wrap_error,
)
from ha.sqlbasics import basics as _basics

__all__ = [
    "UNREACHABLE_CODES",
    "Cursor",
    "MySQL",
    "check_budget",
    "cursor",
    "dialect_of",
    "one",
    "replica_status",
    "rows",
    "tls_problem",
    "wait_running",
    "wrap_error",
]

# The most reads one probe or one ask makes, each bounded by read_timeout: handshake (greeting,
# auth result, an auth switch), @@version/read_only, position, semi-sync status, replica status,
# MySQL's heartbeat row. A server that answers each within read_timeout is alive, however slow.
ROUND_TRIPS = 8
SQL_SETTLE = 2.0  # seconds a restarted SQL thread is watched for an error before a promotion plan starts
FENCE_WAIT = 5.0  # seconds read_only=ON may take (while orphaned semi-sync waits are ended)


def check_budget(monitor: Monitor) -> float:
    """How long one probe can take against a server that answers every read just in time."""
    return monitor.connect_timeout + ROUND_TRIPS * monitor.read_timeout + 0.5


class MySQL:
    """Talks to the nodes as the monitoring user, with every timeout set."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    @contextmanager
    def session(self, node: Node, read_timeout: float | None = None) -> Iterator[Cursor]:
        """A cursor on a fresh connection; driver errors become our errors."""
        monitor = self.monitor
        tls = tls_options(monitor)
        credentials = self.monitor.credentials
        try:
            with cursor(
                self.monitor.connect_timeout,
                read_timeout or self.monitor.read_timeout,
                host=node.host,
                port=node.port,
                user=credentials.user,
                password=credentials.password,
                program_name="mysqlha",
                **tls,
            ) as cur:
                yield cur
        except (pymysql.err.Error, OSError) as exc:
            raise wrap_error(exc) from exc
        except ValueError as exc:  # a version or GTID text the dialect cannot read
            raise NodeAnsweredError(f"{node.name} gave an answer mysqlha cannot read: {exc}") from exc

    def probe(self, node: Node) -> NodeCheck:
        """One look at one node, for the daemon's check and `mysqlha status` alike: never raises,
        always returns within the timeouts."""
        started = time.monotonic()
        try:
            with self.session(node) as cur:
                dialect, read_only, position = _basics(cur)
                cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'")
                status = {name: value for name, value in cur.fetchall()}
                view = replica_status(cur, dialect, node.name)
        except NodeUnreachable as exc:
            return NodeCheck(node.name, "failed", time.monotonic() - started, str(exc))
        except NodeAnsweredError as exc:
            return NodeCheck(node.name, "answered_error", time.monotonic() - started, str(exc))
        semi_sync, clients = dialect.semi_sync(status)
        lowered = {name.lower(): value for name, value in status.items()}
        replica_on = lowered.get("rpl_semi_sync_slave_status", lowered.get("rpl_semi_sync_replica_status"))
        return NodeCheck(
            node.name,
            "ok",
            time.monotonic() - started,
            read_only=bool(read_only),
            semi_sync=semi_sync,
            semi_sync_clients=clients,
            position=position,
            lag=view.lag if view else None,
            version=f"{dialect.flavor} {'.'.join(map(str, dialect.version))}",
            semi_sync_replica=None if replica_on is None else str(replica_on).upper() == "ON",
            replica=view,
        )

    def ask(self, node: Node) -> Witness:
        """What ``node`` says about its source; never raises."""
        try:
            with self.session(node) as cur:
                return Witness(node.name, replica_status(cur, node=node.name))
        except MysqlhaError as exc:
            return Witness(node.name, None, str(exc))

    def wait_caught_up(self, node: Node, timeout: float) -> str:
        """Wait until ``node`` applied every transaction its IO thread received.

        The IO thread is left alone: on MariaDB, once both replication threads are stopped,
        the next START SLAVE discards the relay log, and with it what was received.
        """
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            dialect = dialect_of(cur)
            view = replica_status(cur, dialect, node.name)
            if view is None:
                return "not a replica any more"
            started = ""
            if view.received and not view.sql_running and view.io_running != "No":
                # Everything it received is in its relay log: apply it (maintenance or an error stopped
                # the thread). The IO thread still runs, so this START discards nothing.
                cur.execute(dialect.start_sql_thread_sql())
                started = "started its stopped SQL thread" + (
                    f" (it had stopped on: {view.last_sql_error}); " if view.last_sql_error else "; "
                )
                view = replace(view, sql_running=True)
            _wait_applied(cur, dialect, view, timeout)
            return f"{started}applied {view.received or 'nothing received'}"

    def sql_thread_problem(self, node: Node, settle: float = SQL_SETTLE) -> str | None:
        """Why ``node`` cannot apply what it received (its SQL thread started if it was stopped), or None."""
        with self.session(node, read_timeout=settle + self.monitor.read_timeout) as cur:
            return start_sql_thread(cur, dialect_of(cur), node.name, settle)

    def promote(self, node: Node, timeout: float) -> str:
        """Detach ``node`` from its source once it applied all it received; make it writable.

        The promoted node gets no semi-sync source role here: a source waiting for a semi-sync
        replica that is not there would stall its first commit. Plans that give it one turn
        the role on afterwards.
        """
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            dialect = dialect_of(cur)
            view = replica_status(cur, dialect, node.name)
            stopped = ""
            if view is not None:
                stopped = stop_io_thread(cur, dialect)
                _wait_applied(cur, dialect, replica_status(cur, dialect, node.name) or view, timeout)
                cur.execute(dialect.stop_replica_sql())
                cur.execute(dialect.reset_replica_all_sql())
            for statement in dialect.semi_sync_off_sql():
                _execute_unless_unknown_variable(cur, statement)  # MySQL: only one plugin's names exist
            for statement in dialect.writable_sql():
                cur.execute(statement)
            cur.execute(dialect.position_sql())
            return f"{stopped}writable at {one(cur)[0] or 'an empty position'}; semi-sync roles off"

    def fence(self, node: Node) -> str:
        """Make an old master refuse writes, within about a second of it answering.

        ``SET GLOBAL read_only`` waits behind commits waiting for a semi-sync ACK. On an old master
        such a commit is not on the new master (its replica was promoted), and would be reported to
        its client as a success once the semi-sync timeout falls back to async: every such session
        is killed instead, whatever the count of semi-sync clients (a stale or half-open one, say a
        frozen replica, keeps it at 1), so the client gets an error (lost connection). The
        transaction stays in this node's binary log only; failback refuses it as errant.
        """
        outcome: list[BaseException | None] = []

        def set_read_only() -> None:
            try:
                with self.session(node, read_timeout=FENCE_WAIT + self.monitor.read_timeout) as cur:
                    for statement in dialect_of(cur).fence_sql():
                        cur.execute(statement)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                outcome.append(exc)

        ended: list[int] = []
        with self.session(node) as cur:
            ended += _end_ack_waits(cur)
            fencer = threading.Thread(target=set_read_only, name=f"fence-{node.name}", daemon=True)
            fencer.start()
            deadline = time.monotonic() + FENCE_WAIT
            while fencer.is_alive():
                fencer.join(0.05)
                if fencer.is_alive():
                    ended += _end_ack_waits(cur)
                    if time.monotonic() > deadline:
                        raise StepFailed(f"{node.name}: read_only=ON still waiting after {FENCE_WAIT:g} s")
        if outcome and outcome[0] is not None:
            raise outcome[0]
        if not ended:
            return "read_only=ON"
        return (
            f"read_only=ON; ended {len(ended)} session(s) waiting for a semi-sync ACK on the old master "
            f"(their clients get an error, not a success)"
        )

    def grants(self, node: Node) -> tuple[str, str, list[str]]:
        """(``@@version``, ``CURRENT_USER()``, the ``SHOW GRANTS`` rows) of the monitor user on ``node``."""
        with self.session(node) as cur:
            cur.execute("SELECT @@version, CURRENT_USER()")
            version, current = cur.fetchone() or ("", "")
            cur.execute("SHOW GRANTS")
            return str(version), str(current), [str(row[0]) for row in cur.fetchall()]

    def make_writable(self, node: Node) -> str:
        """Undo ``fence``: the node accepts writes again (a switchover undone before the promotion)."""
        with self.session(node) as cur:
            for statement in dialect_of(cur).writable_sql():
                cur.execute(statement)
        return f"{node.name} read_only=OFF"

    def position(self, node: Node, holds: bool = False) -> str:
        """The node's binary log GTID position, or (``holds``) every transaction it has."""
        return self._position(node, holds)[1]

    def _position(self, node: Node, holds: bool) -> tuple[Dialect, str]:
        with self.session(node) as cur:
            dialect = dialect_of(cur)
            cur.execute(dialect.holds_sql() if holds else dialect.position_sql())
            return dialect, one(cur)[0] or ""

    def errant(self, node: Node, source: Node) -> str:
        """What ``node`` holds that ``source`` lacks ("" when nothing): such a node cannot follow ``source``."""
        holds = self.position(node, holds=True)
        dialect, has = self._position(source, holds=False)
        return gtid_missing(dialect.flavor, has, holds)

    def wait_position(self, node: Node, position: str, timeout: float) -> str:
        """Wait until ``node`` applied ``position`` (a source's position read beforehand)."""
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            if position:
                _wait_gtid(cur, dialect_of(cur), node.name, position, timeout)
            return f"applied {position or 'nothing'}"

    def replicate_from(
        self, replica: Node, source: Node, credentials: Credentials, timeout: float, semi_sync: bool = False
    ) -> str:
        """Make ``replica`` replicate from ``source`` by GTID and wait until both threads run."""
        with self.session(replica, read_timeout=timeout + self.monitor.read_timeout) as cur:
            dialect = dialect_of(cur)
            before = replica_status(cur, dialect, replica.name)  # keep a heartbeat period someone tuned
            cur.execute(dialect.stop_replica_sql())
            tls = self.monitor.tls_ca  # the same CA path on the database hosts
            verify = self.monitor.tls_verify_cert or self.monitor.tls_verify_identity
            cur.execute(
                dialect.change_source_sql(before.heartbeat_period if before else None, tls, verify),
                (source.host, source.port, credentials.user, credentials.password),
            )
            _execute_unless_unknown_variable(cur, dialect.semi_sync_role_sql("replica", semi_sync))
            _execute_unless_unknown_variable(cur, dialect.semi_sync_role_sql("source", False))
            cur.execute(dialect.start_replica_sql())
            wait_running(cur, dialect, replica, timeout)
            return f"replicating from {source.name}" + (" (semi-sync)" if semi_sync else "")

    def wait_replicating(self, replica: Node, timeout: float) -> str:
        """Wait until both replication threads of ``replica`` run (say, after its source came back)."""
        with self.session(replica) as cur:
            wait_running(cur, dialect_of(cur), replica, timeout)
            return "replicating"

    def repoint(self, replica: Node, source: Node, credentials: Credentials, timeout: float) -> str:
        """Make ``replica`` replicate from ``source``, if it holds nothing ``source`` lacks."""
        missing = self.errant(replica, source)
        if missing:
            return f"left alone: it holds transactions {source.name} lacks ({missing}); rebuild it"
        return self.replicate_from(replica, source, credentials, timeout)

    def semi_sync_off(self, node: Node) -> str:
        """Turn the semi-sync source role off: commits waiting for an acknowledgement return at once."""
        with self.session(node) as cur:
            cur.execute(dialect_of(cur).semi_sync_role_sql("source", False))
        return "semi-sync source role off"

    def semi_sync_source(self, node: Node, timeout: float) -> str:
        """Turn the semi-sync source role on and wait until a semi-sync replica is connected."""
        with self.session(node) as cur:
            dialect = dialect_of(cur)
            cur.execute(dialect.semi_sync_role_sql("source", True))
            deadline = time.monotonic() + timeout
            while True:
                cur.execute(dialect.semi_sync_status_sql())
                on, clients = dialect.semi_sync({name: value for name, value in cur.fetchall()})
                if on and clients:
                    return f"semi-sync on with {clients} semi-sync replica(s)"
                if time.monotonic() > deadline:
                    raise StepFailed(f"{node.name}: semi-sync not on with a replica after {timeout:g} s")
                time.sleep(0.02)
