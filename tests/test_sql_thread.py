"""Issue 9, defect 8 and its audit: a stopped SQL thread on master2, checked before step 1.

The screen before a failover (ha/preflight.py ``refusal``) starts master2's SQL thread when it was
stopped while its IO thread runs: everything master2 received is in its relay log, so it applies it
and the failover completes. An SQL error that stops it again is a refusal with nothing touched, with
the error text. Both threads stopped by hand (STOP SLAVE) is refused too: master2's relay log may
lack what master1 committed since.
"""

from __future__ import annotations

from collections.abc import Callable

from conftest import log_lines, needs_servers, wait_for
from test_safety import FINISHED, INTERVAL, read_only, started

from ha.liveness import Heartbeat
from ha.mysql import replica_status
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
DEADLINE = INTERVAL * 4 + 20
REFUSED = "master1 failing: failover NOT STARTED, nothing touched: "


def write(box: Sandbox, *statements: str) -> None:
    program = box.config.proxies.programs["mysql-proxy-master1"]
    with box.app(program.listen_host, program.listen_port) as cur:
        for statement in statements:
            cur.execute(statement)


def sql_running(box: Sandbox, node: str) -> bool:
    with box.server(node).root() as cur:
        view = replica_status(cur)
    return view is not None and view.sql_running


def refused(box: Sandbox) -> str:
    """The refusal line, once it is logged; asserts nothing was touched."""
    wait_for(lambda: any(REFUSED in line for line in log_lines(box)), DEADLINE, "the refusal before step 1")
    line = next(line for line in log_lines(box) if REFUSED in line)
    states = box.supervisor().states()
    assert all(states[name] == "RUNNING" for name in box.config.proxies.normal), states
    assert read_only(box, "M2") == 1, "master2 untouched"
    assert FINISHED not in log_lines(box)
    assert not any("step 1/" in line for line in log_lines(box)), "no step ran"
    beat = Heartbeat.for_state(box.config.failover.state_file).read()
    assert beat is not None and beat.analysis == "candidate_cannot_apply", beat  # not "grants_missing"
    return line


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
    with box.server("M2").root() as cur:
        cur.execute("SELECT COUNT(*) FROM app.kept")
        assert cur.fetchone()[0] == 10, "every acknowledged write applied before promotion"
    assert read_only(box, "M2") == 0


def test_a_sql_thread_that_stops_again_on_an_error_is_refused_before_step_1(
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
    line = refused(box)
    assert "master2's SQL thread stopped again after START SLAVE SQL_THREAD" in line, line
    assert "Duplicate entry" in line, line


def test_both_threads_stopped_by_hand_are_refused_before_step_1(make_sandbox: Callable[..., Sandbox]) -> None:
    box = started(make_sandbox)
    with box.server("M2").root() as cur:
        cur.execute("STOP SLAVE")  # maintenance of both threads
    box.server("M1").kill()
    line = refused(box)
    assert "master2's replication is stopped (IO and SQL threads; by hand?)" in line, line
    assert not sql_running(box, "M2"), "left as the operator left it"
