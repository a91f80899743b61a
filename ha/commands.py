"""Operator commands: ack, switchover, failback, render (status: ha/oncall.py; check-config: ha/checkconfig.py)."""

from __future__ import annotations

import os
import shutil
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ha.config import Config, load_config, parse_config
from ha.errors import MysqlhaError
from ha.etcdhistory import history_for
from ha.forced import confirm
from ha.hooks import HookRunner
from ha.inspect import look, mismatches, program_mismatches, role_mismatches
from ha.model import Case, DaemonState, Event
from ha.mysql import MySQL
from ha.oncall import operator_name
from ha.plans import errant_explanation
from ha.render import DAEMON_PROGRAM, proxy_programs, rendered_files
from ha.runner import Runner
from ha.state import StateStore, Store
from ha.supervisor import Supervisor
from ha.swap import swapped, swapped_text

LOCK_WAIT = 10.0  # seconds an operator command waits for the daemon's cycle to release the lock


def store_for(config: Config) -> Store:
    """The state file; with several monitors, the state in etcd (read by commands, written by the leader)."""
    if config.coordination is None:
        return StateStore(config.failover.state_file)
    from ha.adapters import coordinator_for
    from ha.etcdstore import EtcdStateStore

    coordinator = coordinator_for(config, print)
    assert coordinator is not None
    return EtcdStateStore(coordinator, operator=True)


@dataclass
class Tools:
    """The real adapters an operator command uses."""

    config: Config
    mysql: MySQL
    supervisor: Supervisor
    store: Store

    @classmethod
    def load(cls, path: str) -> Tools:
        config = load_config(path)
        return cls(config, MySQL(config.monitor), Supervisor(config.supervisor), store_for(config))

    def runner(self) -> Runner:
        return Runner(self.config, self.mysql, self.supervisor, self.store, print)


def ack(tools: Tools, force: bool) -> int:
    config = tools.config

    def check(state: DaemonState) -> None:
        if force:
            return
        view = look(config, tools.mysql, tools.supervisor, state)
        wrong = role_mismatches(config, view) + program_mismatches(config, view.programs)
        if view.supervisor_error:
            wrong.append(f"supervisord: {view.supervisor_error}")
        if wrong:
            raise MysqlhaError(
                f"the normal layout is not back ({'; '.join(wrong)}): run `mysqlha failback`, "
                "or restore it by hand and ack again (--force skips this check)"
            )

    state = tools.runner().rearm(check, LOCK_WAIT)
    if state.phase == "armed":
        print("already armed")
        return 0
    by = operator_name()
    detail = f"was {state.phase}" + (f" ({state.case} of {state.failed_node})" if state.case else "")
    history_for(config).record("ack", by=by, detail=detail, forced=force or None)
    hooks = HookRunner(config.hooks, print)
    hooks.notify(Event("ack", state.failed_node, state.case, f"{detail}; by {by}"))
    hooks.wait_idle(config.hooks.timeout)
    print(f"armed: automatic failover is on again ({detail})")
    return 0


def switchover(tools: Tools, dry_run: bool, yes: bool = True) -> int:
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

    question = f"Move the master role from {config.master.name} to {config.candidate.name} (writes pause briefly)?"
    return operate(tools, "switchover", config.master.name, dry_run, ready, confirm_with=None if yes else question)


def failback(tools: Tools, dry_run: bool, rejoin_only: bool, swap_roles: bool = False) -> int:
    """Bring the failed node back; for master1, also switch the master role back unless ``rejoin_only``
    (master2 stays master, watched only) or ``swap_roles`` (master2 stays master, the config says so,
    and automatic failover is armed for that layout)."""
    config = tools.config
    refused = swap_refusal(config) if swap_roles else None
    if refused:
        raise MysqlhaError(refused)
    state = tools.store.load()
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


def swap_refusal(config: Config) -> str | None:
    """Why ``--swap-roles`` cannot run here, before anything is touched; None when it can."""
    if config.coordination is None:
        return None
    return (
        f"{config.path}: coordination: --swap-roles is refused with several monitors: every monitor's config "
        "names master1 and master2, and this command can rewrite only this host's, so the monitors would "
        "disagree on the roles. Run `mysqlha failback` (master1 master again) instead, or `mysqlha failback "
        "--rejoin-only`, then swap master and candidate in every monitor's config and SIGHUP them all"
    )


