"""Issue 9, defect 8: a stopped SQL thread on master2 does not block the failover.

Everything master2 received is in its relay log: the catch-up step starts the SQL thread and
waits for the apply. An SQL error that stops it again is reported, with the error, and the
failover stops at its safe point (master2 stays read-only).
"""

from __future__ import annotations

from collections.abc import Callable

from conftest import log_lines, needs_servers, wait_for
from test_safety import FINISHED, INTERVAL, read_only, started

from ha.mysql import replica_status
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
DEADLINE = INTERVAL * 4 + 20


def write(box: Sandbox, *statements: str) -> None:
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        for statement in statements:
            cur.execute(statement)


def sql_running(box: Sandbox, node: str) -> bool:
    with box.server(node).root() as cur:
        view = replica_status(cur)
    return view is not None and view.sql_running


def test_a_sql_thread_stopped_by_hand_is_started_and_the_failover_completes(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox)
    write(box, "CREATE TABLE kept (id INT PRIMARY KEY)")
    wait_for(lambda: sql_running(box, "M2"), 10, "M2 replicating")
    with box.server("M2").root() as cur:
        cur.execute("STOP SLAVE SQL_THREAD")  # maintenance: M2 receives (and acks), applies nothing
    write(box, *(f"INSERT INTO kept VALUES ({i})" for i in range(10)))
    box.server("M1").kill()
    wait_for(lambda: FINISHED in log_lines(box), DEADLINE, "the failover")
    assert any("started its stopped SQL thread" in line for line in log_lines(box))
    with box.server("M2").root() as cur:
        cur.execute("SELECT COUNT(*) FROM app.kept")
        assert cur.fetchone()[0] == 10, "every acknowledged write applied before promotion"
    assert read_only(box, "M2") == 0


def test_a_sql_thread_that_stops_again_on_an_error_is_reported_and_not_promoted(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox)
    write(box, "CREATE TABLE clash (id INT PRIMARY KEY)")
    wait_for(lambda: sql_running(box, "M2"), 10, "M2 replicating")
    with box.server("M2").root() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute("INSERT INTO app.clash VALUES (5)")  # a row only M2 has
    write(box, "INSERT INTO clash VALUES (5)")  # M2's SQL thread stops: duplicate key
    wait_for(lambda: not sql_running(box, "M2"), 10, "M2's SQL thread stopped on the error")
    box.server("M1").kill()
    wait_for(
        lambda: any("SQL thread stopped" in line and "Duplicate entry" in line for line in log_lines(box)),
        DEADLINE,
        "the catch-up step reporting the SQL error",
    )
    assert any("safe point" in line for line in log_lines(box))
    assert read_only(box, "M2") == 1, "not promoted: it cannot apply what it received"
    assert FINISHED not in log_lines(box)
