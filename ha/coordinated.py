"""One cycle of a monitor among several (``coordination`` configured).

Every monitor checks, counts its own failures, publishes its view, reads everyone's views and the
leader key (``ha.coordination``), and decides with the quorum (``ha.quorum``): a node counts as
failed only when a majority of the configured monitors see it failing. Then:

- the **leader**, within its deadline, acts as a single monitor would (veto, grants, the runner);
  the runner checks the deadline before every step and the state is written to etcd only while
  the leader key is still this monitor's;
- a **follower** logs its checks and ``following <leader>``; it never acts;
- while an **operator's command** holds ``<prefix>/operator`` every monitor only checks and logs;
- a monitor that **cannot reach etcd** (or whose writes fail) starts and resumes nothing
  (``NoQuorum``, said in the log and the metrics), but still fences an old master the last state
  it read says was failed over.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ha.analysis import DataRiskRefused, Following, NoQuorum, Resuming
from ha.coordination import Coordination, Coordinator
from ha.decide import decide, unrefused, withheld
from ha.errors import MysqlhaError
from ha.model import DaemonState, Decision, Event, Fence, ResumeFailover, Snapshot, StartFailover
from ha.oversight import hold
from ha.quorum import NodeView, Quorum, View, quorum

if TYPE_CHECKING:
    from ha.daemon import Daemon


def my_view(name: str, snapshot: Snapshot, counts: dict[str, int], leader: str | None) -> View:
    nodes = {
        node: NodeView(check.status, counts.get(node, 0), check.error or "") for node, check in snapshot.checks.items()
    }
    return View(name, snapshot.wall_time, nodes, snapshot.number, leader)


def counted(snapshot: Snapshot, before: dict[str, int]) -> dict[str, int]:
    """This cycle's consecutive failures per node, counted as ``decide`` counts them."""
    return {n: before.get(n, 0) + 1 if c.status == "failed" else 0 for n, c in snapshot.checks.items()}


def no_quorum(decision: Decision, why: str, again: bool = False) -> Decision:
    """Without etcd: no failover starts or resumes; fencing stays; the log says why."""
    start = next((a for a in decision.actions if isinstance(a, StartFailover)), None)
    if start is not None:
        node = start.failed_node
        line = f"{node} failing: NOT failing over ({start.case}): no etcd quorum: {why}"
        sentence = f"{start.case} of {node} not started: no etcd quorum"
        decision = withheld(decision, NoQuorum(node, why), line, sentence)
    fences = tuple(a for a in decision.actions if isinstance(a, Fence))  # reconciling proxies waits too
    if any(isinstance(a, ResumeFailover) for a in decision.actions):  # the leader finishes it once etcd answers
        line = f"{decision.state.case} not resumed: no etcd quorum: {why}"
        return replace(
            decision,
            actions=fences,
            lines=(*decision.lines, line),
            analysis=NoQuorum(decision.state.failed_node, why),
            sentence=f"{decision.state.case} not resumed: no etcd quorum",
        )
    if isinstance(decision.analysis, DataRiskRefused):  # a refusal is a decision too: not without etcd
        node = decision.analysis.node
        line = f"{node} failing: NOT failing over (master_down): no etcd quorum: {why}"
        sentence = f"master_down of {node} neither started nor refused: no etcd quorum"
        return replace(unrefused(decision, NoQuorum(node, why), line, sentence), actions=fences)
    decision = replace(decision, actions=fences)
    if start is None and not fences and not again:  # said when it begins; a failure says it every cycle
        return replace(decision, lines=(*decision.lines, f"  no etcd quorum: not acting ({why})"))
    return decision


def following(decision: Decision, leader: str | None) -> Decision:
    """A follower acts on nothing; it says who leads (a failover it would start is the leader's)."""
    who = leader or "nobody yet"
    line = "" if decision.analysis.kind == "all_healthy" and leader else f"  following {who}: not acting"
    start = next((a for a in decision.actions if isinstance(a, StartFailover)), None)
    if start is not None:
        said = f"{start.failed_node} failing: {start.case} is for the leader ({who}) to start"
        decision = withheld(decision, Following(leader), said, decision.sentence)
    analysis = decision.analysis
    if isinstance(analysis, Resuming):
        line = f"  following {who}: {analysis.case} in progress (step {analysis.step}), not acting"
        decision = replace(decision, lines=tuple(t for t in decision.lines if " resuming at step " not in t))
        analysis = Following(leader)
    events = tuple(e for e in decision.events if e.name == "failure_detected")
    lines = (*decision.lines, line) if line else decision.lines
    sentence = f"following {who}: {decision.sentence}"
    return replace(decision, actions=(), lines=lines, events=events, analysis=analysis, sentence=sentence)


