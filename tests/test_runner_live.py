"""A switchover whose promotion fails half-way, against real servers: master2 has already been detached
(STOP SLAVE, RESET SLAVE ALL) and made writable when the error comes. The undo must not leave master2
detached or writable while master1 takes writes again; when master2 cannot be reached, nothing is made
writable and the switchover stays in progress until master2 answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from conftest import log_lines, needs_servers, wait_for
from test_safety import read_only, started, state

from ha import commands
from ha.config import Node
from ha.errors import StepFailed
from ha.mysql import MySQL, replica_status
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers


class LosesPromote(MySQL):
    """The real promotion runs to its end (master2 detached, read_only=OFF), then the caller sees an error;
    ``then`` runs first (say, kill master2)."""

    def __init__(self, monitor: object, then: Callable[[], None] = lambda: None) -> None:
        super().__init__(monitor)  # type: ignore[arg-type]
        self.then = then

    def promote(self, node: Node, timeout: float) -> str:
        super().promote(node, timeout)
        self.then()
        raise StepFailed(f"2013 Lost connection to {node.name} during the promotion (injected after it ran)")


def semi_sync(box: Sandbox, node: str) -> dict[str, str]:
    with box.server(node).root() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'")
        return {name.lower(): str(value) for name, value in cur.fetchall()}


def switchover_losing_promote(box: Sandbox, then: Callable[[], None] = lambda: None) -> int:
    tools = commands.Tools.load(str(box.config_path))
    return commands.switchover(replace(tools, mysql=LosesPromote(tools.config.monitor, then)), dry_run=False)


def test_a_half_done_promotion_is_undone_master2_back_as_a_read_only_semi_sync_replica(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox)
    program = box.config.proxies.programs["mysql-proxy-master1"]
    assert switchover_losing_promote(box) == 1
    assert state(box).phase == "armed"
    assert read_only(box, "M1") == 0 and read_only(box, "M2") == 1, "one writable master: master1"
    with box.server("M2").root() as cur:
        view = replica_status(cur)
    master = box.config.master
    assert view is not None and (view.source_host, view.source_port, view.io_running, view.sql_running) == (
        master.host,
        master.port,
        "Yes",
        True,
    ), "master2 replicates from master1 again"
    assert semi_sync(box, "M2")["rpl_semi_sync_slave_status"] == "ON"
    m1 = semi_sync(box, "M1")
    assert m1["rpl_semi_sync_master_status"] == "ON" and int(m1["rpl_semi_sync_master_clients"]) >= 1
    programs = box.supervisor().states()
    assert all(programs[name] == "RUNNING" for name in box.config.proxies.normal), programs
    with box.app(program.listen_host, program.listen_port) as cur:
        cur.execute("CREATE TABLE after_undo (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO after_undo VALUES (1)")
        cur.execute("SELECT @@port")
        assert cur.fetchone()[0] == box.config.master.port

    def on_master2() -> bool:
        with box.server("M2").root() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'after_undo'")
            return cur.fetchone()[0] == 1

    wait_for(on_master2, 30, "master1's write on master2")
    count = len(log_lines(box))
    wait_for(lambda: log_lines(box)[count:].count("ok") >= 4, 30, "the daemon's next checks")
    assert not any("switchover resuming" in line for line in log_lines(box))


def test_a_promotion_failing_with_master2_gone_makes_nothing_writable_then_goes_on(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    box = started(make_sandbox)
    m2 = box.server("M2")
    assert switchover_losing_promote(box, then=m2.kill) == 1
    saved = state(box)
    assert (saved.phase, saved.case, saved.steps_done) == ("failing_over", "switchover", 3)
    assert saved.sentence and saved.sentence.startswith("switchover NOT undone, nothing made writable")
    assert read_only(box, "M1") == 1, "master1 stays fenced while master2's state is unknown"
    programs = box.supervisor().states()
    writers = [*box.config.proxies.normal, *box.config.proxies.master_down.start]
    assert not any(programs[name] == "RUNNING" for name in writers if "master" in name), programs
    m2.start()
    m2.wait_ready()
    wait_for(lambda: state(box).phase == "switched_over", 60, "the daemon to finish the switchover")
    assert read_only(box, "M2") == 0 and read_only(box, "M1") == 1
    with box.server("M1").root() as cur:
        view = replica_status(cur)
    candidate = box.config.candidate
    assert view is not None and (view.source_host, view.source_port) == (candidate.host, candidate.port)
