"""`mysqlha failover --accept-data-loss`: case 1 on an operator's word, under the same runner and lock.

After a refusal (promotion could lose acknowledged writes) or on demand, the operator accepts the
loss: the command says which GTIDs may be lost (what master1 was last seen at and master2 never
received), asks for confirmation unless ``--yes``, runs the master_down plan through the runner,
and records who forced it in the daemon's state, the history and the output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ha.errors import MysqlhaError
from ha.etcdhistory import history_for
from ha.gtid import flavor_of, gtid_missing
from ha.hooks import HookRunner
from ha.model import DaemonState, Event
from ha.oncall import operator_name

if TYPE_CHECKING:
    from ha.commands import Tools

FORCEABLE = ("armed", "refused")


def may_be_lost(master_position: str | None, received: str | None) -> str:
    """The GTIDs master1 was last seen at that the candidate never received ("" when none, "unknown")."""
    if not master_position:
        return "unknown (master1's position was never seen)"
    if received is None:
        return f"unknown (the candidate could not be asked; master1 was last seen at {master_position})"
    try:
        return gtid_missing(flavor_of(master_position), received, master_position)
    except ValueError as exc:
        return f"unknown ({exc})"


def confirm(question: str, answer: Callable[[str], str] = input) -> bool:
    """Ask on a terminal; without one there is nobody to ask, so the answer is no."""
    if not sys.stdin.isatty():
        print(f"{question} [no terminal to ask: pass --yes]")
        return False
    return answer(f"{question} Type yes to go on: ").strip().lower() == "yes"


def failover(tools: Tools, accept_data_loss: bool, yes: bool) -> int:
    """Force case 1 (promote the candidate) after a refusal or on demand."""
    from ha.commands import LOCK_WAIT

    config = tools.config
    master, candidate = config.master, config.candidate
    state = tools.store.load()
    if state.phase not in FORCEABLE:
        raise MysqlhaError(f"the daemon is {state.phase}: a forced failover starts from armed or refused")
    witness = tools.mysql.ask(candidate)
    received = witness.view.received if witness.view is not None else None
    lost = may_be_lost(state.master_position, received)
    why = state.reason if state.phase == "refused" else "on demand"
    print(f"forcing {candidate.name} to become the master ({why})")
    print(f"  transactions {master.name} may have that {candidate.name} never received: {lost or 'none known'}")
    if not accept_data_loss:
        raise MysqlhaError("a forced failover may lose acknowledged writes: pass --accept-data-loss to accept that")
    if not yes and not confirm(f"Promote {candidate.name} and accept losing {lost or 'nothing known'}?"):
        print("not failing over")
        return 1
    by = operator_name()

    def ready(current: DaemonState) -> None:
        if (current.phase, current.reason) != (state.phase, state.reason):
            raise MysqlhaError(f"the daemon's state changed to {current.phase}; run the command again")

    try:  # a master that still answers must not take writes any more (the daemon fences it too, later)
        tools.mysql.fence(master)
        print(f"{master.name} answers: fenced (read_only=ON) before promoting {candidate.name}")
    except MysqlhaError:
        pass  # down, as after a refusal: nothing to fence
    history = history_for(config)
    detail = f"forced by {by}; may be lost: {lost or 'none known'}"
    history.record("failover_forced", node=master.name, case="master_down", by=by, why=why, lost_gtids=lost)
    print(f"failover forced by {by}: {master.name} -> {candidate.name}")
    runner = tools.runner()
    outcome = runner.operate("master_down", master.name, ready, None, LOCK_WAIT)
    if outcome.finished:
        steps = list(runner.journal)
        history.record(
            "failover",
            node=master.name,
            case="master_down",
            by=by,
            why=f"forced: {why}",
            lost_gtids=lost,
            steps=steps,
            took_ms=sum(step["ms"] for step in steps),
        )
    hooks = HookRunner(config.hooks, print)
    hooks.notify(Event("failover_forced", master.name, "master_down", detail))
    for event in outcome.events:
        hooks.notify(event)
    hooks.wait_idle(config.hooks.timeout)
    return 0 if outcome.finished else 1
