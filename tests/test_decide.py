"""The pure decision function, as tables: snapshot and state in, decision out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ha.analysis import (
    AllHealthy,
    Analysis,
    BothFailing,
    CandidateDown,
    CandidateUnasked,
    DataRiskRefused,
    Failing,
    FailoverVetoed,
    MasterDown,
    OperatorBusy,
    Resuming,
    UnreachableFromMonitorOnly,
    WaitingForOperator,
)
from ha.config import Config, parse_config
from ha.decide import decide, vetoed
from ha.model import DaemonState, Fence, NodeCheck, ReplicaView, ResumeFailover, Snapshot, StartFailover, Witness


class AnyReason(str):
    """Equal to any reason: the refusal's wording is tested on its own."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    __hash__ = str.__hash__


ANY_REASON = AnyReason()
CLASSIC = Path(__file__).resolve().parent.parent / "conf" / "mysqlha.yml"
WALL = 1338877415.0  # Tue Jun  5 06:23:35 2012 UTC


def classic_config(**failover: object) -> Config:
    data = yaml.safe_load(CLASSIC.read_text())
    for section in ("monitor", "replication"):
        data[section].pop("password_file")
        data[section]["password"] = "secret"
    data["monitor"]["failures"] = 3
    data["failover"].update(failover)
    return parse_config(data, str(CLASSIC))


CONFIG = classic_config()
OK = NodeCheck("x", "ok", 0.001, read_only=False, semi_sync=True, semi_sync_clients=1, position="0-1-10")
DOWN = NodeCheck("x", "failed", 0.001, "2003 Can't connect")
DENIED = NodeCheck("x", "answered_error", 0.002, "1045 Access denied")
ASYNC = replace(OK, semi_sync=False)
NO_CLIENT = replace(OK, semi_sync_clients=0)
ARMED = DaemonState(semi_sync_seen=True, master_position="0-1-10")


def view(
    node: str,
    io: str = "Connecting",
    received: str = "0-1-10",
    heartbeats: int = 7,
    period: float | None = 1.0,
    config: Config | None = None,
    source: str | None = None,
) -> Witness:
    """``node``'s view of its configured source (or of ``source``), heartbeat every ``period`` s."""
    config = config or CONFIG
    of = config.nodes[source or config.nodes[node].source or ""]
    return Witness(
        node, ReplicaView(node, io, True, of.host, of.port, received, received, heartbeats, heartbeat_period=period)
    )


GONE = {"master2": view("master2"), "slave3": view("slave3"), "slave4": view("slave4")}


def snapshot(
    master: NodeCheck, candidate: NodeCheck, number: int = 63, witnesses: dict[str, Witness] | None = None
) -> Snapshot:
    """Replicas agree by default that a failing node is gone (IO thread reconnecting)."""
    checks = {"master1": replace(master, node="master1"), "master2": replace(candidate, node="master2")}
    return Snapshot(number, WALL, checks, GONE if witnesses is None else witnesses)


def at(failures1: int, failures2: int = 0, **changes: object) -> DaemonState:
    return replace(ARMED, failures={"master1": failures1, "master2": failures2}, **changes)


M1_DOWN = StartFailover("master_down", "master1")
M2_DOWN = StartFailover("candidate_down", "master2")
HEALTHY = {"master1": 0, "master2": 0}
WAITING = "waiting for an operator"


