"""Free ports and address blocks for a sandbox, and who holds a busy port."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

from ha.errors import MysqlhaError
from ha.invocation import me


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no owner
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


LAYOUT = (*range(4), *range(10, 16))  # nodes N..N+3, proxies N+10.. (spares up to N+15)


def layout_free(base: int) -> bool:
    return all(port_free("127.0.0.1", base + offset) for offset in LAYOUT)


def free_base_port(low: int = 20000, high: int = 32700) -> int:
    """A base port N in [low, high) with the sandbox layout free: N..N+3 and N+10..N+15 (spare proxies).

    Below Linux's ephemeral range (32768-60999): a client's outgoing connection cannot take a port
    between the check and the server's bind.
    """
    for _ in range(200):
        base = random.randrange(low, high, 20)
        if layout_free(base):
            return base
    raise MysqlhaError(f"no free port range found between {low} and {high}")


CLASSIC_PROXY_PORTS = (3031, 3032, 3041, 3042)


def free_host_block(proxy_ports: tuple[int, ...] = CLASSIC_PROXY_PORTS, node_port: int = 3306) -> str:
    """A prefix 127.a.b whose .11-.14 have ``node_port`` free and whose .1 has the proxy ports free."""
    for _ in range(200):
        prefix = f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}"
        nodes = [(f"{prefix}.{11 + i}", node_port) for i in range(4)]
        proxies = [(f"{prefix}.1", port) for port in proxy_ports]
        if all(port_free(host, port) for host, port in nodes + proxies):
            return prefix
    raise MysqlhaError("no free 127.a.b.0/24 address block found for a same-port sandbox")


def suggested_base_port() -> int:
    """The first of 13300, 13400, ... with the whole layout free: a value easy to type and remember."""
    for base in range(13300, 30000, 100):
        if layout_free(base):
            return base
    return free_base_port()


def port_holder(port: int) -> str:
    """Who listens on TCP ``port``: "mariadbd, pid 812", or how to find out when /proc does not say."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                name = (proc / "comm").read_text().strip()
                return f"{name}, pid {proc.name}"
        except OSError:
            continue
    if inodes:
        return f"a process of another user; `sudo ss -ltnp 'sport = :{port}'` names it"
    return "not listening: a connection in use or a bind without listen"


def busy_ports_message(busy: list[tuple[str, int]]) -> str:
    """Which ports are taken, by whom, and the --base-port to pass instead."""
    held = ", ".join(f"{host}:{port} ({port_holder(port)})" for host, port in busy)
    base = suggested_base_port()
    return (
        f"ports in use: {held}. Pass --base-port {base} (nodes on {base}-{base + 3}, proxies on "
        f"{base + 10}-{base + 13}; free now): `{me()} sandbox up --base-port {base}`, or "
        f"`bash scripts/demo.sh --base-port {base}` (demo.sh passes its options on to `sandbox up`)"
    )
