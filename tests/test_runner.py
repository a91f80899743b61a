"""A Daemon and the runner built with small fakes: whole cycles, a resumed failover, an undone switchover
(through the operator command), a vetoed cycle and a watch-only cycle. Real state file, no servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fakes import FakeHooks, FakeMySQL, FakeSupervisor
from test_decide import WALL, classic_config

from ha import commands
from ha.config import Config, Node
from ha.daemon import Adapters, Daemon
from ha.errors import StepFailed, SupervisorError
from ha.inspect import look, render_text, to_json
from ha.metrics import Metrics
from ha.model import DaemonState
from ha.state import StateStore

NORMAL = "mysql-proxy-master1, mysql-proxy-master2, mysql-proxy-slave1, mysql-proxy-slave2"


@dataclass
class World:
    config: Config
    mysql: FakeMySQL
    supervisor: FakeSupervisor
    hooks: FakeHooks
    store: StateStore
    lines: list[str]
    daemon: Daemon

    def cycles(self, count: int) -> list[str]:
        return [self.daemon.run_cycle() for _ in range(count)]

    def events(self) -> list[str]:
        return [event.name for event in self.hooks.events]

    def said(self) -> tuple[str | None, str]:
        """The sentence the state file holds, and the "last cycle:" row of `mysqlha status`."""
        state = self.store.load()
        text = render_text(self.config, look(self.config, self.mysql, self.supervisor, state))  # type: ignore[arg-type]
        row = next(line for line in text.splitlines() if line.startswith("last cycle: "))
        assert to_json(self.config, look(self.config, self.mysql, self.supervisor, state))["daemon"]["sentence"] == (  # type: ignore[arg-type]
            state.sentence
        )
        return state.sentence, row

    def tools(self) -> commands.Tools:
        return commands.Tools(self.config, self.mysql, self.supervisor, self.store)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = classic_config(state_file=str(tmp_path / "state.json"))
    mysql, supervisor, hooks = FakeMySQL(config), FakeSupervisor(config), FakeHooks()
    store = StateStore(config.failover.state_file)
    adapters = Adapters(mysql, supervisor, store, hooks, Metrics(None))  # type: ignore[arg-type]
    lines: list[str] = []
    daemon = Daemon(config, adapters, log=lines.append, wall=lambda: WALL)
    yield World(config, mysql, supervisor, hooks, store, lines, daemon)
    daemon.pool.shutdown(wait=True)


def test_a_full_cycle_fails_over_once_and_then_waits(world: World) -> None:
    assert world.cycles(2) == ["all checks ok"] * 2
    world.mysql.down.add("master1")
    sentences = world.cycles(3)
    assert sentences[:2] == ["master1 failing: 1 of 3 failed checks", "master1 failing: 2 of 3 failed checks"]
    assert sentences[2] == "failover finished! : master2 is new master"
    state = world.store.load()
    assert (state.phase, state.case, state.analysis, state.sentence) == (
        "failed_over",
        "master_down",
        "master_down",
        sentences[2],
    )
    assert world.supervisor.calls == [
        f"stop {NORMAL}",
        "start mysql-proxy-slave-failover1, mysql-proxy-slave-failover2",
        "start mysql-proxy-master-failover1, mysql-proxy-master-failover2, mysql-proxy-slave-failover1, "
        "mysql-proxy-slave-failover2",
    ]
    assert world.mysql.calls == ["wait_caught_up master2", "promote master2"]
    assert world.events() == ["failure_detected", "failover_started", "failover_finished"]
    assert {event.analysis for event in world.hooks.events} == {"failing", "master_down"}
    for classic in ("master1 fail detected!", "master1 failing: failover starting", "failover1: 5 steps"):
        assert classic in world.lines
    assert world.lines.count("failover finished! : master2 is new master") == 1
    assert world.cycles(3)[-1] == "failed over (master1); waiting for an operator"
    assert world.events() == ["failure_detected", "failover_started", "failover_finished"], "acts once"
    assert world.daemon.last_sentence == "failed over (master1); waiting for an operator"


def test_a_resumed_failover_runs_only_the_steps_not_done(world: World) -> None:
    world.mysql.down.add("master1")
    world.supervisor.running = {"mysql-proxy-slave-failover1", "mysql-proxy-slave-failover2"}  # steps 1-2 done
    world.store.save(DaemonState(phase="failing_over", case="master_down", failed_node="master1", steps_done=3))
    assert world.cycles(1) == ["failover finished! : master2 is new master"]
    assert "master_down resuming at step 4" in world.lines
    assert "failover1: 5 steps" not in world.lines
    assert world.mysql.calls == ["promote master2"]
    assert len(world.supervisor.calls) == 1 and world.supervisor.calls[0].startswith(
        "start mysql-proxy-master-failover1"
    )
    assert world.store.load().phase == "failed_over"
    assert world.events() == ["failover_finished"]


def test_a_switchover_failing_before_the_promotion_is_undone(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.cycles(1)
    before = world.store.load()
    world.mysql.broken["wait_position"] = StepFailed("master2 did not apply 0-1-10 within 30 s")
    assert commands.switchover(world.tools(), dry_run=False) == 1
    out = capsys.readouterr().out.splitlines()
    assert world.mysql.read_only["master1"] is False, "master1 writable again"
    assert world.supervisor.running == set(world.config.proxies.normal), "the normal proxies serve"
    assert world.store.load() == replace(before, sentence=out[-1]), "armed, as before the switchover"
    assert out[-1] == (
        "switchover aborted and undone (step 3/7 wait until master2 applied everything master1 wrote failed: "
        "master2 did not apply 0-1-10 within 30 s); automatic failover armed"
    )
    assert f"  undo 1/2 start {NORMAL}: ok" in out
    assert "  undo 2/2 make master1 writable again: ok: master1 read_only=OFF" in out
    assert world.mysql.calls[-1] == "make_writable master1"
    del world.mysql.broken["wait_position"]
    assert world.cycles(1) == ["all checks ok"], "the daemon does not resume what was undone"
    assert commands.switchover(world.tools(), dry_run=False) == 0, "and a new switchover can start"
    assert world.store.load().phase == "switched_over"


def test_the_daemon_undoes_an_interrupted_switchover_that_cannot_go_on(world: World) -> None:
    armed = DaemonState(failures={"master1": 0, "master2": 0}, semi_sync_seen=True)
    world.mysql.fence(world.config.master)
    world.supervisor.stop(world.config.proxies.master_down.stop)
    world.mysql.calls.clear()
    world.store.save(
        DaemonState(
            phase="failing_over", case="switchover", failed_node="master1", steps_done=2, previous=armed.to_json()
        )
    )
    world.mysql.broken["wait_position"] = StepFailed("2013 Lost connection to master2")
    sentence = world.cycles(1)[0]
    assert sentence.startswith("switchover aborted and undone (step 3/7")
    assert world.store.load().phase == "armed"
    assert world.mysql.read_only["master1"] is False
    assert world.supervisor.running == set(world.config.proxies.normal)


def test_a_vetoed_cycle_announces_one_veto_and_no_start(world: World) -> None:
    world.hooks.veto = "pre_failover hook exited 3: maintenance window"
    world.cycles(1)
    world.mysql.down.add("master1")
    sentences = world.cycles(3)
    assert sentences[-1] == "failover master_down of master1 vetoed by the pre_failover hook"
    assert world.events() == ["failure_detected", "failover_vetoed"]
    assert [event.name for event in world.hooks.asked] == ["failover_started"]
    assert world.lines[-1] == "master1 failing: failover VETOED by the pre_failover hook: " + world.hooks.veto
    assert "master1 failing: failover starting" not in world.lines
    state = world.store.load()
    assert (state.phase, state.analysis) == ("armed", "failover_vetoed")
    assert world.supervisor.calls == [] and world.mysql.calls == []
    world.hooks.veto = None
    assert world.cycles(1) == ["failover finished! : master2 is new master"], "asked again next cycle"


def test_while_an_operator_holds_the_lock_the_cycle_only_watches(world: World) -> None:
    world.mysql.down.add("master1")
    world.cycles(2)
    saved = world.store.path.read_text()
    with StateStore(world.store.path).lock():
        assert world.cycles(3) == ["operator command in progress: watching only"] * 3
    assert world.store.path.read_text() == saved, "nothing saved, nothing acted on"
    assert "3 failures in a row" in world.lines[-4], "counted for the log, not kept"
    assert world.lines[-1] == "an operator command holds the state lock: watching only this cycle"
    assert world.supervisor.calls == []


class ClosedOnce:
    """A watch channel that reports master1 closed once."""

    def __init__(self) -> None:
        self.pending, self.rearmed = {"master1"}, []

    def take(self) -> frozenset[str]:
        taken, self.pending = frozenset(self.pending), set()
        return taken

    def rearm(self, name: str) -> None:
        self.rearmed.append(name)

    def close(self, timeout: float = 2.0) -> None:
        pass


def test_a_closed_channel_ends_the_sleep_at_once_and_a_good_check_rearms_it(world: World) -> None:
    channel = ClosedOnce()
    world.daemon.adapters.watcher = channel  # type: ignore[assignment]
    world.cycles(1)
    assert sorted(channel.rearmed) == ["master1", "master2"]
    began = time.monotonic()
    assert world.daemon.sleep(time.monotonic()) == frozenset({"master1"})  # interval 5 s: not waited
    assert time.monotonic() - began < 1.0


def test_a_suspect_node_is_rechecked_at_the_recheck_interval(world: World) -> None:
    monitor = replace(world.config.monitor, recheck_interval=0.2)
    world.daemon.config = replace(world.config, monitor=monitor)
    world.mysql.down.add("master1")
    world.cycles(1)
    assert world.daemon.seen.failures["master1"] == 1
    began = time.monotonic()
    assert world.daemon.sleep(began) == frozenset()
    assert 0.15 < time.monotonic() - began < 2.0  # not the 5 s interval


def test_only_decide_and_the_runner_write_the_phase() -> None:
    """``phase=`` (a state given a new phase) appears in ha/decide.py and ha/runner.py only."""
    package = Path(__file__).resolve().parent.parent / "ha"
    writers = {path.name for path in package.rglob("*.py") if "phase=" in path.read_text()}
    assert writers == {"decide.py", "runner.py"}


def test_the_state_file_says_where_a_failing_step_stopped_the_failover(world: World) -> None:
    """`status` (text and JSON) shows the daemon's last sentence, not "started failover" / "resuming"."""
    world.cycles(1)
    world.mysql.down.add("master1")
    world.mysql.broken["promote"] = StepFailed("2013 Lost connection to master2")
    sentences = world.cycles(4)
    stopped = "failover stopped before step 4: promote master2 (without semi-sync: no semi-sync replica is left) failed"
    assert sentences[2:] == [f"{stopped}: 2013 Lost connection to master2"] * 2, "started, then resumed"
    assert world.daemon.last_sentence == sentences[-1]
    assert world.said() == (sentences[-1], f"last cycle: {sentences[-1]} [resuming]")
    state = world.store.load()
    assert (state.phase, state.steps_done) == ("failing_over", 3)
    del world.mysql.broken["promote"]
    assert world.cycles(1) == ["failover finished! : master2 is new master"]
    assert world.said()[0] == "failover finished! : master2 is new master"