@pytest.mark.parametrize(
    ("master", "candidate", "state", "phase", "actions", "counts", "analysis", "sentence", "events"),
    [
        (OK, OK, at(0), "armed", (), HEALTHY, AllHealthy(), "all checks ok", ()),
        (
            DOWN,
            OK,
            at(0),
            "armed",
            (),
            {"master1": 1, "master2": 0},
            Failing("master1", 1, 3),
            "master1 failing: 1 of 3 failed checks",
            ("failure_detected",),
        ),
        (DOWN, OK, at(1), "armed", (), {"master1": 2, "master2": 0}, Failing("master1", 2, 3), "2 of 3", ()),
        (
            DOWN,
            OK,
            at(2),
            "failing_over",
            (M1_DOWN,),
            {"master1": 3, "master2": 0},
            MasterDown("master1"),
            "started failover master_down for master1",
            ("failover_started",),
        ),
        (
            OK,
            DOWN,
            at(0, 2),
            "failing_over",
            (M2_DOWN,),
            {"master1": 0, "master2": 3},
            CandidateDown("master2"),
            "started failover candidate_down for master2",
            ("failover_started",),
        ),
        # one success resets the count
        (OK, OK, at(2, 2), "armed", (), HEALTHY, AllHealthy(), "all checks ok", ()),
        # a server that answers with an error is alive
        (DENIED, OK, at(2), "armed", (), HEALTHY, AllHealthy(), "all checks ok", ()),
        # both failing: nothing can be promoted safely
        (DOWN, DOWN, at(2, 2), "armed", (), {"master1": 3, "master2": 3}, BothFailing(), "nothing to promote", ()),
        # after a failover: watch, never act again
        (
            DOWN,
            OK,
            at(9, phase="failed_over", case="master_down"),
            "failed_over",
            (),
            {"master1": 10, "master2": 0},
            WaitingForOperator("failed_over"),
            WAITING,
            (),
        ),
        (
            OK,
            DOWN,
            at(0, 9, phase="failed_over", case="candidate_down"),
            "failed_over",
            (),
            None,
            WaitingForOperator("failed_over"),
            WAITING,
            (),
        ),
        # interrupted failover resumes
        (
            DOWN,
            OK,
            at(3, phase="failing_over", case="master_down", steps_done=2),
            "failing_over",
            (ResumeFailover(),),
            None,
            Resuming("master_down", 3),
            "resuming master_down",
            (),
        ),
        # an old master that answers writable after case 1 is fenced
        (
            OK,
            OK,
            at(9, phase="failed_over", case="master_down"),
            "failed_over",
            (Fence("master1"),),
            None,
            WaitingForOperator("failed_over", "master1"),
            "fencing master1",
            (),
        ),
        (
            replace(OK, read_only=True),
            OK,
            at(9, phase="failed_over", case="master_down"),
            "failed_over",
            (),
            None,
            WaitingForOperator("failed_over"),
            WAITING,
            (),
        ),
        # a master last seen without semi-sync: refused, not promoted
        (
            DOWN,
            OK,
            at(2, semi_sync_seen=False),
            "refused",
            (),
            None,
            DataRiskRefused("master1", ANY_REASON),
            "refused to fail over",
            ("failover_refused",),
        ),
    ],
)
def test_decision_table(
    master: NodeCheck,
    candidate: NodeCheck,
    state: DaemonState,
    phase: str,
    actions: tuple,
    counts: dict | None,
    analysis: Analysis,
    sentence: str,
    events: tuple[str, ...],
) -> None:
    decision = decide(snapshot(master, candidate), state, CONFIG, WALL)
    assert decision.state.phase == phase
    assert decision.actions == actions
    if counts is not None:
        assert decision.state.failures == counts
    assert decision.analysis == analysis
    assert sentence in decision.sentence
    assert tuple(event.name for event in decision.events) == events
    assert all(event.analysis == analysis.kind for event in decision.events)
    assert (decision.state.analysis, decision.state.sentence) == (analysis.kind, decision.sentence), "kept for status"


def test_classic_log_lines() -> None:
    decision = decide(snapshot(DOWN, OK), at(2), CONFIG, WALL)
    lines = decision.lines
    assert lines[0].startswith("63: master1 status check at ") and lines[0].endswith("2012")
    assert lines[1] == "master1 fail detected!"
    assert "2003" in lines[2] and "failure 3 of 3" in lines[2]
    assert lines[3].startswith("63: master2 status check at ")
    assert lines[4] == "ok"
    assert lines[-1] == "master1 failing: failover starting"


