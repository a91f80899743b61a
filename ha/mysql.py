"""MySQL/MariaDB adapter: every call is a fresh, bounded connection.

Which server errors mean "alive" follows MHA: a server that answers with an
error (access denied, too many connections, ...) is up. Only refused, timed
out and lost connections (2003/2006/2013) and socket errors mean unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql

from ha.config import Monitor, Node
from ha.errors import NodeAnsweredError, NodeUnreachable, StepFailed
from ha.model import NodeCheck

UNREACHABLE_CODES = {2003, 2006, 2013, 2055}
SEMI_SYNC_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients',"
    " 'Rpl_semi_sync_source_status', 'Rpl_semi_sync_source_clients')"
)


def wrap_error(exc: BaseException, node: Node) -> NodeUnreachable | NodeAnsweredError:
    """Turn a driver error into our own: unreachable, or alive-but-erroring."""
    if isinstance(exc, pymysql.err.Error) and exc.args and isinstance(exc.args[0], int):
        code, message = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
        text = f"{code} {message}"
        if code in UNREACHABLE_CODES:
            return NodeUnreachable(text)
        return NodeAnsweredError(text)
    if isinstance(exc, (OSError, pymysql.err.Error)):
        return NodeUnreachable(f"{type(exc).__name__}: {exc}")
    return NodeUnreachable(f"{type(exc).__name__}: {exc}")


class MySQL:
    """Talks to the nodes as the monitoring user, with every timeout set."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def _connect(self, node: Node, read_timeout: float | None = None) -> pymysql.Connection:
        tls: dict[str, Any] = {"ssl_ca": self.monitor.tls_ca} if self.monitor.tls_ca else {"ssl_disabled": True}
        timeout = read_timeout or self.monitor.read_timeout
        return pymysql.connect(
            host=node.host,
            port=node.port,
            user=self.monitor.credentials.user,
            password=self.monitor.credentials.password,
            connect_timeout=self.monitor.connect_timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            autocommit=True,
            program_name="mysqlha",
            **tls,
        )

    @contextmanager
    def session(self, node: Node, read_timeout: float | None = None) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor on a fresh connection; driver errors become our errors."""
        try:
            conn = self._connect(node, read_timeout)
        except (pymysql.err.Error, OSError) as exc:
            raise wrap_error(exc, node) from exc
        try:
            with conn.cursor() as cursor:
                yield cursor
        except (pymysql.err.Error, OSError) as exc:
            raise wrap_error(exc, node) from exc
        finally:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
                pass

    def probe(self, node: Node) -> NodeCheck:
        """One status check: never raises, always returns within the timeouts."""
        started = time.monotonic()
        try:
            with self.session(node) as cur:
                cur.execute("SELECT @@global.read_only")
                read_only = bool(cur.fetchone()[0])
                cur.execute(SEMI_SYNC_STATUS)
                status = {name.lower(): value for name, value in cur.fetchall()}
        except NodeUnreachable as exc:
            return NodeCheck(node.name, "failed", time.monotonic() - started, str(exc))
        except NodeAnsweredError as exc:
            return NodeCheck(node.name, "answered_error", time.monotonic() - started, str(exc))
        semi_sync = _first(status, "rpl_semi_sync_master_status", "rpl_semi_sync_source_status")
        clients = _first(status, "rpl_semi_sync_master_clients", "rpl_semi_sync_source_clients")
        return NodeCheck(
            node.name,
            "ok",
            time.monotonic() - started,
            None,
            read_only=read_only,
            semi_sync=None if semi_sync is None else semi_sync.upper() == "ON",
            semi_sync_clients=None if clients is None else int(clients),
        )

    def wait_caught_up(self, node: Node, timeout: float) -> str:
        """Wait until ``node`` applied every transaction its IO thread received.

        The IO thread is left alone: on MariaDB, once both replication threads are stopped,
        the next START SLAVE discards the relay log, and with it what was received.
        """
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            status = replica_status(cur)
            if status is None:
                return "not a replica any more"
            _wait_applied(cur, node, status, timeout)
            return status.get("Gtid_IO_Pos") or "nothing received"

    def promote(self, node: Node, timeout: float) -> None:
        """Detach ``node`` from its source once it applied all it received; make it writable.

        The promoted node gets no semi-sync source role: no semi-sync replica is left to
        acknowledge, and a source waiting for one would stall the first commit.
        """
        with self.session(node, read_timeout=timeout + self.monitor.read_timeout) as cur:
            status = replica_status(cur)
            if status is not None:
                cur.execute("STOP SLAVE IO_THREAD")
                _wait_applied(cur, node, replica_status(cur) or status, timeout)
                cur.execute("STOP SLAVE")
                cur.execute("RESET SLAVE ALL")
            cur.execute("SET GLOBAL rpl_semi_sync_slave_enabled = OFF")
            cur.execute("SET GLOBAL rpl_semi_sync_master_enabled = OFF")
            cur.execute("SET GLOBAL read_only = OFF")

    def fence(self, node: Node) -> None:
        """Make an old master refuse writes."""
        with self.session(node) as cur:
            cur.execute("SET GLOBAL read_only = ON")


def _wait_applied(cur: pymysql.cursors.Cursor, node: Node, status: dict[str, Any], timeout: float) -> None:
    received = status.get("Gtid_IO_Pos") or ""
    if not received:
        return
    cur.execute("SELECT MASTER_GTID_WAIT(%s, 0)", (received,))
    if cur.fetchone()[0] == 0:
        return
    if status.get("Slave_SQL_Running") != "Yes":
        error = status.get("Last_SQL_Error") or "stopped by hand?"
        raise StepFailed(
            f"{node.name} cannot apply what it received ({received}): its SQL thread is not running: {error}"
        )
    cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (received, timeout))
    if cur.fetchone()[0] != 0:
        cur.execute("SELECT @@global.gtid_slave_pos")
        applied = cur.fetchone()[0]
        raise StepFailed(f"{node.name} did not apply {received} within {timeout:g} s (applied: {applied or 'nothing'})")


def replica_status(cur: pymysql.cursors.Cursor) -> dict[str, Any] | None:
    """SHOW SLAVE STATUS as a dict, or None when the node replicates from nothing."""
    cur.execute("SHOW SLAVE STATUS")
    row = cur.fetchone()
    if row is None:
        return None
    return {column[0]: value for column, value in zip(cur.description, row, strict=True)}


def _first(status: dict[str, str], *names: str) -> str | None:
    for name in names:
        if name in status:
            return status[name]
    return None
