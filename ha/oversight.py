"""The operator's side of every cycle: the pause, events once per episode, the history, the heartbeat.

The daemon calls ``begin`` before deciding (is failover paused? did a pause just expire?),
``hold`` on the decision (a paused daemon starts no failover), and ``end`` after acting
(episodes, heartbeat, metrics). Everything it hears goes through ``announce``: hooks, the
``mysqlha_events_total`` counter and, for what an operator wants to read later, the history.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, get_args

from ha.analysis import FailoverPaused, OperatorBusy
from ha.config import Config
from ha.coordination import Coordinator
from ha.decide import withheld
from ha.episodes import Episodes
from ha.errors import MysqlhaError
from ha.etcdhistory import history_for
from ha.etcdpause import pause_store_for
from ha.hooks import HookRunner
from ha.liveness import Beat, Heartbeat
from ha.metrics import Metrics
from ha.model import Case, DaemonState, Decision, Event, Snapshot, StartFailover
from ha.pause import Pause
from ha.timefmt import iso

# repeated every cycle while they last: once per episode
EPISODIC = {"fencing_failed", "step_failed", "reconcile_failed"}
# the plans of `mysqlha failback` (rejoin_master: --rejoin-only, or --swap-roles before the swap)
FAILBACKS = ("failback_master", "failback_candidate", "rejoin_master")
PLAN_ENDS = {"failover_finished": "failover", "switchover": "switchover", "failback": "failback"}
# events worth reading back later; the rest reach hooks and metrics only
RECORDED = {
    "failure_detected",
    "failover_started",
    "failover_refused",
    "failover_vetoed",
    "failover_held",
    "failover_forced",
    "switchover",
    "failback",
    "ack",
    "fencing_done",
    "fencing_failed",
    "pause_expired",
    "both_failing",
    "unreachable_from_monitor_only",
    "monitoring_problem",
    "step_failed",
    "proxies_reconciled",
    "reconcile_failed",
}


def hold(decision: Decision, pause: Pause | None, now: float) -> tuple[Decision, Event | None]:
    """A paused daemon starts no failover: the decision without its StartFailover, and why (or as is)."""
    start = next((a for a in decision.actions if isinstance(a, StartFailover)), None)
    if start is None or pause is None:
        return decision, None
    node, case = start.failed_node, start.case
    line = f"{node} failing: NOT failing over ({case}): automatic failover {pause.short(now)}"
    sentence = f"{case} of {node} not started: automatic failover is paused"
    held = withheld(decision, FailoverPaused(node, case, pause.by), line, sentence)
    return held, Event("failover_held", node, case, f"paused by {pause.by}: {pause.reason}")


def finished_case(sentence: str) -> str | None:
    """The case of a plan whose end an armed state's sentence tells (``failback_master finished in ...``)."""
    case, _, rest = sentence.partition(" ")
    return case if case in get_args(Case) and rest.startswith("finished") else None


def conditions(snapshot: Snapshot, analysis: str, node: str | None, detail: str = "") -> dict[str, Event]:
    """The conditions that hold this cycle, keyed for ``Episodes``."""
    found: dict[str, Event] = {}
    for name, check in snapshot.checks.items():
        if check.status == "answered_error":
            found[f"monitoring_problem:{name}"] = Event("monitoring_problem", name, None, check.error or "")
    if analysis in ("both_failing", "unreachable_from_monitor_only"):
        found[f"{analysis}:{node or ''}"] = Event(analysis, node, None, detail)
    return found