def test_answered_error_is_logged_loudly_but_not_counted() -> None:
    decision = decide(snapshot(DENIED, OK), at(0), CONFIG, WALL)
    assert any("MONITORING PROBLEM" in line for line in decision.lines)
    assert any("1045" in line for line in decision.lines)
    assert "master1 fail detected!" not in decision.lines


@pytest.mark.parametrize("last_seen", [ASYNC, NO_CLIENT])
def test_refuses_promotion_when_master_was_last_seen_without_semi_sync(last_seen: NodeCheck) -> None:
    state = decide(snapshot(last_seen, OK), at(0), CONFIG, WALL).state
    for _ in range(3):
        decision = decide(snapshot(DOWN, OK), state, CONFIG, WALL)
        state = decision.state
    assert state.phase == "refused"
    assert decision.actions == ()
    assert "NOT failing over" in decision.lines[-1]
    # and it stays refused: no action until an operator acknowledges
    assert decide(snapshot(DOWN, OK), state, CONFIG, WALL).actions == ()


def test_never_seen_master_is_not_promoted_over() -> None:
    state = DaemonState(failures={"master1": 2})
    assert decide(snapshot(DOWN, OK), state, CONFIG, WALL).state.phase == "refused"


def test_async_promotion_when_allowed() -> None:
    config = classic_config(allow_async_promotion=True)
    decision = decide(snapshot(DOWN, OK), at(2, semi_sync_seen=False), config, WALL)
    assert decision.actions == (StartFailover("master_down", "master1"),)


def test_semi_sync_observation_follows_the_master() -> None:
    state = decide(snapshot(OK, OK), DaemonState(), CONFIG, WALL).state
    assert state.semi_sync_seen is True
    state = decide(snapshot(ASYNC, OK), state, CONFIG, WALL).state
    assert state.semi_sync_seen is False
    state = decide(snapshot(DOWN, OK), state, CONFIG, WALL).state
    assert state.semi_sync_seen is False, "a failed check keeps the last observation"


def test_replicas_still_connected_veto_the_failover() -> None:
    witnesses = {**GONE, "slave3": view("slave3", io="Yes")}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), CONFIG, WALL)
    assert decision.actions == ()
    assert decision.state.phase == "armed"
    assert "master1 unreachable from monitor but replicas still connected: not failing over" in decision.lines
    assert "slave3" in decision.lines[-1]


def test_a_connected_replica_that_hears_nothing_agrees_the_master_is_gone() -> None:
    """A frozen master: IO threads stay connected, but heartbeats and GTIDs stop moving."""
    witnesses = {"master2": view("master2", io="Yes"), "slave3": view("slave3", io="Yes")}
    state, started_at = at(0), None
    for second in range(6):
        decision = decide(snapshot(DOWN, OK, witnesses=witnesses), state, CONFIG, WALL + second)
        state = decision.state
        if decision.actions and started_at is None:
            started_at, action = second, decision.actions
    assert action == (StartFailover("master_down", "master1"),)
    assert started_at == 4, "counters unchanged for one heartbeat period (1 s) + replica_silence (3 s)"


def test_silence_is_counted_from_when_the_replica_was_read_not_from_when_the_cycle_decided() -> None:
    """A cycle decides after its slowest check (a hung master's timeout); the replicas were read at
    its start. The silence counts from that read, and never from a read later than the decision."""

    def read(name: str, at: float) -> Witness:
        witness = view(name, io="Yes")
        assert witness.view is not None
        return replace(witness, view=replace(witness.view, read_at=at))

    first = decide(snapshot(DOWN, OK, witnesses={"master2": read("master2", WALL - 0.5)}), at(0), CONFIG, WALL)
    assert first.state.witness_progress["master2"][2] == WALL - 0.5
    late = decide(snapshot(DOWN, OK, witnesses={"slave3": read("slave3", WALL + 9)}), at(0), CONFIG, WALL)
    assert late.state.witness_progress["slave3"][2] == WALL, "a clock ahead of the decision is not believed"


