"""What the daemon counts and announces of operators' commands and of repeated conditions, with small
fakes: a veto once per episode, every failback/switchover/forced failover counted, a watch-only cycle
ending no episode, the history aged out, and the --swap-roles line about the program files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from fakes import FakeHooks, FakeMySQL, FakeSupervisor
from test_decide import CLASSIC, CONFIG, DENIED, OK, WALL, classic_config, snapshot

from ha import commands
from ha.config import Hooks, parse_config
from ha.daemon import Adapters, Daemon
from ha.episodes import Episodes
from ha.history import History
from ha.hooks import HookRunner
from ha.metrics import Metrics
from ha.model import DaemonState, Event
from ha.oversight import Oversight


class Counted(Metrics):
    """Metrics that remember what they were asked to count."""

    def __init__(self) -> None:
        super().__init__(None)
        self.failovers: list[tuple[str, str]] = []
        self.events: list[str] = []

    def failover(self, case: str, outcome: str) -> None:
        self.failovers.append((case, outcome))

    def event(self, name: str) -> None:
        self.events.append(name)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    config = classic_config(state_file=str(tmp_path / "state.json"))
    adapters = Adapters(FakeMySQL(config), FakeSupervisor(config), commands.store_for(config), FakeHooks(), Counted())  # type: ignore[arg-type]
    made = Daemon(config, adapters, log=lambda line: None, wall=lambda: WALL)
    yield made
    made.pool.shutdown(wait=True)


def test_a_veto_asked_every_cycle_is_announced_and_counted_once_per_episode(daemon: Daemon) -> None:
    hooks, metrics = daemon.adapters.hooks, daemon.adapters.metrics
    assert isinstance(hooks, FakeHooks) and isinstance(metrics, Counted)
    hooks.veto = "pre_failover hook exited 3: maintenance window"
    daemon.run_cycle()  # semi-sync seen on
    daemon.adapters.mysql.down.add("master1")  # type: ignore[attr-defined]
    for _ in range(6):
        daemon.run_cycle()
    assert len(hooks.asked) == 4, "the hook is asked every cycle past the threshold"
    assert [e.name for e in hooks.events].count("failover_vetoed") == 1
    assert metrics.events.count("failover_vetoed") == 1
    assert metrics.failovers == [("master_down", "vetoed")]
    history = [e["event"] for e in daemon.watch.history.read()]
    assert history.count("failover_vetoed") == 1


def watch_of(tmp_path: Path) -> tuple[Oversight, Counted, list[str]]:
    config = replace(CONFIG, failover=replace(CONFIG.failover, state_file=str(tmp_path / "state.json")))
    lines: list[str] = []
    metrics = Counted()
    return Oversight(config, HookRunner(Hooks(), lines.append), metrics, lines.append, lambda: WALL), metrics, lines


FAILED_OVER = DaemonState(phase="failed_over", case="master_down", failed_node="master1")


@pytest.mark.parametrize(
    ("before", "after", "failover", "event"),
    [
        (
            FAILED_OVER,
            DaemonState(sentence="failback_master finished in 812 ms: normal layout restored; failover armed"),
            ("failback_master", "finished"),
            "failback",
        ),
        (
            FAILED_OVER,
            DaemonState(sentence="rejoin_master finished; automatic failover armed for the new layout"),
            ("rejoin_master", "finished"),
            "failback",
        ),
        (
            FAILED_OVER,
            DaemonState(
                phase="switched_over", case="rejoin_master", failed_node="master1", sentence="rejoin_master finished"
            ),
            ("rejoin_master", "finished"),
            "failback",
        ),
        (DaemonState(phase="refused", case="master_down"), FAILED_OVER, ("master_down", "finished"), "failover_forced"),
        (
            DaemonState(),
            DaemonState(phase="switched_over", case="switchover", failed_node="master1"),
            ("switchover", "finished"),
            "switchover",
        ),
        (FAILED_OVER, DaemonState(sentence="re-armed by an operator (was failed_over)"), None, "ack"),
    ],
    ids=["failback", "swap-roles", "rejoin-only", "forced", "switchover", "ack"],
)
def test_every_operator_command_is_counted_once(
    tmp_path: Path, before: DaemonState, after: DaemonState, failover: tuple[str, str] | None, event: str
) -> None:
    watch, metrics, lines = watch_of(tmp_path)
    watch.operator_changes(before)
    watch.operator_changes(after)
    watch.operator_changes(after)
    assert metrics.failovers == ([failover] if failover else [])
    assert metrics.events == [event]
    assert len(lines) == 1, lines


def test_a_cycle_that_met_the_operator_lock_ends_no_episode(tmp_path: Path) -> None:
    watch, _, _ = watch_of(tmp_path)
    blind = snapshot(DENIED, OK)
    watch.end(blind, "all_healthy", None, "all checks ok")
    watch.end(snapshot(OK, OK), "operator_busy", None, "operator command in progress: watching only")
    watch.end(blind, "all_healthy", None, "all checks ok")
    watch.end(blind, "both_failing", "master1", "both failing")
    watch.end(blind, "operator_busy", None, "operator command in progress: watching only")
    watch.end(blind, "both_failing", "master1", "both failing")
    assert [e["event"] for e in watch.history.read()] == ["monitoring_problem", "both_failing"]
    watch.vetoing = (True, False)
    watch.end(blind, "operator_busy", None, "watching only")
    watch.announce((Event("failover_vetoed", "master1", "master_down", "maintenance"),))
    assert [e["event"] for e in watch.history.read()].count("failover_vetoed") == 0, "the veto's episode goes on"


def test_episodes_kept_through_a_partial_cycle() -> None:
    episodes = Episodes()
    blind = Event("monitoring_problem", "master1", None, "")
    assert episodes.update({"a": blind}) == (blind,)
    assert episodes.update({}, keep=True) == ()
    assert episodes.update({"a": blind}) == ()
    assert episodes.update({}) == ()
    assert episodes.update({"a": blind}) == (blind,)


def test_the_live_history_file_is_rotated_when_its_oldest_record_ages_out(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    history = History(tmp_path / "h.jsonl", keep_seconds=3600, wall=lambda: now[0])
    history.record("ack")
    now[0] += 1800
    history.record("pause")
    assert history.rotated() == [], "below max_bytes and keep_seconds: one file"
    now[0] += 1801
    history.record("resume")  # the ack is older than keep_seconds: the live file rotates
    assert [e["event"] for e in history.read()] == ["ack", "pause", "resume"]
    assert [p.name for p in history.rotated()] == [f"h.jsonl.{1_700_001_800:.3f}"], "named by its newest record"
    now[0] += 1800
    history.record("failback")  # the rotated file's newest record (pause) is now older than keep_seconds
    assert [e["event"] for e in history.read()] == ["resume", "failback"]
    reopened = History(tmp_path / "h.jsonl", keep_seconds=3600, wall=lambda: now[0])
    now[0] += 3601
    reopened.record("ack")  # a new process reads the oldest record's time from the file
    assert [e["event"] for e in reopened.read()] == ["ack"]


class Unreachable:
    @property
    def rpc(self) -> object:
        raise OSError("supervisord away")


def test_swap_roles_says_when_the_program_files_are_not_rerendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(CLASSIC.read_text())
    for section in ("monitor", "replication"):
        data[section].pop("password_file")
        data[section]["password"] = "secret"
    data["proxies"]["config_dir"] = str(tmp_path / "haproxy")
    path = tmp_path / "mysqlha.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = parse_config(data, str(path), read_secrets=False)
    commands.swap_config(commands.Tools(config, None, Unreachable(), None))  # type: ignore[arg-type]
    out = capsys.readouterr().out
    programs = tmp_path / "supervisord.conf.d" / "haproxy.conf"
    assert f"{programs}: not found, supervisord program files NOT re-rendered" in out
    assert f"mysqlha render --config {path} --out DIR" in out and "supervisorctl update" in out
    assert "could not signal mysqlcheck" in out
    assert yaml.safe_load(path.read_text())["nodes"]["master2"]["role"] == "master"
