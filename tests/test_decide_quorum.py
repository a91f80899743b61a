"""decide with a quorum (several monitors): the majority's word decides, this monitor's count does not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_decide import ARMED, ASYNC, CONFIG, DOWN, OK, WALL, at, snapshot

from ha.analysis import CandidateDown, MasterDown, NotAgreed
from ha.coordinated import following, no_quorum
from ha.decide import decide
from ha.model import DaemonState, Fence, StartFailover
from ha.quorum import Quorum

NOBODY = Quorum(frozenset(), 2, {}, ("mon1", "mon2", "mon3"), ())


def agreeing(*nodes: str) -> Quorum:
    return Quorum(frozenset(nodes), 2, {n: ("mon1", "mon2") for n in nodes}, ("mon1", "mon2", "mon3"), ())


@pytest.mark.parametrize(
    "master, before, agreed, kind, starts",
    [
        (DOWN, at(2), NOBODY, NotAgreed.kind, False),  # failing here only: not acted on
        (DOWN, at(2), agreeing("master1"), MasterDown.kind, True),
        (OK, at(0), agreeing("master1"), MasterDown.kind, True),  # the majority sees it, this one does not
        (DOWN, at(0), NOBODY, "failing", False),  # below the threshold here, nobody else: just counting
        (OK, at(0), agreeing("master2"), CandidateDown.kind, True),
    ],
)
def test_decide_with_a_quorum(master, before, agreed, kind, starts) -> None:  # type: ignore[no-untyped-def]
    decision = decide(snapshot(master, OK), before, CONFIG, WALL, quorum=agreed)
    assert decision.analysis.kind == kind
    assert any(isinstance(a, StartFailover) for a in decision.actions) == starts
    if kind == NotAgreed.kind:
        assert "master1 failing here but not for a majority of monitors: not failing over" in decision.lines


def test_without_etcd_no_failover_but_fencing_goes_on() -> None:
    started = decide(snapshot(DOWN, OK), at(2), CONFIG, WALL)
    held = no_quorum(started, "etcd: no endpoint answered")
    assert held.analysis.kind == "no_quorum" and held.actions == ()
    assert "master1 failing: NOT failing over (master_down): no etcd quorum: etcd: no endpoint answered" in held.lines
    assert "master1 failing: failover starting" not in held.lines
    done = DaemonState(phase="failed_over", case="master_down", failed_node="master1")
    fencing = no_quorum(decide(snapshot(OK, OK), done, CONFIG, WALL), "etcd gone")
    assert fencing.actions == (Fence("master1"),)
    resuming = DaemonState(phase="failing_over", case="master_down", failed_node="master1", steps_done=2)
    stuck = no_quorum(decide(snapshot(DOWN, OK), resuming, CONFIG, WALL), "etcd gone")
    assert stuck.actions == () and stuck.analysis.kind == "no_quorum"


def test_a_follower_acts_on_nothing_and_says_who_leads() -> None:
    started = decide(snapshot(DOWN, OK), at(2), CONFIG, WALL, quorum=agreeing("master1"))
    followed = following(started, "mon2")
    assert followed.actions == () and followed.analysis.kind == "following"
    assert "master1 failing: failover starting" not in followed.lines
    assert followed.lines[-1] == "  following mon2: not acting"
    assert [e.name for e in followed.events] == []  # failover_started is the leader's to announce


def test_without_etcd_no_refusal_either() -> None:
    seen_async = replace(decide(snapshot(ASYNC, OK), ARMED, CONFIG, WALL).state, failures={"master1": 2})
    refused = decide(snapshot(DOWN, OK), seen_async, CONFIG, WALL)
    assert refused.analysis.kind == "data_risk_refused"
    held = no_quorum(refused, "etcd gone")
    assert held.analysis.kind == "no_quorum" and held.state.phase == "armed"
    assert held.lines[-1] == "master1 failing: NOT failing over (master_down): no etcd quorum: etcd gone"
    assert [e.name for e in held.events] == []
    assert (held.state.reason, held.state.analysis) == (None, "no_quorum")
    assert held.state.sentence == held.sentence == "master_down of master1 neither started nor refused: no etcd quorum"
