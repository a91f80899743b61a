"""Plans are built without touching anything: their order is the safety argument, so test it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fakes import FakeMySQL, FakeSupervisor
from test_decide import CLASSIC, classic_config

from ha.config import Node, parse_config
from ha.errors import MysqlhaError, NodeUnreachable, StepFailed
from ha.plans import build
from ha.swap import swapped


class Untouchable:
    """Stands in for an adapter: building a plan must not call it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"plan building called {name}")


def descriptions(case: str, **failover: Any) -> list[str]:
    config = classic_config(**failover)
    plan = build(case, config, Untouchable(), Untouchable())  # type: ignore[arg-type]
    return [step.description for step in plan.steps]


def position(steps: list[str], prefix: str) -> int:
    return next(i for i, text in enumerate(steps) if text.startswith(prefix))


def test_case_1_stops_the_old_write_path_before_the_candidate_becomes_writable() -> None:
    steps = descriptions("master_down")
    assert steps[0].startswith("stop mysql-proxy-master1, mysql-proxy-master2")
    assert steps[1] == "launch mysql-proxy-slave-failover1, mysql-proxy-slave-failover2"
    assert position(steps, "wait until master2") < position(steps, "promote master2") < len(steps) - 1
    assert steps[-1].startswith("start mysql-proxy-master-failover1, mysql-proxy-master-failover2")


def test_case_2_makes_master1_asynchronous_first_then_moves_reads() -> None:
    assert descriptions("candidate_down") == [
        "no semi-sync replica left: master1 commits asynchronously until master2 rejoins",
        "stop mysql-proxy-slave1, mysql-proxy-slave2",
        "start mysql-proxy-slave-failover3, mysql-proxy-slave-failover4",
    ]


def test_fence_command_runs_before_promotion_and_repointing_after() -> None:
    steps = descriptions("master_down", fence_command="poweroff-host", repoint_replicas=True)
    assert position(steps, "fence master1: poweroff-host") < position(steps, "promote master2")
    assert steps[-1] == "repoint slave3 to master2"
    assert descriptions("candidate_down", repoint_replicas=True)[-1] == "repoint slave4 to master1"


def test_switchover_makes_the_old_master_read_only_first_and_semi_sync_before_writes() -> None:
    steps = descriptions("switchover")
    assert steps[0] == "fence master1 (read_only=ON)"
    assert position(steps, "wait until master2 applied everything") < position(steps, "promote master2")
    assert position(steps, "turn semi-sync on at master2") < position(steps, "start mysql-proxy-master-failover1")


@pytest.mark.parametrize("case", ["failback_master", "rejoin_master", "failback_candidate"])
def test_failbacks_refuse_errant_transactions_before_replicating(case: str) -> None:
    steps = descriptions(case)
    assert position(steps, "fence") < position(steps, "check") < position(steps, "make")
    assert any(text.startswith("restore the configured source") for text in steps)


def test_swapped_roles_describe_the_layout_master2_serves() -> None:
    data = yaml.safe_load(CLASSIC.read_text())
    config = parse_config(data, str(CLASSIC), read_secrets=False)
    new = parse_config(swapped(data, config), str(CLASSIC), read_secrets=False)
    assert (new.master.name, new.candidate.name, new.candidate.source) == ("master2", "master1", "master2")
    assert new.proxies.normal == config.proxies.master_down.start
    assert new.proxies.master_down.stop == config.proxies.master_down.start
    assert new.proxies.master_down.start == (
        "mysql-proxy-master1",
        "mysql-proxy-master2",
        "mysql-proxy-slave-failover3",
        "mysql-proxy-slave-failover4",
    )
    assert (new.proxies.candidate_down.stop, new.proxies.candidate_down.start) == ((), ())
    assert new.nodes["slave3"].source == "master1" and new.nodes["slave4"].source == "master2"
    twice = parse_config(swapped(swapped(data, config), new), str(CLASSIC), read_secrets=False)
    assert (twice.master.name, twice.candidate.name, twice.candidate.source) == ("master1", "master2", "master1")


def undo_of(case: str, failed_at: str) -> list[str]:
    plan = build(case, classic_config(), Untouchable(), Untouchable())  # type: ignore[arg-type, arg-type]
    index = next(i for i, step in enumerate(plan.steps) if step.description.startswith(failed_at))
    return [step.description for step in plan.undo_list(index)]


