"""`mysqlha check-config [--offline] [--json]`: the YAML first ("config valid"), then the live cluster."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

from ha.config import Config, load_config
from ha.errors import ConfigError
from ha.heartbeat import slow_findings
from ha.inspect import layout_findings, look
from ha.livecheck import Finding, live_findings
from ha.mysql import MySQL
from ha.state import StateStore
from ha.supervisor import Supervisor


def main(path: str, offline: bool, as_json: bool) -> int:
    """Exit 2 when the YAML is invalid, 1 when the live cluster is not ready for a failover, else 0."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        if as_json:
            print(json.dumps({"config": path, "valid": False, "problems": exc.problems, "ok": False}, indent=2))
        else:
            print("mysqlha: invalid configuration:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {
        "config": path,
        "valid": True,
        "problems": [],
        "warnings": list(config.warnings),
        "offline": offline,
    }
    head = f"{path}: config valid ({len(config.nodes)} nodes, {len(config.proxies.programs)} proxy programs)"
    report["window"] = config.monitor.window
    monitor = config.monitor
    window = (
        f"failover window: a node failing {monitor.failures} checks {monitor.recheck:g} s apart "
        f"(failures x recheck_interval = {monitor.window:g} s); a shorter blip is no failover"
    )
    if not as_json:
        print(head)
        print(window)
        for warning in config.warnings:
            print(f"warning: {warning}")
    if offline:
        report["ok"] = True
        if as_json:
            print(json.dumps(report, indent=2))
        return 0
    phase, layout, findings, slow = live(config)
    errors = layout + [f for f in findings if f.severity == "error"]
    report.update(
        daemon=phase,
        mismatches=[f.to_json() for f in layout],
        findings=[f.to_json() for f in [*findings, *slow]],
        ok=not errors,
    )
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for finding in slow:  # its sentence names the replica first
            print(f"warning: {finding.problem}\n  fix: {finding.fix}")
        print_live(config, phase, layout, findings)
    return 1 if errors else 0


def live(config: Config) -> tuple[str, list[Finding], list[Finding], list[Finding]]:
    """The daemon's phase, how the cluster differs from the normal layout, what a failover would trip on,
    and how slowly the replicas' heartbeats let a hung master be confirmed."""
    mysql, supervisor = MySQL(config.monitor), Supervisor(config.supervisor)
    state = StateStore(config.failover.state_file).load()
    view = look(config, mysql, supervisor, state)
    slow = slow_findings(config, {name: check.replica for name, check in view.nodes.items()})
    return state.phase, for_phase(state.phase, layout_findings(config, view)), live_findings(config, mysql), slow


def for_phase(phase: str, layout: list[Finding]) -> list[Finding]:
    """Unless armed, the layout differs on purpose: running the fixes one by one would undo a failover."""
    return layout if phase == "armed" else [replace(f, fix=while_not_armed(phase)) for f in layout]


def while_not_armed(phase: str) -> str:
    if phase == "refused":
        return "put the normal layout back by hand, then `mysqlha ack` (the daemon touches nothing until then)"
    if phase == "failing_over":
        return "none by hand: a plan is in progress and the daemon finishes it; then `mysqlha failback`"
    return f"none by hand while the daemon is {phase}: `mysqlha failback` brings the normal layout back"


def print_live(config: Config, phase: str, layout: list[Finding], findings: list[Finding]) -> None:
    if layout and phase != "armed":
        print(f"(the daemon is {phase}: the live layout is expected to differ from the normal one)")
    for finding in [*layout, *findings]:
        print("\n".join(finding.lines()))
    errors = len(layout) + sum(1 for f in findings if f.severity == "error")
    if errors:
        print(f"live cluster: {errors} problem(s); a failover now could fail or lose writes")
    else:
        print(
            f"{config.path}: ok (live cluster matches the normal layout and has what a failover needs: grants, "
            "binary logs, heartbeats, semi-sync, GTIDs, users)"
        )
