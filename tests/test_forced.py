"""`mysqlha failover --accept-data-loss` over small fakes and a real state file and history: nothing is
fenced and nothing recorded before the state lock is held, the state re-checked and the grants found;
then master1 (if it answers) is fenced, the plan runs, and ``failover_forced`` is recorded with its outcome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeMySQL, FakeSupervisor
from test_decide import classic_config

from ha import commands, forced
from ha.config import Config, Node
from ha.errors import MysqlhaError, NodeAnsweredError
from ha.history import History
from ha.model import DaemonState
from ha.state import LockBusy, StateStore

REFUSED = DaemonState(phase="refused", failed_node="master1", reason="master1 was last seen without semi-sync")


@dataclass
class Forcing:
    config: Config
    mysql: FakeMySQL
    supervisor: FakeSupervisor
    store: StateStore

    def force(self, lock_wait: float = 2.0) -> int:
        tools = commands.Tools(self.config, self.mysql, self.supervisor, self.store)  # type: ignore[arg-type]
        return forced.failover(tools, accept_data_loss=True, yes=True, lock_wait=lock_wait)

    def records(self) -> list[dict[str, Any]]:
        return list(History.for_config(self.config).read())

    def untouched(self) -> None:
        """Nothing fenced, no proxy moved, nothing recorded."""
        assert self.mysql.calls == [] and self.mysql.read_only["master1"] is False
        assert self.supervisor.calls == []
        assert [r["event"] for r in self.records()] == []


@pytest.fixture
def forcing(tmp_path: Path) -> Iterator[Forcing]:
    config = classic_config(state_file=str(tmp_path / "state.json"))
    yield Forcing(config, FakeMySQL(config), FakeSupervisor(config), StateStore(config.failover.state_file))


def test_on_demand_master1_is_fenced_under_the_lock_then_the_plan_runs_and_is_recorded(
    forcing: Forcing, capsys: pytest.CaptureFixture[str]
) -> None:
    assert forcing.force() == 0
    calls = forcing.mysql.calls
    assert calls == ["fence master1", "wait_caught_up master2", "promote master2"], "fenced before the plan"
    assert forcing.supervisor.calls[0].startswith("stop mysql-proxy-master1"), "after the fence"
    assert forcing.mysql.read_only["master1"] is True and forcing.mysql.read_only["master2"] is False
    assert forcing.store.load().phase == "failed_over"
    entries = forcing.records()
    assert [e["event"] for e in entries] == ["failover_forced", "failover"]
    record = entries[0]
    assert record["outcome"] == "failover finished! : master2 is new master"
    assert (record["why"], record["node"], record["case"]) == ("on demand", "master1", "master_down")
    assert "@" in record["by"] and record["lost_gtids"].startswith("unknown")
    assert len(entries[1]["steps"]) == 5
    out = capsys.readouterr().out
    assert "master1 answers: fenced (read_only=ON) before promoting master2" in out
    assert "failover forced by " in out and out.rstrip().endswith("master1 -> master2: finished")


def test_after_a_refusal_a_master1_that_is_down_is_not_fenced_and_the_failover_goes_on(forcing: Forcing) -> None:
    forcing.store.save(REFUSED)
    forcing.mysql.down.add("master1")
    assert forcing.force() == 0
    assert forcing.mysql.calls[0] == "fence master1", "tried, refused: it is down"
    entries = forcing.records()
    assert entries[0]["event"] == "failover_forced" and entries[0]["why"] == REFUSED.reason
    assert forcing.store.load().phase == "failed_over"


def test_while_another_command_holds_the_lock_nothing_is_fenced_or_recorded(forcing: Forcing) -> None:
    with StateStore(forcing.store.path).lock(), pytest.raises(LockBusy):
        forcing.force(lock_wait=0.2)
    forcing.untouched()
    assert forcing.store.load().phase == "armed"


class Ungranted(FakeMySQL):
    def grants(self, node: Node) -> tuple[str, str, list[str]]:
        return "10.11.6-MariaDB", "mysqlha@%", ["GRANT USAGE ON *.* TO `mysqlha`@`%`"]


def test_with_a_grant_missing_nothing_is_fenced_or_recorded(forcing: Forcing) -> None:
    forcing.mysql = Ungranted(forcing.config)
    with pytest.raises(MysqlhaError, match="not starting master_down, nothing touched"):
        forcing.force()
    forcing.untouched()


class Changing(StateStore):
    """The state an operator saw (armed) changes before the command holds the lock (refused)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.loads = 0

    def load(self) -> DaemonState:
        self.loads += 1
        return DaemonState() if self.loads == 1 else REFUSED


def test_when_the_state_changed_nothing_is_fenced_or_recorded(forcing: Forcing) -> None:
    forcing.store = Changing(forcing.config.failover.state_file)
    with pytest.raises(MysqlhaError, match="the daemon's state changed to refused"):
        forcing.force()
    forcing.untouched()


def test_a_master1_that_answers_but_cannot_be_fenced_stops_it_before_anything_is_touched(forcing: Forcing) -> None:
    forcing.mysql.broken["fence"] = NodeAnsweredError("1227 Access denied; you need the READ_ONLY ADMIN privilege")
    with pytest.raises(MysqlhaError, match="master1 answers but could not be fenced"):
        forcing.force()
    assert forcing.mysql.calls == ["fence master1"] and forcing.supervisor.calls == []
    assert forcing.records() == [] and forcing.store.load().phase == "armed"


def test_a_forced_failover_stopped_by_a_step_is_recorded_with_that_outcome(forcing: Forcing) -> None:
    forcing.mysql.broken["promote"] = NodeAnsweredError("1290 read-only")
    assert forcing.force() == 1
    entries = forcing.records()
    assert [e["event"] for e in entries] == ["failover_forced"], "no failover record: it did not finish"
    assert entries[0]["outcome"].startswith("failover stopped before step 4: promote master2")
    assert forcing.store.load().phase == "failing_over", "the daemon resumes it"
