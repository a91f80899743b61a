"""`mysqlha` subcommands; the only place that builds real adapters and hands them in."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from ha import __version__, daemon
from ha.config import default_path, load_config
from ha.errors import ConfigError, MysqlhaError
from ha.render import rendered_files
from ha.state import StateStore
from ha.supervisor import STOPPED_STATES, Supervisor

DRILLS = {
    "kill": "kill -9 a server",
    "stop": "shut a server down cleanly",
    "start": "start a stopped server and wait until it answers",
    "freeze": "SIGSTOP a server (it hangs: accepts TCP, never answers)",
    "thaw": "SIGCONT a frozen server",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mysqlha", description="Semi-sync MySQL/MariaDB failover under supervisord.")
    parser.add_argument("--version", action="version", version=f"mysqlha {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config", default=None, help="topology YAML (default: $MYSQLHA_CONFIG or /etc/mysqlha/mysqlha.yml)"
        )
        return p

    with_config(sub.add_parser("run", help="run the failover daemon (what supervisord runs as mysqlcheck)"))
    with_config(sub.add_parser("check-config", help="validate the YAML and that supervisord has every program"))
    ack = with_config(sub.add_parser("ack", help="re-arm automatic failover after an operator restored the layout"))
    ack.add_argument("--force", action="store_true", help="re-arm even if the normal proxy set is not running")
    status = with_config(sub.add_parser("status", help="the daemon's state and the proxy programs"))
    status.add_argument("--json", action="store_true")
    render = with_config(sub.add_parser("render", help="write HAProxy configs and supervisord program blocks"))
    render.add_argument("--out", required=True, help="directory for haproxy/*.cfg and supervisord.conf.d/*.conf")
    render.add_argument("--installed-config", default=None, help="config path mysqlcheck reads (default: --config)")

    sandbox = sub.add_parser("sandbox", help="a local four-server cluster for trying mysqlha and for tests")
    sandbox.add_argument("--dir", default="sandbox", help="where the sandbox lives (default ./sandbox)")
    ssub = sandbox.add_subparsers(dest="action", required=True)
    up = ssub.add_parser("up", help="build, start and verify the sandbox")
    up.add_argument(
        "--base-port", type=int, default=None, help="nodes on N..N+3, proxies on N+10.. (default: classic ports)"
    )
    up.add_argument("--topology", default=None, help="template topology YAML (default conf/mysqlha.yml)")
    up.add_argument("--interval", type=float, default=None, help="check interval in seconds")
    up.add_argument("--failures", type=int, default=None, help="failed checks before a failover")
    up.add_argument("--no-daemon", action="store_true", help="define mysqlcheck but do not start it")
    up.add_argument("--semi-sync-timeout-ms", type=int, default=1000)
    down = ssub.add_parser("down", help="stop every process of the sandbox")
    down.add_argument("--remove", action="store_true", help="also delete the sandbox directory")
    ssub.add_parser("status", help="servers and programs")
    for name, text in DRILLS.items():
        ssub.add_parser(name, help=text).add_argument("node", help="node name, or M1 / M2 / S1 / S2")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return daemon.main(args.config or default_path())
        if args.command == "sandbox":
            return sandbox_command(args)
        return {"check-config": check_config, "ack": ack, "status": status, "render": render}[args.command](args)
    except ConfigError as exc:
        print("mysqlha: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except MysqlhaError as exc:
        print(f"mysqlha: {exc}", file=sys.stderr)
        return 1


def check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config or default_path())
    problems = daemon.preflight(config, Supervisor(config.supervisor))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{config.path}: ok ({len(config.nodes)} nodes, {len(config.proxies.programs)} proxy programs)")
    return 1 if problems else 0


def ack(args: argparse.Namespace) -> int:
    config = load_config(args.config or default_path())
    store = StateStore(config.failover.state_file)
    with store.lock(blocking=False):
        state = store.load()
        if state.phase == "armed":
            print("already armed")
            return 0
        if state.phase == "failing_over":
            raise MysqlhaError("a failover is in progress; wait for it to finish")
        if not args.force:
            states = Supervisor(config.supervisor).states()
            wrong = [n for n in config.proxies.normal if states.get(n) != "RUNNING"]
            wrong += [
                n
                for n in config.all_programs()
                if n not in config.proxies.normal and states.get(n) not in STOPPED_STATES
            ]
            if wrong:
                raise MysqlhaError(
                    f"the normal proxy layout is not back ({', '.join(wrong)}); restore it first or use --force"
                )
        store.save(type(state)())
    print(f"armed: automatic failover is on again (was {state.phase}: {state.failed_node})")
    return 0


def status(args: argparse.Namespace) -> int:
    config = load_config(args.config or default_path())
    state = StateStore(config.failover.state_file).load()
    try:
        programs = Supervisor(config.supervisor).states()
    except MysqlhaError as exc:
        programs = {"error": str(exc)}
    if args.json:
        print(json.dumps({"state": state.to_json(), "programs": programs}, indent=2))
        return 0
    print(f"daemon: {state.phase}" + (f" ({state.case} of {state.failed_node})" if state.case else ""))
    if state.reason:
        print(f"  reason: {state.reason}")
    for name, program_state in sorted(programs.items()):
        print(f"  {name:30} {program_state}")
    return 0


def render(args: argparse.Namespace) -> int:
    path = args.config or default_path()
    config = load_config(path, read_secrets=False)
    out = Path(args.out)
    installed = args.installed_config or str(Path(path).resolve())
    for relative, text in rendered_files(config, installed).items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text)
        print(f"wrote {out / relative}")
    return 0


def sandbox_command(args: argparse.Namespace) -> int:
    from ha.sandbox.cluster import Sandbox

    box = Sandbox(args.dir)
    if args.action == "up":
        took = box.up(
            args.topology, args.base_port, args.interval, args.failures, not args.no_daemon, args.semi_sync_timeout_ms
        )
        print_built(box, took)
    elif args.action == "down":
        took = box.down()
        if args.remove:
            import shutil

            shutil.rmtree(box.directory)
        print(f"sandbox in {box.directory} stopped in {took:.1f} s" + (" and removed" if args.remove else ""))
    elif args.action == "status":
        print("\n".join(box.status()))
    else:
        server = box.server(args.node)
        if args.action == "kill":
            server.kill()
        elif args.action == "stop":
            server.stop()
        elif args.action == "start":
            server.start()
            server.wait_ready()
        else:
            server.signal(signal.SIGSTOP if args.action == "freeze" else signal.SIGCONT)
        print(f"{server.node.name}: {args.action} done")
    return 0


def print_built(box: object, took: float) -> None:
    from ha.sandbox.cluster import Sandbox

    assert isinstance(box, Sandbox)
    config = box.config
    print(f"sandbox up and verified in {took:.1f} s: {box.directory}")
    for node in config.nodes.values():
        source = f" <- {node.source}" if node.source else ""
        print(f"  {node.name:10} {node.role:9} {node.host}:{node.port}{source}")
    for name in config.proxies.normal:
        program = config.proxies.programs[name]
        print(f"  {name:30} {program.listen} -> {', '.join(program.backends)}")
    write = config.proxies.programs[config.proxies.normal[0]]
    password = f"$(cat {box.directory}/secrets/app.password)"
    print(f'connect:  mariadb -h {write.listen_host} -P {write.listen_port} -u app -p"{password}" app')
    print(f"daemon:   tail -f {box.mysqlcheck_log()}")
    print(f"programs: supervisorctl -c {box.supervisord_conf} status")
    print(f"drills:   mysqlha sandbox --dir {box.directory} kill M1   (or stop/start/freeze/thaw NODE)")
    print(f"stop:     mysqlha sandbox --dir {box.directory} down")