def coordinated_cycle(daemon: Daemon, coordinator: Coordinator) -> str:
    """One cycle among several monitors; returns what happened."""
    config, adapters, watch = daemon.config, daemon.adapters, daemon.watch
    setting = config.coordination
    assert setting is not None
    snapshot = daemon.observe()
    counts = counted(snapshot, daemon.counts)
    last_leader = coordinator.last.leader if coordinator.last else None
    was_cut_off = coordinator.last is not None and not coordinator.last.reachable
    found: Coordination = coordinator.step(my_view(setting.name, snapshot, counts, last_leader))
    now = daemon.wall()
    agreed: Quorum | None = None
    if found.reachable:
        agreed = quorum(found.views, setting.monitors, now, setting.view_max_age, config.monitor.failures)
        unasked = [n for n in agreed.failing if n in snapshot.checks and snapshot.checks[n].status != "failed"]
        if unasked:  # a majority sees it failing, this monitor does not: ask its replicas all the same
            snapshot = replace(snapshot, witnesses={**snapshot.witnesses, **daemon.ask(unasked)})
    shared: DaemonState | None = getattr(adapters.store, "cached", None)  # what it last read from etcd
    if found.reachable:
        try:
            shared = adapters.store.load()
        except MysqlhaError as exc:
            daemon.log(f"coordination: cannot read the shared state: {exc}")
            found = replace(found, problem=str(exc))
    shared = shared or DaemonState()
    busy = found.reachable and found.operator is not None  # an operator's command runs: watch, touch nothing
    if found.reachable and not busy:
        watch.operator_changes(shared)  # an operator's ack or failback from any host: say so (once it is done)
    before = replace(shared, failures=dict(daemon.counts))
    pause = watch.begin(now)
    decision, held = hold(decide(snapshot, before, config, now, watch_only=busy, quorum=agreed), pause, now)
    daemon.counts = dict(decision.state.failures)
    daemon.seen = decision.state  # what the schedule reads: this monitor's own counts set the recheck cadence
    if not found.reachable:
        decision = no_quorum(decision, found.problem or "etcd unreachable", again=was_cut_off)
    elif was_cut_off:
        daemon.log(f"coordination: etcd answers again; leader: {found.leader or 'none yet'}")
    if busy:
        decision = replace(decision, lines=(*decision.lines, f"  (the operator lock is held by {found.operator})"))
    elif found.reachable and not coordinator.may_act():
        decision = following(decision, found.leader)
    elif found.reachable:
        decision = daemon.screen(decision)
    for line in decision.lines:
        daemon.log(line)
    daemon.announce(decision.events)
    conditions: dict[str, Event] = {}
    acting = found.reachable and coordinator.may_act() and not busy
    if acting or decision.actions:
        runner = daemon.runner()
        try:
            outcome = runner.apply(decision, before) if acting else runner.apply(decision, decision.state)
        except MysqlhaError as exc:  # NotLeading: the state write was refused; stop here
            daemon.log(f"coordination: {exc}; not acting until this monitor leads again")
            daemon.last_sentence = f"stopped: {exc}"
        else:
            from ha.daemon import why

            conditions = watch.settle(outcome.events, runner.journal, why(decision, snapshot))
            daemon.count(outcome.events)
            daemon.last_sentence = outcome.sentence
            watch.seen = daemon.seen = outcome.state
            adapters.metrics.observe(snapshot, outcome.state)
    else:
        daemon.last_sentence = decision.sentence
        adapters.metrics.observe(snapshot, decision.state)
    if held is not None:
        conditions[f"failover_held:{held.node}"] = held
    if not found.reachable:
        conditions["no_quorum"] = Event("no_quorum", None, None, found.problem or "")
    analysis = decision.analysis
    watch.end(snapshot, analysis.kind, getattr(analysis, "node", None), daemon.last_sentence, conditions)
    return daemon.last_sentence