class Oversight:
    def __init__(
        self,
        config: Config,
        hooks: HookRunner,
        metrics: Metrics,
        log: Callable[[str], None],
        wall: Callable[[], float] = time.time,
        coordinator: Coordinator | None = None,
    ) -> None:
        self.config = config
        self.hooks = hooks
        self.metrics = metrics
        self.log = log
        self.wall = wall
        self.history = history_for(config, wall, coordinator)  # the file, or etcd guarded by the lease
        self.heartbeat = Heartbeat.for_state(config.failover.state_file)
        self.pauses = pause_store_for(config)
        self.episodes = Episodes()
        self.paused: Pause | None = None
        self.first_failure: dict[str, float] = {}  # node -> wall time of its first failed check, this episode
        self.seen: DaemonState | None = None  # the state at the end of the last cycle
        self.vetoing = (False, False)  # (a veto was recorded last cycle, one was seen this cycle)

    def begin(self, now: float) -> Pause | None:
        """The pause in force this cycle (logged in one short line); an expired one ends and says so."""
        try:
            active, expired = self.pauses.active(now)
        except MysqlhaError as exc:  # an operator meant to pause: stay paused until the file is fixed
            active, expired = Pause(now, None, f"{exc}", "?"), None
        if expired is not None:
            self.log(f"pause by {expired.by} expired at {iso(expired.until or now)}: automatic failover is on again")
            self.announce((Event("pause_expired", None, None, expired.reason),))
        elif self.paused is not None and active is None:
            self.log(f"resumed: the pause by {self.paused.by} ended; automatic failover is on again")
            self.announce((Event("resumed", None, None, self.paused.reason),))
        if active is not None:
            if self.paused is None:
                self.announce((Event("paused", None, None, active.describe(now)),))
            self.log(f"paused: automatic failover {active.short(now)}")
        self.paused = active
        return active

    def announce(self, events: tuple[Event, ...], **record: Any) -> tuple[Event, ...]:
        """Hooks, the events counter, and the history for what is worth reading later; returns the
        events announced (a veto asked again in the same episode is not: it is said once)."""
        said = []
        for event in events:
            if event.name == "failover_vetoed":  # asked every cycle: announced once per episode
                last, _ = self.vetoing
                self.vetoing = (last, True)
                if last:
                    continue
            if event.name == "failure_detected" and event.node:
                self.first_failure[event.node] = self.wall()
            self.hooks.notify(event)
            self.metrics.event(event.name)
            said.append(event)
            if event.name in RECORDED:
                self.record(event, **record)
        return tuple(said)

    def settle(self, events: tuple[Event, ...], journal: list[dict[str, Any]], why: str) -> dict[str, Event]:
        """What a plan run this cycle said: a finished plan is recorded with every step and its
        duration; a step failing or a fencing failing again is returned as a condition (once per episode)."""
        conditions: dict[str, Event] = {}
        for event in events:
            if event.name in EPISODIC:
                conditions[f"{event.name}:{event.node}:{event.case}"] = event
                continue
            self.announce((event,))
            if event.name in PLAN_ENDS:
                fields: dict[str, Any] = {"why": why or None, "steps": list(journal)}
                fields["took_ms"] = sum(step["ms"] for step in journal)
                started = self.first_failure.pop(event.node or "", None)
                if event.name == "failover_finished" and started is not None:
                    fields["outage_ms"] = round((self.wall() - started) * 1000)
                    fields["outage_from"] = "the first failed check"
                self.record(replace(event, name=PLAN_ENDS[event.name]), **fields)
        return conditions

    def operator_changes(self, state: DaemonState) -> None:
        """Notice what an operator's command did to the state since the last cycle: say so in the log
        (a re-arm), and move the counters the command cannot reach (it runs in another process)."""
        seen, self.seen = self.seen, state
        if seen is None or (seen.phase, seen.case) == (state.phase, state.case) or seen.phase == "failing_over":
            return
        if state.phase == "armed":
            what = state.sentence or ""
            if what.startswith("re-armed"):
                self.log(f"{what}: automatic failover is on again")
            else:
                self.log(f"re-armed by an operator: {what or 'automatic failover is on again'}")
            self.first_failure.clear()
            case = finished_case(what)
            if case in FAILBACKS:  # failback, or failback --swap-roles (rejoin_master, then the roles swapped)
                self.metrics.failover(case, "finished")
                self.metrics.event("failback")
            else:
                self.metrics.event("ack")
        elif state.phase == "failed_over" and seen.phase in ("armed", "refused"):
            try:
                recent = list(self.history.read(self.wall() - 3600))
            except MysqlhaError:  # etcd away: say it without the operator's name
                recent = []
            forced: dict[str, Any] = next((e for e in reversed(recent) if e["event"] == "failover_forced"), {})
            self.log(
                f"failover forced by {forced.get('by', 'an operator')} (may be lost: {forced.get('lost_gtids', '?')}): "
                f"{state.sentence or state.case}; automatic failover is off until failback"
            )
            self.metrics.failover(state.case or "master_down", "finished")
            self.metrics.event("failover_forced")
        elif state.phase == "switched_over" and seen.phase == "armed":
            self.log(f"an operator switched over: {state.sentence or state.case}; watching, not failing over")
            self.metrics.failover("switchover", "finished")
            self.metrics.event("switchover")
        elif state.phase == "switched_over" and seen.phase == "failed_over" and state.case == "rejoin_master":
            self.log(f"an operator rejoined {state.failed_node}: {state.sentence}; watching, not failing over")
            self.metrics.failover("rejoin_master", "finished")
            self.metrics.event("failback")

    def record(self, event: Event, **fields: Any) -> None:
        try:
            self.history.record(event.name, node=event.node, case=event.case, detail=event.detail or None, **fields)
        except (OSError, MysqlhaError) as exc:
            self.log(f"history: cannot record {event.name}: {exc}")

    def end(
        self,
        snapshot: Snapshot,
        analysis: str,
        node: str | None,
        sentence: str,
        extra: dict[str, Event] | None = None,
        detail: str = "",
    ) -> None:
        """Announce the conditions that began this cycle (``extra``: the daemon's own, such as a held
        failover or a step failing again); write the heartbeat; update the cycle metrics. A cycle that
        met an operator's lock only watched: it ends no episode (nor a veto's), it can begin one."""
        now = self.wall()
        held = {**conditions(snapshot, analysis, node, detail), **(extra or {})}
        if analysis == OperatorBusy.kind:  # an operator's command holds the lock: no episode ends
            self.announce(self.episodes.update(held, keep=True))
        else:
            self.vetoing = (self.vetoing[1], False)
            self.announce(self.episodes.update(held))
        beat = Beat(
            now, snapshot.number, analysis, sentence, os.getpid(), self.config.monitor.interval, self.paused is not None
        )
        try:
            self.heartbeat.beat(beat)
        except (OSError, MysqlhaError) as exc:
            self.log(f"heartbeat: cannot write {self.heartbeat.path}: {exc}")
        self.metrics.cycle(now, self.paused is not None)