class Unstoppable(FakeSupervisor):
    def stop(self, names):  # type: ignore[no-untyped-def]
        raise SupervisorError(f"stop {names[0]}: supervisord did not answer")


def test_the_state_file_says_a_resumed_plan_is_held(world: World) -> None:
    world.mysql.down.add("master1")
    world.store.save(DaemonState(phase="failing_over", case="master_down", failed_node="master1", steps_done=2))
    world.daemon.adapters.supervisor = world.supervisor = Unstoppable(world.config)
    held = "master_down not resumed: a proxy its finished steps stopped still runs"
    assert world.cycles(1) == [held]
    assert world.said() == (held, f"last cycle: {held} [resuming]")


class LosesPromote(FakeMySQL):
    """``promote`` gets as far as read_only=OFF on master2, then the connection is lost."""

    def promote(self, node: Node, timeout: float) -> str:
        super().promote(node, timeout)
        raise StepFailed(f"2013 Lost connection to {node.name} during the promotion")


def test_a_switchover_whose_promotion_fails_half_way_puts_master2_back_before_master1_writes(world: World) -> None:
    world.cycles(1)
    before = world.store.load()
    mysql = world.daemon.adapters.mysql = world.mysql = LosesPromote(world.config)
    assert commands.switchover(world.tools(), dry_run=False) == 1
    calls = mysql.calls
    assert calls[calls.index("promote master2") :] == [
        "promote master2",
        "fence master2",
        "errant master2",
        "replicate_from master2 master1",
        "semi_sync_source master1",
        "make_writable master1",
    ], "master2 a verified read-only semi-sync replica before master1 takes writes"
    assert mysql.read_only == {"master1": False, "master2": True, "slave3": True, "slave4": True}
    assert world.supervisor.running == set(world.config.proxies.normal)
    state = world.store.load()
    assert state == replace(before, sentence=state.sentence) and state.sentence is not None
    assert state.sentence.startswith("switchover aborted and undone (step 4/7 promote master2 failed: 2013 Lost")