def test_a_switchover_failing_before_the_promotion_is_undone_explicitly() -> None:
    assert undo_of("switchover", "wait until master2") == [
        "start mysql-proxy-master1, mysql-proxy-master2, mysql-proxy-slave1, mysql-proxy-slave2",
        "make master1 writable again",
    ]
    assert undo_of("switchover", "fence master1") == ["make master1 writable again"]
    plan = build("switchover", classic_config(), Untouchable(), Untouchable())  # type: ignore[arg-type]
    promote = position([step.description for step in plan.steps], "promote master2")
    assert plan.abortable and not plan.committed(promote) and plan.committed(promote + 1)


def test_a_failed_promotion_is_undone_first_by_making_the_new_master_a_replica_again() -> None:
    """``promote`` may have detached master2 and made it writable before it failed: before master1 is made
    writable again, master2 is fenced, checked for writes master1 lacks, and replicates from master1
    with semi-sync, which master1 must see."""
    assert undo_of("switchover", "promote master2") == [
        "make master2 a read-only semi-sync replica of master1 again",
        "start mysql-proxy-master1, mysql-proxy-master2, mysql-proxy-slave1, mysql-proxy-slave2",
        "make master1 writable again",
    ]
    assert (
        undo_of("failback_master", "promote master1")[0]
        == "make master1 a read-only semi-sync replica of master2 again"
    )
    config = classic_config()
    mysql = FakeMySQL(config)
    plan = build("switchover", config, mysql, FakeSupervisor(config))  # type: ignore[arg-type]
    promote = next(step for step in plan.steps if step.commits)
    assert promote.undo is not None
    mysql.read_only["master2"] = False  # the promotion got that far
    detail = promote.undo.run()
    assert mysql.calls == [
        "fence master2",
        "errant master2",
        "replicate_from master2 master1",
        "semi_sync_source master1",
    ]
    assert mysql.read_only["master2"] is True
    assert detail == "master2 read_only=ON, replicating from master1; master1: semi-sync on"


@pytest.mark.parametrize(
    ("broken", "error", "calls"),
    [
        ("fence", NodeUnreachable("2003 Can't connect to master2"), ["fence master2"]),
        ("errant", None, ["fence master2", "errant master2"]),
        ("semi_sync_source", StepFailed("master1: semi-sync not on with a replica after 30 s"), None),
    ],
)
def test_the_undo_of_a_promotion_fails_when_it_cannot_verify(
    broken: str, error: MysqlhaError | None, calls: list[str] | None
) -> None:
    config = classic_config()
    mysql = Errant(config) if broken == "errant" else FakeMySQL(config)
    if error is not None:
        mysql.broken[broken] = error
    plan = build("switchover", config, mysql, FakeSupervisor(config))  # type: ignore[arg-type]
    undo = next(step for step in plan.steps if step.commits).undo
    assert undo is not None
    with pytest.raises(MysqlhaError):
        undo.run()
    if calls is not None:
        assert mysql.calls == calls, "nothing after what failed"


class Errant(FakeMySQL):
    def errant(self, node: Node, source: Node) -> str:
        super().errant(node, source)
        return "0-2-1"


def test_failback_undo_gives_master2_back_its_writes_and_proxies() -> None:
    assert undo_of("failback_master", "wait until master1 applied everything") == [
        "start mysql-proxy-master-failover1, mysql-proxy-master-failover2, mysql-proxy-slave-failover1, "
        "mysql-proxy-slave-failover2",
        "make master2 writable again",
    ]
    assert undo_of("failback_candidate", "start mysql-proxy-slave1") == [
        "stop mysql-proxy-slave1, mysql-proxy-slave2",
        "start mysql-proxy-slave-failover3, mysql-proxy-slave-failover4",
    ]


@pytest.mark.parametrize("case", ["master_down", "candidate_down"])
def test_automatic_failovers_are_retried_never_undone(case: str) -> None:
    plan = build(case, classic_config(), Untouchable(), Untouchable())  # type: ignore[arg-type]
    assert not plan.abortable and all(step.undo is None for step in plan.steps)
