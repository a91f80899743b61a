"""Look at the whole cluster once (nodes, programs, daemon state) and compare it with the config."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from ha import layoutfix as fix
from ha.config import Config, Node
from ha.errors import MysqlhaError
from ha.finding import Finding
from ha.identity import same_node
from ha.model import DaemonState, NodeCheck
from ha.mysql import MySQL
from ha.render import DAEMON_PROGRAM
from ha.supervisor import STOPPED_STATES, Supervisor


@dataclass(frozen=True)
class ClusterView:
    nodes: dict[str, NodeCheck]
    programs: dict[str, str]  # program -> supervisord state ("UNKNOWN" when supervisord did not answer)
    supervisor_error: str | None
    state: DaemonState
    daemon_program: str | None = None  # the mysqlcheck program's supervisord state; None when unknown


def look(config: Config, mysql: MySQL, supervisor: Supervisor, state: DaemonState) -> ClusterView:
    """Describe every node concurrently and ask supervisord once."""
    with ThreadPoolExecutor(max_workers=len(config.nodes)) as pool:
        described = dict(zip(config.nodes, pool.map(mysql.probe, config.nodes.values()), strict=True))
    try:
        states = supervisor.states()
        error = None
    except MysqlhaError as exc:
        states, error = {}, str(exc)
    programs = {name: states.get(name, "UNKNOWN" if error else "MISSING") for name in config.proxies.programs}
    return ClusterView(described, programs, error, state, states.get(DAEMON_PROGRAM))


def source_name(config: Config, status: NodeCheck) -> str | None:
    """The configured node a replica replicates from, or its host:port when it is none of them."""
    if status.replica is None:
        return None
    for node in config.nodes.values():
        if same_node(node.host, node.port, status.replica.source_host, status.replica.source_port):
            return node.name
    return f"{status.replica.source_host}:{status.replica.source_port}"


def layout_findings(config: Config, view: ClusterView) -> list[Finding]:
    """Every way the live cluster differs from the configured normal layout, each with what to run."""
    findings = []
    for node in config.nodes.values():
        status = view.nodes[node.name]
        if status.status != "ok":
            findings.append(Finding(node.name, unusable(status), fix.unreachable(config, node, status)))
            continue
        findings += role_findings(config, node, status)
        replica = status.replica
        if (
            replica
            and source_name(config, status) == node.source
            and not (replica.io_running == "Yes" and replica.sql_running)
        ):
            error = replica.last_io_error or replica.last_sql_error
            problem = f"replication not running (IO {replica.io_running}): {error}"
            findings.append(Finding(node.name, problem, fix.start_replication(node, status, error)))
    master, candidate = view.nodes[config.master.name], view.nodes[config.candidate.name]
    if master.status == "ok" and not (master.semi_sync and master.semi_sync_clients):
        problem = (
            f"semi-sync source not on with a replica (status {master.semi_sync}, clients {master.semi_sync_clients})"
        )
        findings.append(Finding(config.master.name, problem, fix.semi_sync_source(config, master)))
    if candidate.status == "ok" and not candidate.semi_sync_replica:
        findings.append(
            Finding(config.candidate.name, "not a semi-sync replica", fix.semi_sync_replica(config, candidate))
        )
    if view.supervisor_error:
        findings.append(Finding("supervisord", view.supervisor_error, fix.supervisord(config)))
    return findings + program_findings(config, view.programs)


def mismatches(config: Config, view: ClusterView) -> list[str]:
    """Every way the live cluster differs from the configured normal layout, one line each."""
    return [finding.summary() for finding in layout_findings(config, view)]


def role_findings(config: Config, node: Node, status: NodeCheck) -> list[Finding]:
    """How a reachable node's role differs from the configured one: writable or not, and its source."""
    findings = []
    want_read_only = node.role != "master"
    if status.read_only != want_read_only:
        problem = (
            f"read_only is {'ON' if status.read_only else 'OFF'}, expected "
            f"{'ON' if want_read_only else 'OFF'} for a {node.role}"
        )
        findings.append(Finding(node.name, problem, fix.read_only(node, status)))
    actual = source_name(config, status)
    if actual != node.source:
        problem = f"replicates from {actual or 'nothing'}, expected {node.source or 'nothing'}"
        findings.append(Finding(node.name, problem, fix.source(config, node, status)))
    return findings


def role_problems(config: Config, node: Node, status: NodeCheck) -> list[str]:
    """``role_findings`` one line each, without the fixes (``ack`` lists them; after a failover they are wrong)."""
    return [finding.summary() for finding in role_findings(config, node, status)]