def quiet_decisions(witnesses: dict[str, Witness], seconds: range, config: Config = CONFIG) -> list[int]:
    """The seconds at which the daemon starts a failover while master1 fails and the counters do not move."""
    state, starts = at(0), []
    for second in seconds:
        decision = decide(snapshot(DOWN, OK, witnesses=witnesses), state, config, WALL + second)
        state = decision.state if not decision.actions else at(0, witness_progress=decision.state.witness_progress)
        starts += [second] if decision.actions else []
    return starts


def test_an_idle_master_with_the_default_heartbeat_is_not_dead_after_replica_silence() -> None:
    """Issue 9, defect 1: 30 s heartbeat, no writes: 3 s of silence says nothing; 33 s does."""
    witnesses = {"master2": view("master2", io="Yes", period=30.0), "slave3": view("slave3", io="Yes", period=30.0)}
    assert quiet_decisions(witnesses, range(33)) == []
    assert quiet_decisions(witnesses, range(35))[:1] == [33]


def test_heartbeats_off_or_unknown_never_confirm_a_connected_source_dead() -> None:
    for period in (0.0, None):
        witnesses = {"master2": view("master2", io="Yes", period=period), "slave3": view("slave3")}
        assert quiet_decisions(witnesses, range(120)) == [], period


def test_a_replica_of_another_node_is_no_witness() -> None:
    """Issue 9, defect 2: slave3 moved to master2 (connected, hearing it) says nothing about master1."""
    witnesses = {**GONE, "slave3": view("slave3", io="Yes", source="master2")}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), CONFIG, WALL)
    assert decision.actions == (StartFailover("master_down", "master1"),)


def test_on_same_port_hosts_a_witness_is_told_by_host_and_port() -> None:
    data = yaml.safe_load(CLASSIC.read_text())
    for section in ("monitor", "replication"):
        data[section].pop("password_file")
        data[section]["password"] = "secret"
    data["monitor"]["failures"] = 3
    for index, spec in enumerate(data["nodes"].values()):
        spec.update(host=f"127.9.9.{11 + index}", port=3306)
    config = parse_config(data, str(CLASSIC))
    elsewhere = {**GONE, "slave3": view("slave3", io="Yes", config=config, source="master2")}
    decision = decide(snapshot(DOWN, OK, witnesses=elsewhere), at(2), config, WALL)
    assert decision.actions == (StartFailover("master_down", "master1"),), "port 3306 alone is not master1"
    hearing = {**GONE, "slave3": view("slave3", io="Yes", config=config)}
    assert decide(snapshot(DOWN, OK, witnesses=hearing), at(2), config, WALL).actions == ()


def test_moving_heartbeats_keep_vetoing() -> None:
    state = at(0)
    for second in range(6):
        witnesses = {**GONE, "master2": view("master2", io="Yes", heartbeats=second)}
        decision = decide(snapshot(DOWN, OK, witnesses=witnesses), state, CONFIG, WALL + second)
        state = decision.state
    assert decision.actions == () and state.phase == "armed"


def test_veto_can_be_turned_off() -> None:
    config = classic_config(ask_replicas=False)
    witnesses = {**GONE, "slave3": view("slave3", io="Yes")}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), config, WALL)
    assert decision.actions == (StartFailover("master_down", "master1"),)


def test_candidate_lacking_transactions_is_not_promoted() -> None:
    witnesses = {**GONE, "master2": view("master2", received="0-1-9")}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), CONFIG, WALL)
    assert decision.state.phase == "refused"
    assert "master2 lacks transactions" in decision.lines[-1]


def test_candidate_that_cannot_be_asked_delays_the_failover() -> None:
    witnesses = {**GONE, "master2": Witness("master2", None, "2013 Lost connection")}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), CONFIG, WALL)
    assert decision.actions == () and decision.state.phase == "armed"
    assert "cannot ask master2" in decision.lines[-1]