def test_a_switchover_whose_promotion_fails_with_master2_gone_makes_nothing_writable(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """master2's state unknown: master1 stays read-only, no proxy started, the switchover stays in
    progress; once master2 answers the daemon goes on with it."""
    world.cycles(1)
    mysql = world.daemon.adapters.mysql = world.mysql = LosesPromote(world.config)

    def gone(node: Node, timeout: float) -> str:
        mysql.down.add(node.name)  # master2 dies during the promotion
        return LosesPromote.promote(mysql, node, timeout)

    mysql.promote = gone  # type: ignore[method-assign]
    assert commands.switchover(world.tools(), dry_run=False) == 1
    out = capsys.readouterr().out.splitlines()
    assert mysql.calls[-2:] == ["promote master2", "fence master2"], "no undo after master2's failed"
    assert mysql.read_only["master1"] is True, "master1 stays fenced"
    assert world.supervisor.running == set(), "no proxy started: no write path"
    state = world.store.load()
    assert (state.phase, state.case, state.steps_done) == ("failing_over", "switchover", 3)
    assert out[-1] == state.sentence
    assert out[-1].startswith("switchover NOT undone, nothing made writable: step 4/7 promote master2 failed")
    assert "undoing it failed: 2003 Can't connect to master2" in out[-1]
    back = world.daemon.adapters.mysql = FakeMySQL(world.config)  # master2 answers, and promotes
    back.read_only = dict(mysql.read_only)
    assert world.cycles(1)[0].startswith("switchover finished"), "resumed forward once master2 answers"
    assert back.calls[0] == "promote master2" and world.store.load().phase == "switched_over"
