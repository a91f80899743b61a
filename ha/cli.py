"""`mysqlha` subcommands; the only place that builds real adapters and hands them in."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import TYPE_CHECKING

from ha import __version__, checkconfig, commands, daemon, forced, oncall
from ha.config import CONFIG_ENV, default_path
from ha.errors import ConfigError, MysqlhaError
from ha.invocation import me
from ha.schema import json_schema

if TYPE_CHECKING:  # the sandbox is imported only by the commands that use it
    from ha.sandbox.cluster import Sandbox

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
    parser.add_argument(
        "--config", dest="global_config", default=None, help="topology YAML, before or after the command"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config", default=None, help="topology YAML (default: $MYSQLHA_CONFIG or /etc/mysqlha/mysqlha.yml)"
        )
        return p

    with_config(sub.add_parser("run", help="run the failover daemon (what supervisord runs as mysqlcheck)"))
    check = with_config(sub.add_parser("check-config", help="validate the YAML, then the live cluster against it"))
    check.add_argument(
        "--offline", action="store_true", help="the YAML and this host's files only; no server contacted"
    )
    check.add_argument("--json", action="store_true", help="one JSON document: problems, warnings, live findings")
    sub.add_parser("schema", help="print the JSON Schema of the config file (for editors and CI)")
    ack = with_config(sub.add_parser("ack", help="re-arm automatic failover after an operator restored the layout"))
    ack.add_argument("--force", action="store_true", help="re-arm even if the normal proxy set is not running")
    status = with_config(
        sub.add_parser(
            "status",
            help="nodes (actual roles), programs, the daemon's liveness; exit 0 healthy, 1 degraded, 2 critical",
        )
    )
    status.add_argument("--json", action="store_true")
    pause = with_config(sub.add_parser("pause", help="stop automatic failover (the daemon keeps watching and fencing)"))
    pause.add_argument(
        "--for", dest="duration", default=None, help="how long, e.g. 30m, 2h, 1d (default: until resume)"
    )
    pause.add_argument("--reason", default="", help="why, shown in status, the log and the history")
    with_config(sub.add_parser("resume", help="end a pause: automatic failover is on again"))
    history = with_config(sub.add_parser("history", help="what the daemon and operators did: failovers, acks, pauses"))
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    history.add_argument("--since", default=None, help="a duration back (2h, 1d) or an ISO date/time")
    switch = with_config(sub.add_parser("switchover", help="planned, lossless move of the master to the candidate"))
    switch.add_argument(
        "--dry-run", action="store_true", help="print the plan, check the preconditions (exit 1 if they fail)"
    )
    switch.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    force = with_config(
        sub.add_parser("failover", help="force case 1 (promote the candidate) after a refusal or on demand")
    )
    force.add_argument(
        "--accept-data-loss", action="store_true", help="accept losing what the candidate never received"
    )
    force.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    back = with_config(sub.add_parser("failback", help="bring the failed node back and restore the normal layout"))
    back.add_argument(
        "--dry-run", action="store_true", help="print the plan, check the preconditions (exit 1 if they fail)"
    )
    back.add_argument("--rejoin-only", action="store_true", help="rejoin master1 under master2 and stop there")
    back.add_argument(
        "--swap-roles",
        action="store_true",
        help="rejoin master1 under master2, keep master2 as master: swap the roles in the config and re-arm",
    )
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
    up.add_argument(
        "--hosts",
        nargs="?",
        const="auto",
        default=None,
        metavar="A.B.C",
        help="same port, own address: nodes on A.B.C.11-14:3306, proxies on A.B.C.1 (default: a free 127.a.b)",
    )
    up.add_argument(
        "--heartbeat",
        default="1",
        help="replication heartbeat period the sandbox sets, in seconds, or 'default' for the server's own "
        "(slave_net_timeout / 2 = 30 s); default 1 (tuned, and the sandbox says so)",
    )
    up.add_argument("--topology", default=None, help="template topology YAML (default conf/mysqlha.yml)")
    up.add_argument("--interval", type=float, default=None, help="check interval in seconds")
    up.add_argument("--failures", type=int, default=None, help="failed checks before a failover")
    up.add_argument("--no-daemon", action="store_true", help="define mysqlcheck but do not start it")
    up.add_argument("--semi-sync-timeout-ms", type=int, default=1000)
    up.add_argument(
        "--monitors",
        type=int,
        default=1,
        help="several monitors: a 3-member etcd in DIR/etcd and the programs mysqlcheck1..N (default 1: mysqlcheck)",
    )
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
            return daemon.main(args.config or args.global_config or default_path())
        if args.command == "sandbox":
            return sandbox_command(args)
        path = getattr(args, "config", None) or args.global_config or default_path()
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return 0
        if not os.path.exists(path):
            print(missing_config(path), file=sys.stderr)
            return 2
        if args.command == "check-config":
            return checkconfig.main(path, args.offline, args.json)
        if args.command == "render":
            return commands.render(path, args.out, args.installed_config)
        tools = commands.Tools.load(path)
        if args.command == "ack":
            return commands.ack(tools, args.force)
        if args.command == "status":
            return oncall.status(tools.config, tools.mysql, tools.supervisor, tools.store, args.json)
        if args.command == "pause":
            return oncall.pause(tools.config, args.duration, args.reason)
        if args.command == "resume":
            return oncall.resume(tools.config)
        if args.command == "history":
            return oncall.history(tools.config, args.json, args.since)
        if args.command == "switchover":
            return commands.switchover(tools, args.dry_run, args.yes)
        if args.command == "failover":
            return forced.failover(tools, args.accept_data_loss, args.yes)
        return commands.failback(tools, args.dry_run, args.rejoin_only, args.swap_roles)
    except ConfigError as exc:
        print("mysqlha: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except MysqlhaError as exc:
        print(f"mysqlha: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `mysqlha status | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def missing_config(path: str) -> str:
    """What to pass when the config file does not exist (a sandbox user forgot --config)."""
    hint = f"mysqlha: no configuration at {path}: pass --config FILE or set ${CONFIG_ENV}"
    sandbox = os.path.join("sandbox", "mysqlha.yml")
    if os.path.exists(sandbox):
        return f"{hint} (the sandbox's: `--config {sandbox}`)"
    return f"{hint} (the sandbox's is sandbox/mysqlha.yml once `mysqlha sandbox up` ran)"


def sandbox_command(args: argparse.Namespace) -> int:
    from ha.sandbox.cluster import Sandbox

    box = Sandbox(args.dir)
    if args.action == "up":
        from ha.sandbox.cluster import free_host_block

        hosts = free_host_block() if args.hosts == "auto" else args.hosts
        heartbeat = None if args.heartbeat == "default" else float(args.heartbeat)
        took = box.up(
            args.topology,
            args.base_port,
            args.interval,
            args.failures,
            not args.no_daemon,
            args.semi_sync_timeout_ms,
            hosts=hosts,
            heartbeat=heartbeat,
            monitors=args.monitors,
        )
        print_built(box, took)
    elif args.action == "down":
        if args.remove:
            from ha.sandbox.guard import why_not_a_sandbox

            reason = why_not_a_sandbox(box.directory)
            if reason is not None:
                raise MysqlhaError(f"not removing {box.directory}: {reason}; delete it by hand if you mean it")
        took = box.down()
        if args.remove:
            from ha.sandbox.guard import remove_sandbox

            remove_sandbox(box.directory)
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


def print_built(box: Sandbox, took: float) -> None:
    from ha.sandbox.supervisord import supervisor_tool

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
    supervisorctl = supervisor_tool("supervisorctl")
    print(f"status:   {me()} --config {box.config_path} status")
    print(f"programs: {supervisorctl} -c {box.supervisord_conf} status")
    print(f"drills:   {me()} sandbox --dir {box.directory} kill M1   # or stop/start/freeze/thaw NODE")
    print(f"stop:     {me()} sandbox --dir {box.directory} down")