def test_candidate_that_is_no_replica_is_refused() -> None:
    witnesses = {**GONE, "master2": Witness("master2", None)}
    decision = decide(snapshot(DOWN, OK, witnesses=witnesses), at(2), CONFIG, WALL)
    assert decision.state.phase == "refused"
    assert "replicates from nothing" in decision.lines[-1]


def test_candidate_down_vetoed_by_its_connected_replica_but_not_by_an_unreachable_one() -> None:
    connected = {"slave4": view("slave4", io="Yes")}
    assert decide(snapshot(OK, DOWN, witnesses=connected), at(0, 2), CONFIG, WALL).actions == ()
    unreachable = {"slave4": Witness("slave4", None, "2003 refused")}
    decision = decide(snapshot(OK, DOWN, witnesses=unreachable), at(0, 2), CONFIG, WALL)
    assert decision.actions == (StartFailover("candidate_down", "master2"),)


def test_the_other_analyses_are_named() -> None:
    heard = {**GONE, "slave3": view("slave3", io="Yes")}
    unreachable = decide(snapshot(DOWN, OK, witnesses=heard), at(2), CONFIG, WALL).analysis
    assert isinstance(unreachable, UnreachableFromMonitorOnly) and unreachable.node == "master1"
    unasked = {**GONE, "master2": Witness("master2", None, "2013 Lost connection")}
    assert decide(snapshot(DOWN, OK, witnesses=unasked), at(2), CONFIG, WALL).analysis == CandidateUnasked(
        "master2", "2013 Lost connection"
    )


def test_a_veto_replaces_the_start_before_anything_is_announced() -> None:
    started = decide(snapshot(DOWN, OK), at(2), CONFIG, WALL)
    decision = vetoed(started, "pre_failover hook exited 3: maintenance")
    assert decision.analysis == FailoverVetoed("master1", "master_down", "pre_failover hook exited 3: maintenance")
    assert decision.actions == () and decision.state.phase == "armed" and decision.state.case is None
    assert [event.name for event in decision.events] == ["failover_vetoed"]
    assert (
        decision.lines[-1]
        == "master1 failing: failover VETOED by the pre_failover hook: pre_failover hook exited 3: maintenance"
    )
    assert "master1 failing: failover starting" not in decision.lines
    assert decision.state.failures == started.state.failures, "asked again next cycle"


def test_watch_only_cycle_logs_the_checks_and_changes_nothing() -> None:
    decision = decide(snapshot(DOWN, OK), at(2), CONFIG, WALL, watch_only=True)
    assert decision.analysis == OperatorBusy() and decision.actions == () and decision.events == ()
    assert decision.lines[1] == "master1 fail detected!" and "3 failures in a row" in decision.lines[2]
    assert decision.lines[-1] == "an operator command holds the state lock: watching only this cycle"
    assert decision.sentence == "operator command in progress: watching only"


def test_the_count_stops_at_the_threshold_then_says_already_failed_over() -> None:
    past = decide(snapshot(DOWN, DOWN), at(7, 7), CONFIG, WALL)
    assert "failure 3 of 3" in past.lines[2] and "failure 8" not in " ".join(past.lines)
    after = decide(
        snapshot(DOWN, OK), at(9, phase="failed_over", case="master_down", failed_node="master1"), CONFIG, WALL
    )
    assert after.lines[2].endswith("; still failing, already failed over")


def test_slow_heartbeats_are_named_with_the_time_they_cost() -> None:
    from ha.heartbeat import slow_detection

    views = {name: view(name, io="Yes", period=p).view for name, p in (("master2", 30.0), ("slave3", 1.0))}
    views["slave4"] = view("slave4", period=0.0).view
    warnings = slow_detection(CONFIG, views)
    assert warnings[0].startswith("master2 heartbeat 30 s: a hung master1 is confirmed only after ~33 s")
    assert "set MASTER_HEARTBEAT_PERIOD=1" in warnings[0]
    assert warnings[1].startswith("slave4 heartbeat off (or unknown): a hung master2")
    assert len(warnings) == 2, "slave3's 1 s heartbeat is fine"
