"""Issue 9, defect 7: a thawed old master is read-only within about a second, not after the
semi-sync timeout, and a commit it held waiting for an ACK is not reported as a success.

master1 runs with a 10 s semi-sync timeout. A client sends an INSERT straight to master1 while
it is frozen; the daemon fails over to master2. Thawed, master1 runs the INSERT, writes it to
its binary log and waits for an ACK from master2, which was promoted and replicates from
nobody. Before the fix ``SET GLOBAL read_only = ON`` queued behind that commit for the whole
timeout, and the client was then told "OK".
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pymysql
from conftest import log_lines, needs_servers, wait_for
from test_safety import FINISHED, INTERVAL, read_only, started

from ha.mysql import MySQL
from ha.replwait import ACK_WAITERS_SQL
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
SEMI_SYNC_TIMEOUT_MS = 10000


def held_insert(box: Sandbox, table: str) -> tuple[pymysql.Connection, list[str], Callable[[], None]]:
    """An app client straight to master1, what it was told, and an INSERT into ``table`` to run in a
    thread (it waits: a frozen server, or a semi-sync ACK that does not come)."""
    master1 = box.config.master
    client = pymysql.connect(
        host=master1.host,
        port=master1.port,
        user="app",
        password=box.password("app"),
        database="app",
        connect_timeout=5,
        read_timeout=60,
        write_timeout=5,
        autocommit=True,
        ssl_disabled=True,
    )
    outcome: list[str] = []

    def insert() -> None:
        try:
            with client.cursor() as cur:
                cur.execute(f"INSERT INTO {table} VALUES (1)")
            outcome.append("OK")
        except pymysql.err.Error as exc:
            outcome.append(f"{exc.args[0]} {exc.args[1] if len(exc.args) > 1 else ''}")

    return client, outcome, insert


def test_a_thawed_old_master_is_fenced_at_once_and_its_waiting_commit_fails(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox, heartbeat=1, semi_sync_timeout_ms=SEMI_SYNC_TIMEOUT_MS)
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("CREATE TABLE held (id INT PRIMARY KEY)")
    client, outcome, insert = held_insert(box, "held")

    pid = box.server("M1").signal(signal.SIGSTOP)
    writer = threading.Thread(target=insert, daemon=True)
    try:
        writer.start()  # sent to a frozen server: it runs when master1 thaws
        wait_for(lambda: FINISHED in log_lines(box), INTERVAL * 4 + 30, "the failover to master2")
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    wait_for(lambda: read_only(box, "M1") == 1, 30, "the thawed old master fenced")
    fenced_after = time.monotonic() - thawed
    writer.join(30)
    client.close()
    print(f"thawed master1 read-only {fenced_after:.1f} s after SIGCONT (semi-sync timeout "
          f"{SEMI_SYNC_TIMEOUT_MS / 1000:g} s); the held INSERT's client saw: {outcome}")  # fmt: skip
    assert outcome and outcome[0] != "OK", "a commit master2 does not have was acknowledged as a success"
    assert fenced_after < SEMI_SYNC_TIMEOUT_MS / 1000 / 2, "fenced without waiting out the semi-sync timeout"
    ended = "fenced: read_only=ON; ended 1 session(s) waiting for a semi-sync ACK"
    assert any(ended in line for line in log_lines(box))


def test_a_fence_ends_a_waiting_commit_even_with_a_stale_semi_sync_client(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """master2 (its semi-sync replica) frozen: master1 still counts 1 semi-sync client that will
    never ACK. A commit waiting there is ended by the fence, which does not wait FENCE_WAIT and fail."""
    box = make_sandbox(daemon=False, semi_sync_timeout_ms=SEMI_SYNC_TIMEOUT_MS)
    master1 = box.config.master
    with box.server("M1").root() as cur:
        cur.execute("CREATE TABLE app.stale (id INT PRIMARY KEY)")
    client, outcome, insert = held_insert(box, "stale")

    def waiting() -> bool:
        with box.server("M1").root() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'")
            clients = int(cur.fetchone()[1])
            cur.execute(ACK_WAITERS_SQL)
            return clients == 1 and bool(cur.fetchall())

    pid = box.server("M2").signal(signal.SIGSTOP)
    writer = threading.Thread(target=insert, daemon=True)
    try:
        writer.start()
        wait_for(waiting, 10, "the INSERT waiting for an ACK, with master2 still counted as a semi-sync client")
        began = time.monotonic()
        detail = MySQL(box.config.monitor).fence(master1)
        took = time.monotonic() - began
        writer.join(10)
    finally:
        os.kill(pid, signal.SIGCONT)
        client.close()
    print(f"fence with a stale semi-sync client: {took:.2f} s ({detail}); the INSERT's client saw: {outcome}")
    assert detail.startswith("read_only=ON; ended 1 session(s) waiting for a semi-sync ACK"), detail
    assert outcome and outcome[0].startswith("2013"), "the held commit's client gets lost connection, not OK"
    assert read_only(box, "M1") == 1
