"""Waits on a replica or source over one open session: threads running, GTIDs applied, ACK waits."""

from __future__ import annotations

import time

import pymysql

from ha.config import Node
from ha.dialect import Dialect
from ha.errors import StepFailed
from ha.model import ReplicaView
from ha.sqlbasics import Cursor, one, replica_status

# A commit waiting for a semi-sync acknowledgement (MariaDB and MySQL word it alike).
_ACK_WAIT = "STATE LIKE 'Waiting for semi-sync ACK%'"
ACK_WAITERS_SQL = f"SELECT ID FROM information_schema.PROCESSLIST WHERE {_ACK_WAIT} AND ID <> CONNECTION_ID()"


def end_ack_waits(cur: Cursor) -> list[int]:
    """Kill every session waiting for a semi-sync ACK on a master being fenced, whatever its count of
    semi-sync clients: the new master does not have those commits (or a switchover gives their clients
    an error, never a false success); a stale or half-open semi-sync client (a frozen replica) keeps
    the count at 1 and would let them return OK once semi-sync falls back to async."""
    cur.execute(ACK_WAITERS_SQL)
    ended = []
    for (thread_id,) in cur.fetchall():
        try:
            cur.execute("KILL CONNECTION %s", (int(thread_id),))
            ended.append(int(thread_id))
        except pymysql.err.Error as exc:
            if not exc.args or exc.args[0] != 1094:  # ER_NO_SUCH_THREAD: it ended by itself
                raise
    return ended


# A killed IO thread leaves the process list at once but needs a moment to leave its loop; a STOP
# that comes sooner still makes it end the source's dump thread first (the ~2 s wait). Measured on
# MariaDB 10.11 with a frozen source under writes: 1 STOP in 12 waited 2 s with no grace, 0 in 55
# with this one.
EXIT_GRACE = 0.05


def stop_io_thread(cur: Cursor, dialect: Dialect, settle: float = 1.0) -> str:
    """Stop the replica's IO thread at once, even while its source hangs.

    On MariaDB the IO thread's session is ended first (``KILL CONNECTION``) and the STOP comes once
    it left the process list: a STOP alone waits ~2 s for a hung semi-sync source (see
    ``Dialect.io_session_sql``). Without the privilege, or if the session lingers past ``settle``
    seconds, the plain STOP runs as before: slower, never less safe. Returns a note for the step.
    """
    note = ""
    sql = dialect.io_session_sql()
    if sql is not None:
        cur.execute(sql)
        sessions = [int(row[0]) for row in cur.fetchall()]
        try:
            for session in sessions:
                cur.execute("KILL CONNECTION %s", (session,))
        except pymysql.err.Error as exc:
            if not exc.args or exc.args[0] != 1094:  # ER_NO_SUCH_THREAD: it ended by itself
                note = f"IO thread's session not ended ({exc.args[-1] if exc.args else exc}); "
                sessions = []
        deadline = time.monotonic() + settle
        while sessions and time.monotonic() < deadline:
            cur.execute(sql)
            if not cur.fetchall():
                note = "IO thread's session ended first; "
                time.sleep(EXIT_GRACE)
                break
            time.sleep(0.005)
    cur.execute(dialect.stop_io_sql())
    return note


def start_sql_thread(cur: Cursor, dialect: Dialect, node: str, settle: float) -> str | None:
    """Before a promotion plan moves anything: make sure ``node``'s SQL thread applies what it received.

    Returns why the plan must not start, or None. Running: None. Stopped while the IO thread runs
    (maintenance, or an error): START SLAVE SQL_THREAD (the relay log is kept), then watch it for up
    to ``settle`` seconds; stopping again (an SQL error) is a refusal with the error. Both threads
    stopped (STOP SLAVE by hand): refused, the relay log may lack what the source committed since.
    """
    view = replica_status(cur, dialect, node)
    if view is None or view.sql_running:
        return None
    if view.io_running == "No":
        return (
            f"{node}'s replication is stopped (IO and SQL threads; by hand?): its relay log may lack what "
            f"its source committed since; START SLAVE on {node} if it is to be promoted"
        )
    cur.execute(dialect.start_sql_thread_sql())
    deadline = time.monotonic() + settle
    while True:
        time.sleep(0.05)
        now = replica_status(cur, dialect, node)
        if now is None:
            return None
        if not now.sql_running:
            error = now.last_sql_error or view.last_sql_error or "stopped again"
            return (
                f"{node}'s SQL thread stopped again after START SLAVE SQL_THREAD: {error}; it cannot apply "
                f"what it received ({now.received}): fix or skip that transaction on {node}"
            )
        if not now.received or time.monotonic() >= deadline:
            return None
        cur.execute(dialect.wait_applied_sql(), (now.received, 0))
        if dialect.wait_succeeded(one(cur)[0]):
            return None


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


def execute_unless_unknown_variable(cur: Cursor, statement: str) -> None:
    try:
        cur.execute(statement)
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != 1193:  # ER_UNKNOWN_SYSTEM_VARIABLE
            raise


def wait_applied(cur: Cursor, dialect: Dialect, view: ReplicaView, timeout: float) -> None:
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
    deadline = time.monotonic() + timeout
    while True:  # in slices, so an SQL thread that stops on an error is reported with it, not waited for
        cur.execute(dialect.wait_applied_sql(), (view.received, 1))
        (result,) = cur.fetchone() or (None,)
        if dialect.wait_succeeded(result):
            return
        now = replica_status(cur, dialect, view.node)
        if now is None or not now.sql_running:
            error = (now.last_sql_error if now else "") or "stopped"
            raise StepFailed(
                f"{view.node} cannot apply what it received ({view.received}): SQL thread stopped: {error}"
            )
        if time.monotonic() >= deadline:
            raise StepFailed(f"{view.node} did not apply {view.received} within {timeout:g} s")


def wait_gtid(cur: Cursor, dialect: Dialect, name: str, position: str, timeout: float) -> None:
    """Block until the node applied ``position``; StepFailed after ``timeout`` seconds."""
    cur.execute(dialect.wait_applied_sql(), (position, timeout))
    if not dialect.wait_succeeded(one(cur)[0]):
        raise StepFailed(f"{name} did not apply {position} within {timeout:g} s")
