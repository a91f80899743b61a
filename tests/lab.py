"""Lab shape 3 for tests: a sandbox whose servers and monitor each live in a network namespace.

The test process stays in the machine's namespace and reaches the servers and supervisord over
their unix sockets (which cross namespaces); client traffic through the proxies runs in a
helper inside the monitor's namespace (``ip netns exec``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ha.sandbox.cluster import Sandbox
from ha.sandbox.netns import NetnsLab, missing_tools

NODES = ("master1", "master2", "slave3", "slave4")
UP = """
import json, sys
from ha.sandbox.cluster import Sandbox
options = json.loads(sys.argv[2])
Sandbox(sys.argv[1]).up(**options)
"""
PROXY_NODE = """
import sys
from ha.sandbox.cluster import Sandbox
box = Sandbox(sys.argv[1], log=lambda line: None)
program = box.config.proxies.programs[sys.argv[2]]
with box.app(program.listen_host, program.listen_port) as cur:
    print(box.node_of(cur))
"""


@contextmanager
def lab_sandbox(
    directory: Path, members: tuple[str, ...], layout: Callable[[NetnsLab], dict[str, object]]
) -> Iterator[tuple[Sandbox, NetnsLab]]:
    """Build a lab of ``members`` (namespaces) and a sandbox inside it, `sandbox up` given
    ``layout(lab)``; stop every process by pid and delete every namespace afterwards, pass or fail.
    Skips (with the reason) where namespaces cannot be made."""
    reason = missing_tools()
    if reason:
        pytest.skip(f"netns lab: {reason}")
    lab = NetnsLab(members)
    try:
        lab.create()
    except Exception as exc:  # noqa: BLE001 - any failure to build namespaces means: cannot run here
        pytest.skip(f"netns lab: cannot create network namespaces: {exc}")
    box = Sandbox(directory, log=lambda line: None)
    try:
        up = {
            "hosts": lab.prefix,
            "netns": {node: lab.ns(node) for node in NODES},
            "client_host": f"{lab.prefix}.%",
            **layout(lab),
        }
        result = subprocess.run(
            [*lab.exec_prefix("mon"), sys.executable, "-c", UP, str(directory), json.dumps(up)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"sandbox up in the lab failed:\n{result.stdout}{result.stderr}"
        yield box, lab
    finally:
        try:
            box.down()
        finally:
            leftover = lab.destroy()
            assert not leftover, f"processes left in the lab namespaces (killed): {leftover}"


@contextmanager
def netns_sandbox(directory: Path, **options: object) -> Iterator[tuple[Sandbox, NetnsLab]]:
    """The sandbox in a lab with one monitor host (``mon``) and the server's default heartbeat."""
    with lab_sandbox(directory, ("mon", *NODES), lambda lab: {"heartbeat": None, **options}) as built:
        yield built


def proxy_node(box: Sandbox, lab: NetnsLab, program: str) -> str:
    """The node that answers through ``program``, asked from inside the monitor's namespace."""
    result = subprocess.run(
        [*lab.exec_prefix("mon"), sys.executable, "-c", PROXY_NODE, str(box.directory), program],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
