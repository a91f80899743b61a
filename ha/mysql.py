"""MySQL/MariaDB adapter: every call is a fresh, bounded connection; SQL text comes from the dialect.

Which server errors mean "alive" follows MHA: a server that answers with an error (access
denied, too many connections, ...) is up. Only refused, timed out and lost connections
(2003/2006/2013) and socket errors mean unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql

from ha.config import Credentials, Monitor, Node
from ha.dialect import Dialect, detect, pick_default_row
from ha.errors import MysqlhaError, NodeAnsweredError, NodeUnreachable, StepFailed
from ha.gtid import gtid_missing
from ha.model import NodeCheck, ReplicaView, Witness

UNREACHABLE_CODES = {2003, 2006, 2013, 2055}
Cursor = pymysql.cursors.Cursor


def wrap_error(exc: BaseException) -> NodeUnreachable | NodeAnsweredError:
    """Turn a driver error into our own: unreachable, or alive-but-erroring."""
    if isinstance(exc, pymysql.err.Error) and exc.args and isinstance(exc.args[0], int):
        code, message = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
        text = f"{code} {message}"
        if code in UNREACHABLE_CODES:
            return NodeUnreachable(text)
        return NodeAnsweredError(text)
    return NodeUnreachable(f"{type(exc).__name__}: {exc}")


def one(cur: Cursor) -> tuple[Any, ...]:
    """The row a statement that always returns one (SELECT @@x, a wait function) returned."""
    row = cur.fetchone()
    if row is None:
        raise NodeAnsweredError("the server returned no row where one was expected")
    return tuple(row)


def rows(cur: Cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@contextmanager
def cursor(connect_timeout: float, timeout: float, **connect: Any) -> Iterator[Cursor]:
    """A cursor on a fresh autocommit connection, closed after; reads and writes bounded by ``timeout``."""
    conn = pymysql.connect(
        connect_timeout=connect_timeout, read_timeout=timeout, write_timeout=timeout, autocommit=True, **connect
    )
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
            pass


def _basics(cur: Cursor) -> tuple[Dialect, bool, str]:
    """The dialect, read_only and binary log GTID position, in two round trips."""
    cur.execute("SELECT @@version, @@global.read_only")
    version, read_only = one(cur)
    dialect = detect(version)
    cur.execute(dialect.position_sql())
    return dialect, bool(read_only), one(cur)[0] or ""


def dialect_of(cur: Cursor) -> Dialect:
    cur.execute("SELECT @@version")
    return detect(one(cur)[0])


def replica_status(cur: Cursor, dialect: Dialect | None = None, node: str = "") -> ReplicaView | None:
    """The node's view of its source, or None when it replicates from nothing."""
    dialect = dialect or dialect_of(cur)
    cur.execute(dialect.replica_status_sql())
    row = pick_default_row(rows(cur))
    if row is None:
        return None
    heartbeats = None
    heartbeat_sql = dialect.heartbeat_sql()
    if heartbeat_sql:
        cur.execute(heartbeat_sql)
        found = cur.fetchone()
        heartbeats = int(found[0]) if found else None
    return dialect.replica_view(node, row, heartbeats)


class MySQL:
    """Talks to the nodes as the monitoring user, with every timeout set."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    @contextmanager
    def session(self, node: Node, read_timeout: float | None = None) -> Iterator[Cursor]:
        """A cursor on a fresh connection; driver errors become our errors."""
        tls: dict[str, Any] = {"ssl_ca": self.monitor.tls_ca} if self.monitor.tls_ca else {"ssl_disabled": True}
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
            _wait_applied(cur, dialect, view, timeout)
            return f"applied {view.received or 'nothing received'}"

    def promote(self, node: Node, timeout: float) -> str:
        """Detach ``node`` from its source once it applied all it received; make it writable.

        The promoted node gets no semi-sync source role here: a source waiting for a semi-sync
        replica that is not there would stall its first commit. Plans that give it one turn
        the role on afterwards.
        """
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            dialect = dialect_of(cur)
            view = replica_status(cur, dialect, node.name)
            if view is not None:
                cur.execute(dialect.stop_io_sql())
                _wait_applied(cur, dialect, replica_status(cur, dialect, node.name) or view, timeout)
                cur.execute(dialect.stop_replica_sql())
                cur.execute(dialect.reset_replica_all_sql())
            for statement in dialect.semi_sync_off_sql():
                _execute_unless_unknown_variable(cur, statement)  # MySQL: only one plugin's names exist
            for statement in dialect.writable_sql():
                cur.execute(statement)
            cur.execute(dialect.position_sql())
            return f"writable at {one(cur)[0] or 'an empty position'}; semi-sync roles off"

    def fence(self, node: Node) -> None:
        """Make an old master refuse writes."""
        with self.session(node) as cur:
            for statement in dialect_of(cur).fence_sql():
                cur.execute(statement)

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
            cur.execute(dialect.stop_replica_sql())
            cur.execute(dialect.change_source_sql(), (source.host, source.port, credentials.user, credentials.password))
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


def wait_running(cur: Cursor, dialect: Dialect, replica: Node, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        view = replica_status(cur, dialect, replica.name)
        if view is not None and view.io_running == "Yes" and view.sql_running:
            return
        if time.monotonic() > deadline:
            error = (view.last_io_error or view.last_sql_error) if view else "no replica status"
            raise StepFailed(f"{replica.name} not replicating after {timeout:g} s: {error}")
        time.sleep(0.02)


def _execute_unless_unknown_variable(cur: Cursor, statement: str) -> None:
    try:
        cur.execute(statement)
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != 1193:  # ER_UNKNOWN_SYSTEM_VARIABLE
            raise


def _wait_applied(cur: Cursor, dialect: Dialect, view: ReplicaView, timeout: float) -> None:
    """Return once the SQL thread applied ``view.received``; StepFailed if it cannot or does not in time."""
    if not view.received:
        return
    cur.execute(dialect.wait_applied_sql(), (view.received, 0))
    if dialect.wait_succeeded(one(cur)[0]):
        return
    if not view.sql_running:
        error = view.last_sql_error or "stopped by hand?"
        raise StepFailed(
            f"{view.node} cannot apply what it received ({view.received}): SQL thread not running: {error}"
        )
    _wait_gtid(cur, dialect, view.node, view.received, timeout)


def _wait_gtid(cur: Cursor, dialect: Dialect, name: str, position: str, timeout: float) -> None:
    """Block until the node applied ``position``; StepFailed after ``timeout`` seconds."""
    cur.execute(dialect.wait_applied_sql(), (position, timeout))
    if not dialect.wait_succeeded(one(cur)[0]):
        raise StepFailed(f"{name} did not apply {position} within {timeout:g} s")
