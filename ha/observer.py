"""One observation of the cluster: the checks, the replicas' views, supervisord's programs, all bounded.

Every call runs on the daemon's thread pool and is bounded twice: each read by the adapters' own
timeouts, the whole call by ``check_budget`` (a call still running then gets a "late" answer).
"""

from __future__ import annotations

import time
import xmlrpc.client
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from ha.adapters import Adapters
from ha.config import Config, Monitor, Node, SupervisorEndpoint
from ha.errors import MysqlhaError
from ha.model import NodeCheck, Snapshot, Witness
from ha.mysql import check_budget

T = TypeVar("T")


def late_check(name: str, budget: float) -> NodeCheck:
    return NodeCheck(name, "failed", budget, f"check still running after {budget:g} s")


def late_ask(name: str, budget: float) -> Witness:
    return Witness(name, None, f"no answer within {budget:g} s")


def observe(pool: ThreadPoolExecutor, config: Config, adapters: Adapters, number: int, wall: float) -> Snapshot:
    """Check the master and the candidate and ask the masters' replicas, all at once.

    The replicas are asked every cycle (one SHOW SLAVE STATUS each) at the same moment as the
    checks, so the silence that confirms a hung master counts from when they last heard it, not
    from when a timed-out check returned; the candidate's view of the master comes with its check.
    """
    programs = pool.submit(adapters.supervisor.states)  # once per cycle, beside the checks
    checked = {node.name: node for node in (config.master, config.candidate)}
    replicas = {replica.name: replica for name in checked for replica in config.replicas_of(name)}
    others = {name: node for name, node in replicas.items() if name not in checked}
    budget = check_budget(config.monitor)
    check_futures = {name: pool.submit(adapters.mysql.probe, node) for name, node in checked.items()}
    ask_futures = {name: pool.submit(adapters.mysql.ask, node) for name, node in others.items()}
    deadline = time.monotonic() + budget  # the checks and the asks share one budget: they run together
    checks = collect(check_futures, deadline, budget, late_check)
    asked = collect(ask_futures, deadline, budget, late_ask)
    for name, check in checks.items():
        if check.status == "ok":
            adapters.watcher.rearm(name)
    known = {
        name: Witness(name, checks[name].replica)
        for name in replicas
        if name in checks and checks[name].status == "ok" and checks[name].replica is not None
    }
    unknown = {name: node for name, node in replicas.items() if name in checked and name not in known}
    asked.update(bounded(pool, config.monitor, unknown, adapters.mysql.ask, late_ask))
    asked.update(known)
    states, error = program_states(programs, config.supervisor)
    return Snapshot(number, wall, checks, asked, states, error)


def ask(pool: ThreadPoolExecutor, config: Config, adapters: Adapters, failing: list[str]) -> dict[str, Witness]:
    """What the replicas of the ``failing`` nodes say about them, asked concurrently."""
    witnesses = {replica.name: replica for name in failing for replica in config.replicas_of(name)}
    return bounded(pool, config.monitor, witnesses, adapters.mysql.ask, late_ask)


def bounded(
    pool: ThreadPoolExecutor,
    monitor: Monitor,
    nodes: dict[str, Node],
    call: Callable[[Node], T],
    late: Callable[[str, float], T],
) -> dict[str, T]:
    """Run ``call`` on every node at once; a call not done within the timeouts gets ``late``.

    Every read of a call is bounded by read_timeout: a slow server that answers each in time is
    alive, so the overall bound allows every read of a probe its full read_timeout.
    """
    budget = check_budget(monitor)
    deadline = time.monotonic() + budget
    futures = {name: pool.submit(call, node) for name, node in nodes.items()}
    return collect(futures, deadline, budget, late)


def collect(
    futures: dict[str, Future[T]], deadline: float, budget: float, late: Callable[[str, float], T]
) -> dict[str, T]:
    """The results of calls started together; waits until the monotonic ``deadline`` at most."""
    wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
    return {name: f.result() if f.done() else late(name, budget) for name, f in futures.items()}


def program_states(
    future: Future[dict[str, str]], endpoint: SupervisorEndpoint
) -> tuple[dict[str, str] | None, str | None]:
    """supervisord's program states, or why there are none (each call is bounded; this backs it up)."""
    budget = 3 * endpoint.timeout + 0.5  # the adapter's retries, each bounded by the timeout
    try:
        return future.result(timeout=budget), None
    except FutureTimeout:
        return None, f"no answer within {budget:g} s"
    except (MysqlhaError, OSError, xmlrpc.client.Error) as exc:
        return None, str(exc)