def swap_config(tools: Tools) -> None:
    """Rewrite the config with master and candidate swapped and reload the daemon.

    The old file is kept as .bak; the new one keeps its mode, owner and every comment except on the
    rewritten keys (of nodes and proxies; theirs described the old layout, the .bak keeps them). Rendered
    supervisord program files beside the HAProxy configs are rewritten too, so the new normal set is
    what autostarts; one line says whether they were and, if not, what to run.
    """
    config = tools.config
    path = Path(config.path)
    text = path.read_text()
    data = yaml.safe_load(text)
    new = swapped(data, config)
    new_config = parse_config(new, config.path, read_secrets=False)  # refuse a config the daemon would reject
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    note = f"roles swapped by `mysqlha failback --swap-roles` on {time.ctime()}; previous config: {backup}"
    replace_keeping_owner(path, swapped_text(text, data, new, note))
    print(f"{path}: {config.candidate.name} is now the master and {config.master.name} the candidate ({backup} kept)")
    programs = Path(config.proxies.config_dir).parent / "supervisord.conf.d" / "haproxy.conf"
    if programs.exists():
        replace_keeping_owner(programs, proxy_programs(new_config))
        print(f"{programs}: rewritten, the new normal set autostarts (no `supervisorctl update` needed now)")
    else:
        print(
            f"{programs}: not found, supervisord program files NOT re-rendered (the running programs are right; "
            f"their autostart is not): run `mysqlha render --config {path} --out DIR` and install "
            "DIR/supervisord.conf.d/haproxy.conf where supervisord reads it, then `supervisorctl update`"
        )
    try:
        tools.supervisor.rpc.supervisor.signalProcess(DAEMON_PROGRAM, "HUP")
        print(f"{DAEMON_PROGRAM} told to reload its config (SIGHUP)")
    except (OSError, xmlrpc.client.Error, MysqlhaError) as exc:
        print(f"could not signal {DAEMON_PROGRAM} ({exc}): restart it so it reads the new config")


def replace_keeping_owner(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, keeping its mode and (when allowed) its owner."""
    info = path.stat()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), info.st_mode & 0o7777)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, info.st_mode & 0o7777)
    try:
        os.chown(tmp, info.st_uid, info.st_gid)
    except PermissionError:
        pass  # an ordinary user cannot give a file away; it keeps the mode
    os.replace(tmp, path)


def operate(
    tools: Tools,
    case: Case,
    node: str,
    dry_run: bool,
    ready: Callable[[DaemonState], None],
    then: Callable[[Tools], None] | None = None,
    confirm_with: str | None = None,
) -> int:
    """Hand one plan to the runner, as the daemon would; report the write outage it caused.

    ``then`` runs, still under the lock, once the plan finished; the runner then re-arms. A dry run
    evaluates the preconditions too and exits 1 when they fail. ``confirm_with`` asks first.
    """
    config, runner = tools.config, tools.runner()
    if dry_run:
        steps = runner.plan(case).steps
        print(f"{case} would run {len(steps)} steps (nothing changed):")
        for index, step in enumerate(steps, 1):
            print(f"  {index}. {step.description}")
        if then is not None:
            print(f"  {len(steps) + 1}. swap the master and candidate roles in {config.path} and re-arm")
        try:
            ready(tools.store.load())
        except MysqlhaError as exc:
            print(f"preconditions FAIL: {exc}")
            return 1
        print("preconditions: ok")
        return 0
    if confirm_with is not None and not confirm(confirm_with):
        print(f"not running {case}")
        return 1
    after = None if then is None else lambda: then(tools)
    outcome = runner.operate(case, node, ready, after, LOCK_WAIT)
    marks = outcome.marks
    outage = None
    if "writes_stopped" in marks and "writes_resumed" in marks:
        outage = round((marks["writes_resumed"] - marks["writes_stopped"]) * 1000)
        print(f"writes were blocked for {outage} ms (old master read-only -> new proxies serving)")
    journal = list(runner.journal)
    history_for(config).record(
        "switchover" if case == "switchover" else "failback",
        node=node,
        case=case,
        by=operator_name(),
        outcome="finished" if outcome.finished else outcome.sentence,
        steps=journal,
        took_ms=sum(step["ms"] for step in journal),
        outage_ms=outage,
    )
    if outcome.events:
        hooks = HookRunner(config.hooks, print)
        for event in outcome.events:
            hooks.notify(event)
        hooks.wait_idle(config.hooks.timeout)
    return 0 if outcome.finished else 1


def render(path: str, out: str, installed_config: str | None) -> int:
    config = load_config(path, read_secrets=False)
    target = Path(out)
    for relative, text in rendered_files(config, installed_config or str(Path(path).resolve())).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
        print(f"wrote {target / relative}")
    return 0
