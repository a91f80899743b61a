"""Operator commands: status, check-config, ack, switchover, failback, render."""

from __future__ import annotations

import json
import os
import shutil
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from ha.config import Config, load_config, parse_config
from ha.errors import MysqlhaError
from ha.heartbeat import slow_detection
from ha.hooks import HookRunner
from ha.inspect import look, mismatches, program_mismatches, render_text, to_json
from ha.model import Case, DaemonState, Event
from ha.mysql import MySQL
from ha.operations import Marks, errant_explanation
from ha.plan import END_PHASE, execute, plan
from ha.render import DAEMON_PROGRAM, rendered_files
from ha.state import StateStore
from ha.supervisor import Supervisor
from ha.swap import swapped

LOCK_WAIT = 10.0  # seconds an operator command waits for the daemon's cycle to release the lock


@dataclass
class Tools:
    """The real adapters an operator command uses."""

    config: Config
    mysql: MySQL
    supervisor: Supervisor
    store: StateStore

    @classmethod
    def load(cls, path: str) -> Tools:
        config = load_config(path)
        return cls(config, MySQL(config.monitor), Supervisor(config.supervisor), StateStore(config.failover.state_file))


def status(tools: Tools, as_json: bool) -> int:
    view = look(tools.config, tools.mysql, tools.supervisor, tools.store.load())
    print(
        json.dumps(to_json(tools.config, view), indent=2, default=str) if as_json else render_text(tools.config, view)
    )
    return 0


def check_config(tools: Tools) -> int:
    """The YAML is valid (else load() raised); now the live cluster against the configured normal layout."""
    state = tools.store.load()
    view = look(tools.config, tools.mysql, tools.supervisor, state)
    problems = mismatches(tools.config, view)
    for warning in slow_detection(tools.config, {name: s.replica for name, s in view.nodes.items()}):
        print(f"warning: {warning}")
    if problems and state.phase != "armed":
        print(f"(the daemon is {state.phase}: the live layout is expected to differ from the normal one)")
    for problem in problems:
        print(problem)
    if not problems:
        config = tools.config
        print(
            f"{config.path}: ok ({len(config.nodes)} nodes, {len(config.proxies.programs)} proxy programs, "
            "live cluster matches the normal layout)"
        )
    return 1 if problems else 0


def ack(tools: Tools, force: bool) -> int:
    config, store = tools.config, tools.store
    with store.lock(timeout=LOCK_WAIT):
        state = store.load()
        if state.phase == "armed":
            print("already armed")
            return 0
        if state.phase == "failing_over":
            raise MysqlhaError(f"{state.case} in progress; wait for it to finish")
        if not force:
            wrong = program_mismatches(config, tools.supervisor.states())
            if wrong:
                raise MysqlhaError(
                    f"the normal proxy layout is not back ({'; '.join(wrong)}): run `mysqlha failback`, "
                    "or restore it by hand and ack again (--force skips this check)"
                )
        store.save(DaemonState())
    print(f"armed: automatic failover is on again (was {state.phase}: {state.failed_node})")
    return 0


def switchover(tools: Tools, dry_run: bool) -> int:
    """Planned, lossless move of the master role from master1 to master2."""
    config = tools.config

    def ready(state: DaemonState) -> None:
        if state.phase != "armed":
            raise MysqlhaError(f"the daemon is {state.phase}, not armed: switchover starts from the normal layout")
        problems = [
            p
            for p in mismatches(config, look(config, tools.mysql, tools.supervisor, state))
            if p.startswith((config.master.name, config.candidate.name))
        ]
        if problems:
            raise MysqlhaError("not switching over:\n  " + "\n  ".join(problems))

    return operate(tools, "switchover", config.master.name, dry_run, ready)


def failback(tools: Tools, dry_run: bool, rejoin_only: bool, swap_roles: bool = False) -> int:
    """Bring the failed node back; for master1, also switch the master role back unless ``rejoin_only``
    (master2 stays master, watched only) or ``swap_roles`` (master2 stays master, the config says so,
    and automatic failover is armed for that layout)."""
    config, state = tools.config, tools.store.load()
    rejoin_only = rejoin_only or swap_roles
    if state.phase == "failed_over" and state.case == "candidate_down":
        case: Case = "failback_candidate"
        node, master = config.candidate, config.master
    elif state.phase in ("failed_over", "switched_over"):
        case = "rejoin_master" if rejoin_only else "failback_master"
        node, master = config.master, config.candidate
    else:
        raise MysqlhaError(f"nothing to fail back: the daemon is {state.phase} (a refusal only needs `mysqlha ack`)")

    def ready(current: DaemonState) -> None:
        if (current.phase, current.case) != (state.phase, state.case):
            raise MysqlhaError(f"the daemon's state changed to {current.phase}; run failback again")
        missing = tools.mysql.errant(node, master)
        if missing:
            raise MysqlhaError(errant_explanation(node, master, missing))

    if swap_roles and case != "rejoin_master":
        raise MysqlhaError("--swap-roles applies when master1 comes back, not after case 2")
    return operate(tools, case, node.name, dry_run, ready, swap_config if swap_roles else None)


