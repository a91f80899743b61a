"""The pause holds a starting failover; pauses expire and say so; events once per episode reach the history."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_decide import CONFIG, DENIED, DOWN, OK, at, snapshot

from ha.config import Hooks
from ha.decide import decide
from ha.hooks import HookRunner
from ha.metrics import Metrics
from ha.model import DaemonState, Event
from ha.oversight import Oversight, hold
from ha.pause import Pause

NOW = 1_700_000_000.0


def test_a_paused_daemon_starts_no_failover_and_says_why() -> None:
    starting = decide(snapshot(DOWN, OK), at(2), CONFIG, NOW)
    assert starting.state.phase == "failing_over"
    pause = Pause(NOW - 60, NOW + 3600, "disk swap", "alice@db")
    held, event = hold(starting, pause, NOW)
    assert held.state.phase == "armed" and held.state.failures["master1"] == 3
    assert held.actions == ()
    assert "master1 failing: failover starting" not in held.lines
    assert held.lines[-1].startswith("master1 failing: NOT failing over (master_down): automatic failover paused by")
    assert "failover_started" not in [e.name for e in held.events]
    assert event is not None and event.name == "failover_held"
    assert hold(starting, None, NOW) == (starting, None)


class Lines(list):
    def __call__(self, line: str) -> None:
        self.append(line)


def oversight(tmp_path: Path) -> tuple[Oversight, Lines]:
    config = replace(CONFIG, failover=replace(CONFIG.failover, state_file=str(tmp_path / "state.json")))
    lines = Lines()
    return Oversight(config, HookRunner(Hooks(), lines), Metrics(None), lines, lambda: NOW), lines


def test_pause_begins_logs_each_cycle_and_expires(tmp_path: Path) -> None:
    watch, lines = oversight(tmp_path)
    assert watch.begin(NOW) is None and lines == []
    watch.pauses.save(Pause(NOW, NOW + 10, "work", "alice"))
    assert watch.begin(NOW + 1) is not None
    assert lines[-1] == "paused: automatic failover paused by alice (9 s left): work"
    watch.begin(NOW + 2)
    assert sum(line.startswith("paused:") for line in lines) == 2, "one short line each cycle"
    assert watch.begin(NOW + 11) is None
    assert lines[-1].startswith("pause by alice expired at")
    assert [e["event"] for e in watch.history.read()] == ["pause_expired"]


def test_conditions_are_announced_once_per_episode_and_recorded(tmp_path: Path) -> None:
    watch, _ = oversight(tmp_path)
    blind = snapshot(DENIED, OK)
    for _ in range(3):
        watch.end(blind, "all_healthy", None, "all checks ok")
    watch.end(snapshot(OK, OK), "all_healthy", None, "all checks ok")
    watch.end(blind, "all_healthy", None, "all checks ok")
    events = [e["event"] for e in watch.history.read()]
    assert events == ["monitoring_problem", "monitoring_problem"]
    beat = watch.heartbeat.read()
    assert beat is not None and beat.number == blind.number and beat.sentence == "all checks ok"


def test_a_finished_plan_is_recorded_with_its_steps_and_outage(tmp_path: Path) -> None:
    watch, _ = oversight(tmp_path)
    watch.announce((Event("failure_detected", "master1", None, "2003"),))
    journal = [{"n": 1, "description": "stop x", "ok": True, "ms": 19, "detail": ""}]
    failed = Event("step_failed", "master1", "master_down", "step 3/5: not caught up")
    finished = Event("failover_finished", "master1", "master_down")
    conditions = watch.settle((failed, finished), journal, "master_down master1: 2003")
    assert list(conditions) == ["step_failed:master1:master_down"], "a failing step is a condition, once per episode"
    entry = next(e for e in watch.history.read() if e["event"] == "failover")
    assert entry["steps"] == journal and entry["why"] == "master_down master1: 2003" and entry["took_ms"] == 19
    assert entry["outage_ms"] == 0 and entry["outage_from"] == "the first failed check"


def test_an_operators_rearm_is_logged_once(tmp_path: Path) -> None:
    watch, lines = oversight(tmp_path)
    watch.operator_changes(DaemonState(phase="failed_over", case="master_down", failed_node="master1"))
    assert lines == []
    rearmed = DaemonState(
        sentence="failback_master finished in 812 ms: normal layout restored; automatic failover armed"
    )
    watch.operator_changes(rearmed)
    assert lines == [f"re-armed by an operator: {rearmed.sentence}"]
    watch.operator_changes(rearmed)
    assert len(lines) == 1


def test_a_veto_asked_every_cycle_is_recorded_once_per_episode(tmp_path: Path) -> None:
    watch, _ = oversight(tmp_path)
    veto = Event("failover_vetoed", "master1", "master_down", "maintenance")
    for _ in range(3):
        watch.announce((veto,))
        watch.end(snapshot(DOWN, OK), "failover_vetoed", "master1", "vetoed")
    watch.end(snapshot(OK, OK), "all_healthy", None, "all checks ok")
    watch.announce((veto,))
    assert [e["event"] for e in watch.history.read()] == ["failover_vetoed", "failover_vetoed"]


def test_an_etcd_history_that_does_not_answer_is_one_bounded_log_line(tmp_path: Path) -> None:
    """With several monitors the history is in etcd: a leader whose etcd hangs logs `history: cannot
    record` after one timeout per endpoint, and the cycle goes on."""
    import socket
    import time

    from ha.coordconfig import Coordination, EtcdSettings
    from ha.coordination import Coordinator
    from ha.etcd import Etcd, EtcdOptions

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = EtcdSettings(EtcdOptions((endpoint,), timeout=0.3), prefix="/t")
        config = replace(
            CONFIG,
            failover=replace(CONFIG.failover, state_file=str(tmp_path / "state.json")),
            coordination=Coordination("mon1", ("mon1", "mon2", "mon3"), settings, 7.0),
        )
        leader = Coordinator(Etcd(settings.client), "mon1", "/t", 3, log=lambda line: None)
        leader.lease, leader.leading, leader.deadline = 1, True, time.monotonic() + 60  # leads, as far as it knows
        lines = Lines()
        watch = Oversight(config, HookRunner(Hooks(), lines), Metrics(None), lines, lambda: NOW, leader)
        started = time.monotonic()
        watch.announce((Event("fencing_done", "master1", None, "read_only=ON"),))
        assert time.monotonic() - started < 2
    assert any(
        line.startswith("history: cannot record fencing_done: etcd /v3/kv/txn: no endpoint answered") for line in lines
    ), lines
