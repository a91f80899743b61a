"""How healthy is the cluster and its daemon, as an exit code: 0 healthy, 1 degraded, 2 critical.

Pure: it reads a ClusterView, the daemon's last heartbeat, its supervisord state and the pause.
Critical: the daemon is not running or stuck, no node is writable, or two are. Degraded: anything
else an on-call DBA should look at (a node down, replication stopped, failover not armed, paused).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ha.config import Config
from ha.inspect import ClusterView, program_mismatches, source_name, unusable
from ha.liveness import Beat, stale_after
from ha.pause import Pause
from ha.timefmt import age

HEALTHY, DEGRADED, CRITICAL = 0, 1, 2
LEVELS = {HEALTHY: "healthy", DEGRADED: "degraded", CRITICAL: "critical"}


@dataclass(frozen=True)
class Health:
    code: int
    daemon: str  # one plain sentence: running / not running / stale
    writer: str | None  # the one writable node, None when there is none or more than one
    writable: tuple[str, ...]
    roles: dict[str, str]  # each node's actual role, as the servers say
    critical: tuple[str, ...] = ()
    degraded: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def level(self) -> str:
        return LEVELS[self.code]


def actual_role(config: Config, view: ClusterView, name: str) -> str:
    """``master``, ``replica of X``, ``writable replica of X``, ``read-only, no source``, or ``down``."""
    status = view.nodes[name]
    if status.status == "failed":
        return "down"
    if status.status != "ok":
        return "unknown (answered with an error)"
    source = source_name(config, status)
    if source is None:
        return "read-only, no source" if status.read_only else "master"
    return f"replica of {source}" if status.read_only else f"writable replica of {source}"


def cycle_budget(config: Config) -> float:
    """The longest a sound cycle may take: its checks plus the slowest failover step."""
    monitor = config.monitor
    checks = monitor.connect_timeout + 3 * monitor.read_timeout
    return 2 * checks + config.failover.catchup_timeout + config.supervisor.start_timeout


def daemon_liveness(config: Config, program_state: str | None, beat: Beat | None, now: float) -> tuple[str, bool]:
    """(sentence, critical?) for the daemon; ``program_state`` is mysqlcheck's supervisord state or None."""
    where = f" (mysqlcheck {program_state})" if program_state else ""
    if program_state is not None and program_state not in ("RUNNING", "STARTING"):
        return f"daemon not running{where}", True
    if beat is None:
        if program_state is None:
            return "daemon not running (no cycle ever recorded, supervisord state unknown)", True
        return f"daemon started, no cycle recorded yet{where}", program_state != "STARTING"
    limit = stale_after(config.monitor.interval, cycle_budget(config))
    ago = beat.age(now)
    if ago > limit:
        return f"daemon stale (last cycle {age(ago)} ago, expected every {config.monitor.interval:g} s){where}", True
    found = f" [{beat.analysis}]" if beat.analysis else ""
    return f"daemon running{where}: cycle {beat.number} {age(ago)} ago: {beat.sentence}{found}", False


def assess(
    config: Config, view: ClusterView, program_state: str | None, beat: Beat | None, pause: Pause | None, now: float
) -> Health:
    """The exit code and every reason for it."""
    roles = {name: actual_role(config, view, name) for name in config.nodes}
    writable = tuple(name for name, role in roles.items() if role == "master" or role.startswith("writable"))
    daemon, daemon_critical = daemon_liveness(config, program_state, beat, now)
    critical = [daemon] if daemon_critical else []
    if not writable:
        critical.append("no writable master")
    elif len(writable) > 1:
        critical.append(f"{len(writable)} writable masters: {', '.join(writable)}")
    degraded = []
    for name, status in view.nodes.items():
        if status.status != "ok":
            degraded.append(f"{name}: {unusable(status)}")
        elif status.replica and not (status.replica.io_running == "Yes" and status.replica.sql_running):
            error = status.replica.last_io_error or status.replica.last_sql_error
            degraded.append(
                f"{name}: replication not running (IO {status.replica.io_running})" + (f": {error}" if error else "")
            )
    if len(writable) == 1:
        writer = view.nodes[writable[0]]
        if not (writer.semi_sync and writer.semi_sync_clients):
            degraded.append(f"{writable[0]}: no semi-sync replica (a failover could lose writes)")
    if view.state.phase != "armed":
        degraded.append(f"automatic failover is not armed (phase {view.state.phase})")
    elif not view.supervisor_error:
        degraded += program_mismatches(config, view.programs)
    if pause is not None:
        degraded.append(f"automatic failover {pause.describe(now)}")
    if view.supervisor_error:
        degraded.append(f"supervisord: {view.supervisor_error}")
    code = CRITICAL if critical else DEGRADED if degraded else HEALTHY
    return Health(
        code,
        daemon,
        writable[0] if len(writable) == 1 else None,
        writable,
        roles,
        tuple(critical),
        tuple(degraded),
        tuple(critical + degraded),
    )
