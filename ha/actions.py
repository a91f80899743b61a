"""The daemon's actions that are not plans, run by ``ha.runner``: bring the proxies to the layout the phase
wants, and fence an old master that answers writable. Each says what it did in one line and returns
the events; a failure is reported and retried next cycle, never raised."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable

from ha.config import Config, Node
from ha.errors import MysqlhaError
from ha.model import Event, Reconcile
from ha.mysql import MySQL
from ha.supervisor import Supervisor


def reconcile(
    action: Reconcile, config: Config, supervisor: Supervisor, log: Callable[[str], None]
) -> tuple[tuple[Event, ...], bool]:
    """Stop, then start (each verified), logged as one line; returns the events and whether a stop
    failed. Each program on its own, so one that fails does not hold the others; all are retried next
    cycle. The starts are launched together, then each is waited for."""
    programs = config.proxies.programs
    stopped, started, problems = [], [], [f"{name} unknown to supervisord" for name in action.unknown]
    for name in action.stop:
        try:
            supervisor.stop([name])
            stopped.append(name)
        except (MysqlhaError, xmlrpc.client.Fault) as exc:
            problems.append(f"stop {name}: {exc}")
    launched = []
    for name in action.start:
        try:
            supervisor.start([programs[name]], wait=False)
            launched.append(name)
        except (MysqlhaError, xmlrpc.client.Fault) as exc:  # a Fault: supervisord shutting down
            problems.append(f"start {name}: {exc}")
    for name in launched:
        try:
            supervisor.start([programs[name]])
            started.append(name)
        except (MysqlhaError, xmlrpc.client.Fault) as exc:  # a Fault: supervisord shutting down
            problems.append(f"start {name}: {exc}")
    done = [f"stopped {', '.join(stopped)}"] if stopped else []
    done += [f"started {', '.join(started)}"] if started else []
    events = []
    if done:
        line = f"reconciled proxies to {action.target}: {'; '.join(done)}"
        events.append(Event("proxies_reconciled", None, None, line))
    else:
        line = f"proxies NOT reconciled to {action.target}"
    if problems:
        line += f"; FAILED: {'; '.join(problems)} (retried next cycle)"
        events.append(Event("reconcile_failed", None, None, "; ".join(problems)))
    log(line)
    return tuple(events), len(stopped) < len(action.stop)


def fence(node: Node, mysql: MySQL, log: Callable[[str], None]) -> Event:
    """read_only=ON on ``node``; ``fencing_done`` or ``fencing_failed`` (retried next cycle)."""
    try:
        detail = mysql.fence(node)
        log(f"{node.name} fenced: {detail}")
        return Event("fencing_done", node.name, None, detail)
    except MysqlhaError as exc:
        log(f"{node.name} fencing FAILED: {exc}; retrying next cycle")
        return Event("fencing_failed", node.name, None, str(exc))
