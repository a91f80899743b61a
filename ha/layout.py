"""The proxy layout each phase wants, and what to stop and start to get there. Pure: no I/O.

A layout is the set of proxy programs that should run; every other configured program should be
stopped. ``decide`` compares it with the program states the snapshot observed (one
``getAllProcessInfo`` per cycle) and asks the runner for a ``Reconcile`` when they differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ha.config import Config
from ha.model import Case, DaemonState, Reconcile

STOPPED = frozenset({"STOPPED", "EXITED", "FATAL"})  # supervisord states of a program that does not run
Layout = frozenset[str]


@dataclass(frozen=True)
class Moves:
    """What one plan step does to the proxies."""

    stop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()


def moved(layout: Layout, moves: Iterable[Moves]) -> Layout:
    """``layout`` after ``moves``, in order."""
    running = set(layout)
    for move in moves:
        running = (running - set(move.stop)) | set(move.start)
    return frozenset(running)


def phase_layout(config: Config, phase: str, case: Case | None) -> Layout | None:
    """The layout a settled phase wants; None when it wants none (refused, or a plan in progress).

    armed: the normal set. failed_over: the normal set with the case's transition applied.
    switched_over: master2 is master behind the master_down set, as after a failover.
    refused: nothing was touched, and an aborted plan asks an operator to put it right: not ours.
    """
    proxies = config.proxies
    normal = frozenset(proxies.normal)
    if phase == "armed":
        return normal
    if phase == "failed_over" and case == "candidate_down":
        return moved(normal, [Moves(proxies.candidate_down.stop, proxies.candidate_down.start)])
    if (phase == "failed_over" and case == "master_down") or phase == "switched_over":
        return moved(normal, [Moves(proxies.master_down.stop, proxies.master_down.start)])
    return None


def plan_layout(config: Config, state: DaemonState, steps: tuple[Moves, ...]) -> tuple[Layout, frozenset[str]] | None:
    """A plan in progress: the layout its finished steps imply (from the phase it started in), and the
    programs a remaining step stops (not worth starting now). None when the start is not known."""
    before = state.restored()
    start = phase_layout(config, before.phase, before.case)
    if start is None:
        return None
    done, remaining = steps[: state.steps_done], steps[state.steps_done :]
    later_stopped = frozenset(name for move in remaining for name in move.stop)
    return moved(start, done), later_stopped


def running(state: str) -> bool:
    return state not in STOPPED


def reconcile(
    config: Config, target: str, layout: Layout, programs: Mapping[str, str], skip_start: Iterable[str] = ()
) -> Reconcile | None:
    """What to stop and start so that exactly ``layout`` runs; None when it already does.

    Only configured proxy programs are touched. A program to start that supervisord does not know is
    ``unknown`` (reported; retried each cycle). ``skip_start``: programs not to start now."""
    skipped = set(skip_start)
    configured = config.proxies.programs
    stop = tuple(name for name in configured if name not in layout and name in programs and running(programs[name]))
    wanted = [name for name in configured if name in layout and name not in skipped]
    unknown = tuple(name for name in wanted if name not in programs)
    start = tuple(name for name in wanted if name in programs and programs[name] != "RUNNING")
    if not (stop or start or unknown):
        return None
    return Reconcile(target, stop, start, unknown)


def describe(state: DaemonState) -> str:
    """How a reconcile line names the layout: ``failed_over (master_down)``, ``armed``."""
    if state.phase == "failing_over":
        return f"{state.case} after step {state.steps_done}"
    return f"{state.phase} ({state.case})" if state.case and state.phase != "armed" else state.phase