def role_mismatches(config: Config, view: ClusterView) -> list[str]:
    """What ``ack`` checks: who is writable and who replicates from whom, as the normal layout has it
    (master and candidate must answer; a plain replica that is down sends no writes anywhere)."""
    problems = []
    for node in config.nodes.values():
        status = view.nodes[node.name]
        if status.status == "ok":
            problems += role_problems(config, node, status)
        elif node.role != "replica":
            problems.append(f"{node.name}: {unusable(status)}: its role cannot be checked")
    return problems


def program_findings(config: Config, programs: dict[str, str]) -> list[Finding]:
    """Programs not as the normal layout wants them: the normal set RUNNING, every other one stopped."""
    findings = []
    for name in config.proxies.programs:
        state = programs.get(name, "MISSING")
        if state == "MISSING":
            problem = f"no such program in supervisord at {config.supervisor.url}"
        elif state != "UNKNOWN" and name in config.proxies.normal and state != "RUNNING":
            problem = f"{state}, expected RUNNING (normal set)"
        elif state != "UNKNOWN" and name not in config.proxies.normal and state not in STOPPED_STATES:
            problem = f"{state}, expected stopped (not in the normal set)"
        else:
            continue
        findings.append(Finding(name, problem, fix.program(config, name, state)))
    return findings


def program_mismatches(config: Config, programs: dict[str, str]) -> list[str]:
    """``program_findings`` one line each."""
    return [finding.summary() for finding in program_findings(config, programs)]


def unusable(check: NodeCheck) -> str:
    what = "unreachable" if check.status == "failed" else "answered with an error"
    return f"{what}: {check.error}"


def daemon_sentence(state: DaemonState) -> str:
    since = f" since {time.ctime(state.since)}" if state.since else ""
    if state.phase == "armed":
        return "armed: automatic failover is on"
    if state.phase == "failing_over":
        return f"{state.case} in progress{since}, {state.steps_done} steps done"
    if state.phase == "failed_over":
        return f"failed over ({state.case} of {state.failed_node}){since}: waiting for `mysqlha failback` or `ack`"
    if state.phase == "switched_over":
        return f"switched over{since}: master2 is master; waiting for `mysqlha failback`"
    return f"REFUSING to fail over{since}: {state.reason}; waiting for `mysqlha ack`"


def render_text(
    config: Config, view: ClusterView, roles: dict[str, str] | None = None, header: list[str] | None = None
) -> str:
    """The status table; ``roles`` (each node's actual role) replaces the configured one in ROLE."""
    role = roles or {name: node.role for name, node in config.nodes.items()}
    width = max(9, *(len(r) for r in role.values()))
    rows = header or [f"daemon: {daemon_sentence(view.state)}"]
    if header is None and view.state.sentence:
        rows.append(f"last cycle: {view.state.sentence} [{view.state.analysis}]")
    rows.append("")
    rows.append(
        f"{'NODE':10} {'ROLE':{width}} {'UP':3} {'RO':3} {'SOURCE':10} {'IO/SQL':9} {'LAG':5} {'SEMI-SYNC':18} GTID"
    )
    for node in config.nodes.values():
        s = view.nodes[node.name]
        if s.status != "ok":
            rows.append(f"{node.name:10} {role[node.name]:{width}} {'no':3} {unusable(s)}")
            continue
        replica = s.replica
        io_sql = f"{replica.io_running}/{'Yes' if replica.sql_running else 'No'}" if replica else "-"
        lag = "-" if replica is None or replica.lag is None else f"{replica.lag:g}"
        semi = []
        if s.semi_sync:
            semi.append(f"source ON ({s.semi_sync_clients})")
        if s.semi_sync_replica:
            semi.append("replica ON")
        rows.append(
            f"{node.name:10} {role[node.name]:{width}} {'yes':3} {'ON' if s.read_only else 'OFF':3} "
            f"{source_name(config, s) or '-':10} {io_sql:9} {lag:5} {', '.join(semi) or 'off':18} {s.position or '-'}"
        )
    rows += ["", f"{'PROGRAM':30} {'STATE':9} {'LISTEN':16} BACKENDS"]
    for name, state in view.programs.items():
        program = config.proxies.programs[name]
        rows.append(f"{name:30} {state:9} {program.listen:16} {', '.join(program.backends)}")
    if view.supervisor_error:
        rows.append(f"supervisord: {view.supervisor_error}")
    return "\n".join(rows)


def to_json(config: Config, view: ClusterView) -> dict[str, Any]:
    return {
        "daemon": {**view.state.to_json(), "summary": daemon_sentence(view.state)},
        "nodes": {
            name: {
                **asdict(status),
                "reachable": status.status == "ok",
                "role": config.nodes[name].role,
                "source": source_name(config, status),
            }
            for name, status in view.nodes.items()
        },
        "programs": {
            name: {
                "state": state,
                "listen": config.proxies.programs[name].listen,
                "backends": list(config.proxies.programs[name].backends),
            }
            for name, state in view.programs.items()
        },
        "supervisor_error": view.supervisor_error,
    }
