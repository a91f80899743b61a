"""ha.runner runs idempotent steps, saves progress after each, undoes an operator plan that fails before it
commits; ha.state stores the state atomically, under a lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ha.config import Config, parse_config
from ha.errors import MysqlhaError, StepFailed
from ha.model import Case, DaemonState
from ha.plans import Plan, Step, finished_line
from ha.runner import Runner
from ha.state import StateStore

SHIPPED = Path(__file__).resolve().parent.parent / "conf" / "mysqlha.yml"
FAILING_OVER = DaemonState(phase="failing_over", case="master_down", failed_node="master1", since=10.0)


def classic_config() -> Config:
    """conf/mysqlha.yml with inline passwords: master1, master2 (candidate), slave3, slave4."""
    data = yaml.safe_load(SHIPPED.read_text())
    for section in ("monitor", "replication"):
        del data[section]["password_file"]
        data[section]["password"] = "x"
    return parse_config(data, str(SHIPPED))


CONFIG = classic_config()


class Store:
    """Stands in for the state file: records every save."""

    def __init__(self, saved: list[DaemonState]) -> None:
        self.saved = saved

    def save(self, state: DaemonState) -> None:
        self.saved.append(state)


def failover_plan(case: Case, steps: list[Step]) -> Plan:
    header = "failover1" if case == "master_down" else "failover2"
    return Plan(case, tuple(steps), "failed_over", False, f"{header}: {len(steps)} steps", "failover")


class Run:
    """Records what the steps did, what was saved and what was logged."""

    def __init__(self) -> None:
        self.ran: list[int] = []
        self.saved: list[DaemonState] = []
        self.lines: list[str] = []
        self.undone: list[int] = []

    def steps(self, count: int = 4, failing: int | None = None) -> list[Step]:
        def run(index: int) -> None:
            self.ran.append(index)
            if index == failing:
                raise StepFailed(f"step {index} broke")

        return [Step(f"step{index}", lambda index=index: run(index)) for index in range(count)]

    def runner(self, should_stop: Callable[[], bool] = lambda: False) -> Runner:
        store = Store(self.saved)
        return Runner(CONFIG, None, None, store, self.lines.append, should_stop=should_stop)  # type: ignore[arg-type]

    def __call__(
        self, state: DaemonState, steps: list[Step], should_stop: Callable[[], bool] = lambda: False
    ) -> DaemonState:
        assert state.case is not None
        return self.runner(should_stop).run(state, failover_plan(state.case, steps)).state


def test_all_steps_run_in_order_and_progress_is_saved_after_each() -> None:
    run = Run()
    final = run(FAILING_OVER, run.steps(4))
    assert run.ran == [0, 1, 2, 3]
    assert [(s.phase, s.steps_done) for s in run.saved] == [("failing_over", n) for n in (1, 2, 3, 4)] + [
        ("failed_over", 4)
    ]
    sentence = "failover finished! : master2 is new master"
    assert final == run.saved[-1] == replace(FAILING_OVER, phase="failed_over", steps_done=4, sentence=sentence)
    assert run.lines[0] == "failover1: 4 steps"
    assert "failover finished! : master2 is new master" in run.lines
    assert "until master1 failback" in run.lines[-1]


@pytest.mark.parametrize("failing", [0, 2, 3])
def test_a_failing_step_stops_at_a_safe_point(failing: int) -> None:
    run = Run()
    final = run(FAILING_OVER, run.steps(4, failing=failing))
    assert run.ran == list(range(failing + 1))
    assert (final.phase, final.steps_done) == ("failing_over", failing)
    assert [s.steps_done for s in run.saved] == [*range(1, failing + 1), failing], "then saved with its sentence"
    assert final == run.saved[-1]
    assert final.sentence == f"failover stopped before step {failing + 1}: step{failing} failed: step {failing} broke"
    assert f"  step {failing + 1}/4 step{failing}: FAILED: step {failing} broke" in run.lines
    assert run.lines[-1] == f"failover stopped at a safe point before step {failing + 1}; it is retried next cycle"


def test_an_unexpected_error_is_not_swallowed() -> None:
    def crash() -> None:
        raise RuntimeError("bug")

    run = Run()
    with pytest.raises(RuntimeError):
        run(FAILING_OVER, [*run.steps(1), Step("crash", crash), *run.steps(1)])
    assert [s.steps_done for s in run.saved] == [1]


def test_resuming_runs_only_the_steps_not_done() -> None:
    run = Run()
    final = run(replace(FAILING_OVER, steps_done=2), run.steps(5))
    assert run.ran == [2, 3, 4]
    assert [s.steps_done for s in run.saved] == [3, 4, 5, 5]
    assert final.phase == "failed_over"
    assert not any(line.endswith("steps") for line in run.lines)
    assert run.lines[0].startswith("  step 3/5 step2: ok (")


def test_resuming_with_every_step_done_only_finishes() -> None:
    run = Run()
    final = run(replace(FAILING_OVER, steps_done=3), run.steps(3))
    assert run.ran == [] and final.phase == "failed_over" and len(run.saved) == 1


@pytest.mark.parametrize("stop_after", [0, 1, 3])
def test_should_stop_pauses_before_the_next_step(stop_after: int) -> None:
    run = Run()
    final = run(FAILING_OVER, run.steps(4), should_stop=lambda: len(run.ran) >= stop_after)
    assert run.ran == list(range(stop_after))
    assert (final.phase, final.steps_done) == ("failing_over", stop_after)
    assert run.lines[-1].startswith(f"failover paused before step {stop_after + 1}/4")
    assert final == run.saved[-1] and final.sentence == f"failover paused before step {stop_after + 1}"


class Refusing(Store):
    """The state in etcd as a monitor that no longer leads finds it: every write refused."""

    def save(self, state: DaemonState) -> None:
        raise MysqlhaError("mon1 does not lead (or its deadline passed): state not written")


def test_a_monitor_that_no_longer_leads_says_so_where_it_may() -> None:
    run = Run()
    runner = replace(run.runner(), may_act=lambda: not run.ran)
    outcome = runner.run(FAILING_OVER, failover_plan("master_down", run.steps(3)))
    assert run.ran == [0] and outcome.sentence == "failover stopped before step 2: not leading"
    assert outcome.state == run.saved[-1] and outcome.state.sentence == outcome.sentence, "a file store takes it"
    refused = replace(run.runner(), store=Refusing([]), may_act=lambda: False)
    outcome = refused.run(FAILING_OVER, failover_plan("master_down", run.steps(3)))
    assert outcome.state == FAILING_OVER, "etcd refuses a follower's write: the leader's state stays"
    assert outcome.sentence == "failover stopped before step 1: not leading"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("master_down", "failover finished! : master2 is new master"),
        ("candidate_down", "failover finished! : master2/slave4 has been purged"),
    ],
)
def test_finished_line_is_the_classic_one(case: Case, expected: str) -> None:
    assert finished_line(case, CONFIG) == expected


def test_candidate_down_is_numbered_failover2() -> None:
    run = Run()
    run(replace(FAILING_OVER, case="candidate_down", failed_node="master2"), run.steps(2))
    assert run.lines[0] == "failover2: 2 steps"
    assert "failover finished! : master2/slave4 has been purged" in run.lines


# -- an operator plan that fails before it commits is undone ----------------------------------------------

ARMED = DaemonState(failures={"master1": 0, "master2": 0}, semi_sync_seen=True, master_position="0-1-9")
SWITCHING = replace(
    ARMED, phase="failing_over", case="switchover", failed_node="master1", since=5.0, previous=ARMED.to_json()
)


def operator_plan(
    run: Run,
    count: int,
    failing: int | None,
    commits_at: int,
    broken_undo: int | None = None,
    commit_undo: bool = False,
) -> Plan:
    """``count`` steps; step ``commits_at`` commits; every step before it has an undo (``commit_undo``:
    the committing step too, as a promotion has)."""

    def undo(index: int) -> None:
        run.undone.append(index)
        if index == broken_undo:
            raise StepFailed(f"undo {index} broke")

    steps = run.steps(count, failing)
    last = commits_at + 1 if commit_undo else commits_at
    with_undo = [
        replace(step, undo=Step(f"undo{i}", lambda i=i: undo(i)) if i < last else None, commits=i == commits_at)
        for i, step in enumerate(steps)
    ]
    return Plan("switchover", tuple(with_undo), "switched_over", True, "switchover: 5 steps", "switchover")


@pytest.mark.parametrize("failing", [0, 1, 2])
def test_a_failure_before_the_commit_undoes_last_change_first_and_restores_the_previous_state(failing: int) -> None:
    run = Run()
    outcome = run.runner().run(SWITCHING, operator_plan(run, 5, failing, commits_at=3))
    assert run.undone == list(range(min(failing, 2), -1, -1)), "the failing step's own undo too, then backwards"
    assert outcome.state == run.saved[-1] == replace(ARMED, sentence=outcome.sentence)
    assert not outcome.finished and outcome.events == ()
    assert run.lines[-1] == outcome.sentence
    assert outcome.sentence.startswith(f"switchover aborted and undone (step {failing + 1}/5 step{failing} failed")
    assert outcome.sentence.endswith("automatic failover armed")


def test_a_failed_committing_step_is_undone_by_its_own_undo_first() -> None:
    """A promotion that failed may have detached and unfenced the new master: its undo (verified) runs
    before the old master is made writable again, then the rest, and the previous state comes back."""
    run = Run()
    outcome = run.runner().run(SWITCHING, operator_plan(run, 5, failing=3, commits_at=3, commit_undo=True))
    assert run.undone == [3, 2, 1, 0]
    assert outcome.state == run.saved[-1] == replace(ARMED, sentence=outcome.sentence)
    assert (
        "switchover failed at its committing step: undoing 4 change(s), that step's own first (verified before "
        "anything is made writable)"
    ) in run.lines
    assert outcome.sentence.startswith("switchover aborted and undone (step 4/5 step3 failed: step 3 broke)")


@pytest.mark.parametrize(("commit_undo", "why"), [(True, "undoing it failed: undo 3 broke"), (False, "it has no undo")])
def test_a_failed_committing_step_that_cannot_be_undone_stops_with_nothing_made_writable(
    commit_undo: bool, why: str
) -> None:
    """Its state unknown (the new master unreachable, or its undo missing): no other undo runs (the old
    master stays read-only), the plan stays in progress at that step, retried next cycle; one line."""
    run = Run()
    outcome = run.runner().run(
        SWITCHING, operator_plan(run, 5, failing=3, commits_at=3, broken_undo=3, commit_undo=commit_undo)
    )
    assert run.undone == ([3] if commit_undo else []), "nothing after the committing step's own undo"
    state = outcome.state
    assert (state.phase, state.case, state.steps_done, state.previous) == (
        "failing_over",
        "switchover",
        3,
        SWITCHING.previous,
    ), "resumable: the previous state is kept for a later abort"
    assert state == run.saved[-1] and state.sentence == outcome.sentence == run.lines[-1]
    assert outcome.sentence == (
        f"switchover NOT undone, nothing made writable: step 4/5 step3 failed: step 3 broke; {why}; "
        "it stays in progress and step 4 is retried next cycle"
    )
    assert [event.name for event in outcome.events] == ["step_failed"] and not outcome.finished
    assert sum("NOT undone" in line for line in run.lines) == 1


def test_a_failure_after_the_commit_is_retried_not_undone() -> None:
    run = Run()
    outcome = run.runner().run(SWITCHING, operator_plan(run, 5, failing=4, commits_at=3))
    assert run.undone == []
    assert (outcome.state.phase, outcome.state.steps_done) == ("failing_over", 4)
    assert run.lines[-1] == "switchover stopped at a safe point before step 5; it is retried next cycle"


def test_an_undo_that_fails_leaves_the_phase_refused_with_the_reason() -> None:
    run = Run()
    outcome = run.runner().run(SWITCHING, operator_plan(run, 5, failing=2, commits_at=3, broken_undo=1))
    assert run.undone == [2, 1, 0], "the other undo steps still run"
    state = outcome.state
    assert (state.phase, state.case, state.previous) == ("refused", "switchover", None)
    assert state.reason is not None and "undo1: undo 1 broke" in state.reason and "mysqlha ack" in state.reason
    assert "  undo 2/3 undo1: FAILED: undo 1 broke" in run.lines


def test_a_finished_operator_plan_drops_the_saved_previous_state() -> None:
    run = Run()
    outcome = run.runner().run(SWITCHING, operator_plan(run, 5, failing=None, commits_at=3))
    assert outcome.finished and outcome.state.phase == "switched_over" and outcome.state.previous is None
    assert [event.name for event in outcome.events] == ["switchover"]


# -- the state file -----------------------------------------------------------------------------------


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "lib" / "state.json")
    state = DaemonState(
        phase="refused",
        failures={"master1": 5, "master2": 0},
        case="master_down",
        failed_node="master1",
        steps_done=2,
        since=1234.5,
        reason="no semi-sync",
        semi_sync_seen=False,
    )
    store.save(state)
    assert store.load() == state
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["state.json"]


def test_save_replaces_the_previous_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.save(FAILING_OVER)
    store.save(replace(FAILING_OVER, steps_done=3))
    assert store.load().steps_done == 3


def test_a_missing_file_loads_the_default(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "absent.json").load()
    assert state == DaemonState() and state.phase == "armed"


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "",
        "null",
        "42",
        "[]",
        '{"phase": "bogus"}',
    ],
)
def test_a_corrupt_file_names_the_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(MysqlhaError, match="unreadable state file") as info:
        StateStore(path).load()
    assert str(info.value).startswith(f"{path}: ")


def test_lock_without_blocking_fails_while_another_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with StateStore(path).lock(), pytest.raises(MysqlhaError, match="another mysqlha command holds the lock"):
        with StateStore(path).lock(blocking=False):
            pytest.fail("took a lock that was held")
    with StateStore(path).lock(blocking=False):
        pass
