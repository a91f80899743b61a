"""Plans are lists of idempotent steps; progress is saved after each one, so a restart resumes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ha.errors import MysqlhaError
from ha.model import DaemonState


@dataclass(frozen=True)
class Step:
    description: str
    run: Callable[[], object]


def run_steps(
    state: DaemonState,
    steps: list[Step],
    save: Callable[[DaemonState], None],
    log: Callable[[str], None],
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    label: str = "plan",
) -> tuple[DaemonState, bool]:
    """Run the steps not done yet; return (state, all done). Stops at a resumable point on error."""
    for index in range(state.steps_done, len(steps)):
        if should_stop():
            log(f"{label} paused before step {index + 1}/{len(steps)}: shutting down; a restart resumes it")
            return state, False
        step = steps[index]
        step_started = clock()
        try:
            detail = step.run()
        except MysqlhaError as exc:
            log(f"  step {index + 1}/{len(steps)} {step.description}: FAILED: {exc}")
            log(f"{label} stopped at a safe point before step {index + 1}; it is retried next cycle")
            return state, False
        state = replace(state, steps_done=index + 1)
        save(state)
        took = f"{(clock() - step_started) * 1000:.0f} ms"
        log(f"  step {index + 1}/{len(steps)} {step.description}: ok ({took})" + (f": {detail}" if detail else ""))
    return state, True


def best_effort(run: Callable[[], object]) -> object:
    """For a step that must not hold up the plan: its failure is reported, not raised."""
    try:
        return run()
    except MysqlhaError as exc:
        return f"skipped: {exc}"
