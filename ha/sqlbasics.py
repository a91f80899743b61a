"""Low-level MySQL/MariaDB access: a bounded cursor, driver errors as ours, replica status.

Which server errors mean "alive" follows MHA: a server that answers with an error (access
denied, too many connections, a certificate it cannot make us trust, ...) is up. Only refused,
timed out and lost connections (2003/2006/2013) and socket errors mean unreachable.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pymysql

from ha.dialect import Dialect, detect, pick_default_row
from ha.errors import NodeAnsweredError, NodeUnreachable
from ha.model import ReplicaView

if TYPE_CHECKING:
    from ha.configmodel import Monitor

UNREACHABLE_CODES = {2003, 2006, 2013, 2055}
Cursor = pymysql.cursors.Cursor


# Lost mid-handshake: the connection died, the server did not answer with a TLS problem.
TLS_LOST = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def tls_problem(exc: BaseException) -> ssl.SSLError | None:
    """The certificate or TLS protocol error behind a driver error, if that is what it is."""
    original = getattr(exc, "original_exception", None) or exc.__cause__ or exc.__context__
    for candidate in (exc, original):
        if isinstance(candidate, ssl.SSLError) and not isinstance(candidate, TLS_LOST):
            return candidate
    return None


# PyMySQL >= 1.2 refuses a server that does not offer TLS when TLS options are given:
# OperationalError(CR_SSL_CONNECTION_ERROR, "SSL is required but the server doesn't support it").
CR_SSL_CONNECTION_ERROR = 2026
NO_TLS = "TLS not negotiated (the server answered without offering TLS, tls_ca is set)"


def tls_options(monitor: Monitor) -> dict[str, Any]:
    """The driver's TLS options for every session the monitor opens: the certificate (and, unless
    turned off, the host name) verified when ``tls_ca`` is set; TLS off otherwise."""
    if not monitor.tls_ca:
        return {"ssl_disabled": True}
    return {
        "ssl_ca": monitor.tls_ca,
        "ssl_verify_cert": monitor.tls_verify_cert,
        "ssl_verify_identity": monitor.tls_verify_identity,
    }


def require_tls(conn: pymysql.connections.Connection) -> None:
    """Raise NodeAnsweredError unless ``conn``'s socket is a TLS socket (no round trip).

    PyMySQL 1.0-1.1 silently stays in plaintext when the server (or a man in the middle) does not
    advertise TLS: a session asked for with TLS options but not encrypted is a monitoring problem.
    """
    if not isinstance(getattr(conn, "_sock", None), ssl.SSLSocket):
        raise NodeAnsweredError(f"{NO_TLS}: plaintext session refused")


def wrap_error(exc: BaseException) -> NodeUnreachable | NodeAnsweredError:
    """Turn a driver error into our own: unreachable, or alive-but-erroring.

    A certificate or TLS error means the server answered (it speaks TLS): alive, a monitoring problem;
    so does a server that answered without offering TLS.
    """
    problem = tls_problem(exc)
    if problem is not None:
        return NodeAnsweredError(f"TLS error (the server answered): {problem}")
    if isinstance(exc, pymysql.err.Error) and exc.args and isinstance(exc.args[0], int):
        code, message = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
        text = f"{code} {message}"
        if code == CR_SSL_CONNECTION_ERROR:
            return NodeAnsweredError(f"{NO_TLS}: {text}")
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


def connect(connect_timeout: float, timeout: float, **options: Any) -> pymysql.connections.Connection:
    """A fresh connection, reads and writes bounded by ``timeout``; asked for with TLS (``ssl_ca``), it is
    refused unless encrypted (``require_tls``), whatever the driver did."""
    conn = pymysql.connect(connect_timeout=connect_timeout, read_timeout=timeout, write_timeout=timeout, **options)
    if options.get("ssl_ca"):
        try:
            require_tls(conn)
        except NodeAnsweredError:
            conn.close()
            raise
    return conn


@contextmanager
def cursor(connect_timeout: float, timeout: float, **options: Any) -> Iterator[Cursor]:
    """A cursor on a fresh autocommit connection (``connect``), closed after."""
    conn = connect(connect_timeout, timeout, autocommit=True, **options)
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
            pass


def basics(cur: Cursor) -> tuple[Dialect, bool, str]:
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
    heartbeats, period = None, None
    heartbeat_sql = dialect.heartbeat_sql()
    if heartbeat_sql:
        cur.execute(heartbeat_sql)
        found = cur.fetchone()
        if found:
            heartbeats, period = int(found[0]), None if found[1] is None else float(found[1])
    # Read after the answers arrived: counters seen then changed at or before this moment, so a
    # silence counted from it is never longer than the real one.
    return replace(dialect.replica_view(node, row, heartbeats, period), read_at=time.time())
