"""`mysqlha failover --accept-data-loss`: case 1 on an operator's word, under the same runner and lock.

After a refusal (promotion could lose acknowledged writes) or on demand, the operator accepts the
loss: the command says which GTIDs may be lost (what master1 was last seen at and master2 never
received), asks for confirmation unless ``--yes``, runs the master_down plan through the runner,
and records who forced it, the GTIDs that may be lost and the outcome in the history (the daemon's log
says it too, from the history, once it sees the new phase) and the output. Nothing is fenced or
recorded before the state lock is held and the state and the grants are checked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ha.errors import MysqlhaError, NodeUnreachable
from ha.etcdhistory import history_for
from ha.gtid import flavor_of, gtid_missing
from ha.hooks import HookRunner
from ha.model import DaemonState, Event
from ha.oncall import operator_name

if TYPE_CHECKING:
    from ha.commands import Tools
    from ha.runner import Outcome

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


def failover(tools: Tools, accept_data_loss: bool, yes: bool, lock_wait: float | None = None) -> int:
    """Force case 1 (promote the candidate) after a refusal or on demand.

    Under the state lock, once the state is still what the operator saw and the grants are there: a
    master1 that still answers is fenced first (one that answers but cannot be fenced stops it all,
    nothing else touched); then the plan runs, and ``failover_forced`` is recorded with its outcome,
    still under the lock (so the daemon's next cycle finds it).
    """
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
    history = history_for(config)

    def ready(current: DaemonState) -> None:
        if (current.phase, current.reason) != (state.phase, state.reason):
            raise MysqlhaError(f"the daemon's state changed to {current.phase}; run the command again")

    def fence_master() -> None:
        """A master that still answers must not take writes any more (the daemon would fence it later)."""
        try:
            detail = tools.mysql.fence(master)
        except NodeUnreachable as exc:
            print(f"{master.name} not fenced: it does not answer ({exc})")
            return
        except MysqlhaError as exc:
            raise MysqlhaError(
                f"not failing over: {master.name} answers but could not be fenced ({exc}); it may still take "
                f"writes while {candidate.name} would: stop {master.name} or fix the error, then run the command again"
            ) from exc
        print(f"{master.name} answers: fenced ({detail}) before promoting {candidate.name}")

    def record(outcome: Outcome) -> None:
        forced = {"node": master.name, "case": "master_down", "by": by, "lost_gtids": lost}
        try:
            history.record("failover_forced", **forced, why=why, outcome=outcome.sentence)
            if outcome.finished:
                steps = list(runner.journal)
                took = sum(step["ms"] for step in steps)
                history.record("failover", **forced, why=f"forced: {why}", steps=steps, took_ms=took)
        except (OSError, MysqlhaError) as exc:
            print(f"history: cannot record the forced failover: {exc}")

    runner = tools.runner()
    outcome = runner.operate(
        "master_down", master.name, ready, None, LOCK_WAIT if lock_wait is None else lock_wait, fence_master, record
    )
    done = "finished" if outcome.finished else f"not finished: {outcome.sentence}"
    print(f"failover forced by {by}: {master.name} -> {candidate.name}: {done}")
    hooks = HookRunner(config.hooks, print)
    detail = f"forced by {by}; may be lost: {lost or 'none known'}; {done}"
    hooks.notify(Event("failover_forced", master.name, "master_down", detail))
    for event in outcome.events:
        hooks.notify(event)
    hooks.wait_idle(config.hooks.timeout)
    return 0 if outcome.finished else 1