def swap_config(tools: Tools) -> DaemonState:
    """Rewrite the config with master and candidate swapped (old one kept as .bak), reload the daemon, re-arm."""
    config = tools.config
    path = Path(config.path)
    data = yaml.safe_load(path.read_text())
    new = swapped(data, config)
    parse_config(new, config.path, read_secrets=False)  # refuse to write a config the daemon would reject
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    tmp = path.with_name(f".{path.name}.tmp")
    header = f"# roles swapped by `mysqlha failback --swap-roles` on {time.ctime()}; previous config: {backup}\n"
    tmp.write_text(header + yaml.safe_dump(new, sort_keys=False, default_flow_style=None, width=120))
    os.replace(tmp, path)
    print(f"{path}: {config.candidate.name} is now the master and {config.master.name} the candidate ({backup} kept)")
    try:
        tools.supervisor.rpc.supervisor.signalProcess(DAEMON_PROGRAM, "HUP")
        print(f"{DAEMON_PROGRAM} told to reload its config (SIGHUP)")
    except (OSError, xmlrpc.client.Error, MysqlhaError) as exc:
        print(f"could not signal {DAEMON_PROGRAM} ({exc}): restart it so it reads the new config")
    return DaemonState()


def operate(
    tools: Tools,
    case: Case,
    node: str,
    dry_run: bool,
    ready: Callable[[DaemonState], None],
    then: Callable[[Tools], DaemonState] | None = None,
) -> int:
    """Run one plan under the state lock, as the daemon would; report the write outage it caused.

    ``then`` runs, still under the lock, once the plan finished, and gives the state to save.
    """
    config, store = tools.config, tools.store
    marks: Marks = {}
    steps = plan(case, config, tools.mysql, tools.supervisor, marks)
    if dry_run:
        print(f"{case} would run {len(steps)} steps (nothing changed):")
        for index, step in enumerate(steps, 1):
            print(f"  {index}. {step.description}")
        if then is not None:
            print(f"  {len(steps) + 1}. swap the master and candidate roles in {config.path} and re-arm")
        return 0
    with store.lock(timeout=LOCK_WAIT):
        before = store.load()
        if before.phase == "failing_over":
            raise MysqlhaError(f"{before.case} in progress; not starting {case}")
        ready(before)
        state = replace(before, phase="failing_over", case=case, failed_node=node, steps_done=0, since=time.time())
        store.save(state)
        final = execute(state, steps, config, store.save, print)
        if final.phase == "failing_over" and case == "switchover" and final.steps_done < 4:
            final = abort_switchover(tools, before)
        if then is not None and final.phase == END_PHASE[case]:
            store.save(then(tools))
    if "writes_stopped" in marks and "writes_resumed" in marks:
        print(
            f"writes were blocked for {(marks['writes_resumed'] - marks['writes_stopped']) * 1000:.0f} ms "
            "(old master read-only -> new proxies serving)"
        )
    if final.phase == END_PHASE[case]:
        hooks = HookRunner(config.hooks, print)
        hooks.notify(Event("switchover" if case == "switchover" else "failback", node, case))
        hooks.wait_idle(config.hooks.timeout)
        return 0
    return 1


def abort_switchover(tools: Tools, before: DaemonState) -> DaemonState:
    """Undo a switchover that failed before master2 was promoted: master1 writable, normal proxies back."""
    config = tools.config
    transition = config.proxies.master_down
    tools.supervisor.stop(transition.start)
    tools.mysql.make_writable(config.master)
    tools.supervisor.start([config.proxies.programs[name] for name in transition.stop])
    tools.store.save(before)
    print(
        f"switchover aborted before promoting {config.candidate.name}: {config.master.name} is writable again "
        "and the normal proxies serve"
    )
    return before


def render(path: str, out: str, installed_config: str | None) -> int:
    config = load_config(path, read_secrets=False)
    target = Path(out)
    for relative, text in rendered_files(config, installed_config or str(Path(path).resolve())).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
        print(f"wrote {target / relative}")
    return 0
