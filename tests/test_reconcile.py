"""Reconciling the proxies to the phase: the pure decision (a table), and whole daemon cycles over fakes
(a reload that restarted the normal set, a program supervisord lacks, a start that fails, a resumed plan)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import FakeSupervisor
from test_decide import ARMED, CONFIG, OK, WALL, snapshot
from test_runner import World
from test_runner import world as runner_world

from ha import commands
from ha.decide import decide
from ha.errors import MysqlhaError, SupervisorError
from ha.layout import phase_layout
from ha.model import DaemonState, Fence, Reconcile, ResumeFailover, Snapshot, StartFailover

world = runner_world  # the fixture: a Daemon over fakes, with a real state file
PROXIES = CONFIG.proxies
NORMAL = frozenset(PROXIES.normal)
M1_WRITES = ("mysql-proxy-master1", "mysql-proxy-master2")
M2_WRITES = ("mysql-proxy-master-failover1", "mysql-proxy-master-failover2")
S4_READS = ("mysql-proxy-slave-failover1", "mysql-proxy-slave-failover2")
S3_READS = ("mysql-proxy-slave-failover3", "mysql-proxy-slave-failover4")
NORMAL_READS = ("mysql-proxy-slave1", "mysql-proxy-slave2")
FAILED_OVER = DaemonState(phase="failed_over", case="master_down", failed_node="master1")
CASE_2 = DaemonState(phase="failed_over", case="candidate_down", failed_node="master2")
SWITCHED = DaemonState(phase="switched_over", case="switchover", failed_node="master1")
REFUSED = DaemonState(phase="refused", failed_node="master1", reason="semi-sync off")
RO, RW = replace(OK, read_only=True), OK
DOWN = replace(OK, status="failed", error="2003 Can't connect")


def states(running: set[str] | frozenset[str]) -> dict[str, str]:
    return {name: "RUNNING" if name in running else "STOPPED" for name in PROXIES.programs}


def seen(running: set[str] | frozenset[str], master: object = RW, candidate: object = RO) -> Snapshot:
    return replace(snapshot(master, candidate), programs=states(running))  # type: ignore[arg-type]


def resuming(steps_done: int, case: str = "master_down", **more: object) -> DaemonState:
    return DaemonState(phase="failing_over", case=case, failed_node="master1", steps_done=steps_done, **more)  # type: ignore[arg-type]


def test_each_phase_wants_its_layout() -> None:
    assert phase_layout(CONFIG, "armed", None) == NORMAL
    assert phase_layout(CONFIG, "failed_over", "master_down") == frozenset(M2_WRITES + S4_READS)
    assert phase_layout(CONFIG, "failed_over", "candidate_down") == frozenset(M1_WRITES + S3_READS)
    assert phase_layout(CONFIG, "switched_over", "switchover") == frozenset(M2_WRITES + S4_READS)
    assert phase_layout(CONFIG, "switched_over", "rejoin_master") == frozenset(M2_WRITES + S4_READS)
    assert phase_layout(CONFIG, "refused", None) is None, "refused touched nothing: the operator's"


FAILOVER_LAYOUT = frozenset(M2_WRITES + S4_READS)


@pytest.mark.parametrize(
    ("snap", "state", "expected"),
    [
        (seen(NORMAL), ARMED, None),
        (seen(NORMAL - {"mysql-proxy-slave2"}), ARMED, Reconcile("armed", (), ("mysql-proxy-slave2",))),
        # a reload (kill -HUP) after a failover started the normal set again; master1 fenced
        (
            seen(NORMAL, RO, RW),
            FAILED_OVER,
            Reconcile("failed_over (master_down)", tuple(PROXIES.normal), M2_WRITES + S4_READS),
        ),
        (seen(FAILOVER_LAYOUT, RO, RW), FAILED_OVER, None),
        # supervisord restarted with only some normal programs up: stop them, start the rest
        (
            seen(frozenset(M1_WRITES) | set(S4_READS), DOWN, RW),
            FAILED_OVER,
            Reconcile("failed_over (master_down)", M1_WRITES, M2_WRITES),
        ),
        (
            seen(NORMAL),
            CASE_2,
            Reconcile("failed_over (candidate_down)", NORMAL_READS, S3_READS),
        ),
        (
            seen(NORMAL, RO, RW),
            SWITCHED,
            Reconcile("switched_over (switchover)", tuple(PROXIES.normal), M2_WRITES + S4_READS),
        ),
        (seen(NORMAL), REFUSED, None),
        (seen(FAILOVER_LAYOUT), REFUSED, None),
        # a resumed failover: after step 1 nothing runs; after step 2 the read-failover set runs
        (seen(NORMAL, DOWN), resuming(1), Reconcile("master_down after step 1", tuple(PROXIES.normal), ())),
        (seen(NORMAL, DOWN), resuming(2), Reconcile("master_down after step 2", tuple(PROXIES.normal), S4_READS)),
        (seen(frozenset(S4_READS), DOWN), resuming(2), None),
        # before step 1, starting what step 1 stops is pointless
        (seen(NORMAL - {"mysql-proxy-master1"}, DOWN), resuming(0), None),
        (seen(FAILOVER_LAYOUT, DOWN), resuming(0), Reconcile("master_down after step 0", M2_WRITES + S4_READS, ())),
        # an operator's switchover resumed after its stop step (from armed: the normal set, then stopped)
        (
            seen(NORMAL, RO, RO),
            resuming(2, "switchover", previous=ARMED.to_json()),
            Reconcile("switchover after step 2", tuple(PROXIES.normal), ()),
        ),
    ],
    ids=[
        "armed-normal",
        "armed-one-stopped",
        "failed_over-after-reload",
        "failed_over-right",
        "failed_over-half",
        "case2-after-reload",
        "switched_over-after-reload",
        "refused-normal",
        "refused-anything",
        "resume-after-step1",
        "resume-after-step2",
        "resume-right",
        "resume-step0",
        "resume-step0-stray",
        "switchover-after-step2",
    ],
)
def test_decide_reconciles_to_the_phase(snap: Snapshot, state: DaemonState, expected: Reconcile | None) -> None:
    decision = decide(snap, state, CONFIG, WALL)
    reconciles = [action for action in decision.actions if isinstance(action, Reconcile)]
    assert reconciles == ([expected] if expected else [])
    if expected and state.phase == "failing_over":
        assert decision.actions == (expected, ResumeFailover()), "the layout first, then the plan goes on"


def test_a_thawed_writable_master1_is_cut_off_and_fenced_in_one_cycle() -> None:
    decision = decide(seen(NORMAL, RW, RW), FAILED_OVER, CONFIG, WALL)
    assert decision.actions == (
        Reconcile("failed_over (master_down)", tuple(PROXIES.normal), M2_WRITES + S4_READS),
        Fence("master1"),
    )


def test_nothing_is_reconciled_when_the_databases_contradict_the_phase() -> None:
    """armed (a lost state file, an ack --force) while master2 is the writable one: the normal set would
    send writes to a read-only master1 and stop the proxies serving master2."""
    decision = decide(seen(FAILOVER_LAYOUT, RO, RW), ARMED, CONFIG, WALL)
    assert not decision.actions
    assert decision.lines[-1].startswith("proxies NOT reconciled to armed: the state says master1 is master")


def test_a_starting_failover_moves_the_proxies_itself() -> None:
    state = replace(ARMED, failures={"master1": 2, "master2": 0})
    decision = decide(seen(NORMAL - {"mysql-proxy-slave1"}, DOWN), state, CONFIG, WALL)
    assert decision.actions == (StartFailover("master_down", "master1"),)


def test_an_operator_holding_the_lock_means_no_reconcile() -> None:
    decision = decide(seen(NORMAL, RO, RW), FAILED_OVER, CONFIG, WALL, watch_only=True)
    assert decision.actions == ()


def test_supervisord_not_answering_is_said_and_nothing_reconciled() -> None:
    snap = replace(snapshot(RO, RW), programs_error="supervisord at unix:///x did not answer")
    decision = decide(snap, FAILED_OVER, CONFIG, WALL)
    assert decision.actions == ()
    assert (
        decision.lines[-1]
        == "  supervisord: supervisord at unix:///x did not answer; proxies not reconciled this cycle"
    )


# -- whole cycles over fakes --------------------------------------------------------------------------------


def failed_over(world: World) -> None:
    world.cycles(1)  # master1 seen with semi-sync
    world.mysql.down.add("master1")
    world.cycles(3)
    assert world.store.load().phase == "failed_over"
    world.supervisor.calls.clear()


def test_a_reload_after_a_failover_is_put_back_in_one_line(world: World) -> None:
    failed_over(world)
    world.supervisor.running = set(PROXIES.normal)  # kill -HUP: the normal set autostarts, nothing else
    world.cycles(1)
    line = (
        "reconciled proxies to failed_over (master_down): stopped mysql-proxy-master1, mysql-proxy-master2, "
        "mysql-proxy-slave1, mysql-proxy-slave2; started mysql-proxy-master-failover1, "
        "mysql-proxy-master-failover2, mysql-proxy-slave-failover1, mysql-proxy-slave-failover2"
    )
    assert line in world.lines
    assert world.supervisor.running == FAILOVER_LAYOUT
    assert world.events()[-1] == "proxies_reconciled"
    world.supervisor.calls.clear()
    world.cycles(2)
    assert world.supervisor.calls == [], "a layout that is right is left alone"


class Stubborn(FakeSupervisor):
    """supervisord where some programs cannot start, and one is unknown."""

    def __init__(self, *args: object, refuse: set[str], unknown: set[str]) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.refuse, self.unknown = refuse, unknown

    def states(self) -> dict[str, str]:
        return {n: s for n, s in super().states().items() if n not in self.unknown}

    def start(self, programs, wait=True):  # type: ignore[no-untyped-def]
        for program in programs:
            if program.name in self.refuse:
                raise SupervisorError(f"{program.listen} is already served by another process; not starting")
        super().start(programs, wait)


def test_a_start_that_fails_and_an_unknown_program_are_logged_and_retried(world: World) -> None:
    failed_over(world)
    stubborn = Stubborn(world.config, refuse={"mysql-proxy-slave-failover1"}, unknown={"mysql-proxy-master-failover2"})
    stubborn.running = set(PROXIES.normal)
    world.daemon.adapters.supervisor = stubborn  # type: ignore[assignment]
    world.cycles(1)
    line = next(line for line in world.lines if line.startswith("reconciled proxies"))
    assert "stopped mysql-proxy-master1, mysql-proxy-master2, mysql-proxy-slave1, mysql-proxy-slave2" in line
    assert "started mysql-proxy-master-failover1, mysql-proxy-slave-failover2; FAILED:" in line
    assert "mysql-proxy-master-failover2 unknown to supervisord" in line
    assert "start mysql-proxy-slave-failover1: 127.0.0.1:3041 is already served" in line
    assert line.endswith("(retried next cycle)")
    stubborn.refuse.clear()
    world.cycles(1)
    assert world.lines[-1] == (
        "reconciled proxies to failed_over (master_down): started mysql-proxy-slave-failover1; FAILED: "
        "mysql-proxy-master-failover2 unknown to supervisord (retried next cycle)"
    )
    assert "mysql-proxy-slave-failover1" in stubborn.running
    world.cycles(1)
    assert world.lines[-1] == (
        "proxies NOT reconciled to failed_over (master_down); FAILED: mysql-proxy-master-failover2 unknown to "
        "supervisord (retried next cycle)"
    )
    assert world.events().count("reconcile_failed") == 1, "a condition, announced once per episode"


def test_a_resumed_failover_first_puts_the_proxies_where_its_steps_left_them(world: World) -> None:
    """supervisord restarted after step 2: the normal set autostarted, the read-failover set did not."""
    world.mysql.down.add("master1")
    world.store.save(resuming(2))
    world.supervisor.running = set(PROXIES.normal)
    assert world.cycles(1) == ["failover finished! : master2 is new master"]
    assert world.supervisor.calls[:6] == [
        "stop mysql-proxy-master1",
        "stop mysql-proxy-master2",
        "stop mysql-proxy-slave1",
        "stop mysql-proxy-slave2",
        "start mysql-proxy-slave-failover1",
        "start mysql-proxy-slave-failover2",
    ]
    reconciled = world.lines.index(
        "reconciled proxies to master_down after step 2: stopped mysql-proxy-master1, mysql-proxy-master2, "
        "mysql-proxy-slave1, mysql-proxy-slave2; started mysql-proxy-slave-failover1, mysql-proxy-slave-failover2"
    )
    step3 = next(n for n, line in enumerate(world.lines) if line.startswith("  step 3/5 wait until master2"))
    assert reconciled < step3
    assert world.supervisor.running == FAILOVER_LAYOUT


class Unstoppable(FakeSupervisor):
    def stop(self, names):  # type: ignore[no-untyped-def]
        raise SupervisorError(f"stop {names[0]}: supervisord did not answer")


def test_a_resumed_failover_waits_while_what_it_stopped_cannot_be_stopped(world: World) -> None:
    world.mysql.down.add("master1")
    world.store.save(resuming(2))
    world.daemon.adapters.supervisor = Unstoppable(world.config)  # type: ignore[assignment]
    sentence = world.cycles(1)[0]
    assert sentence == "master_down not resumed: a proxy its finished steps stopped still runs"
    assert world.mysql.calls == [], "master2 is not promoted while the old write path may still run"
    assert world.store.load().steps_done == 2


def test_ack_checks_who_is_writable_not_only_which_proxies_run(world: World) -> None:
    """After a failover and a reload that restarted the normal proxies, the programs look normal, but
    master1 is fenced and master2 writable: ack refuses, naming the roles."""
    failed_over(world)
    world.mysql.down.discard("master1")
    world.cycles(1)  # fenced
    world.supervisor.running = set(PROXIES.normal)  # the proxies look normal again
    with pytest.raises(MysqlhaError) as refused:
        commands.ack(world.tools(), force=False)
    text = str(refused.value)
    assert "master1: read_only is ON, expected OFF for a master" in text
    assert "master2: read_only is OFF, expected ON for a candidate" in text
    assert world.store.load().phase == "failed_over"
    world.mysql.read_only.update(master1=False, master2=True)  # an operator put the roles back by hand
    assert commands.ack(world.tools(), force=False) == 0
    assert world.store.load().phase == "armed"
