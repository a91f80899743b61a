"""Checks across keys: names, unique addresses, replication sources, proxy layouts, placeholders, timings.

Each check reads a parsed Config and reports through the Reader, so a problem names the file, the
line and the key like any other.
"""

from __future__ import annotations

import ipaddress
import re
import string
from typing import TYPE_CHECKING

from ha.identity import same_host, same_node
from ha.schema import PLACEHOLDERS, SAFE_NAME
from ha.validation import Reader

if TYPE_CHECKING:
    from ha.config import Config, Node, ProxyProgram

SAFE = re.compile(SAFE_NAME)
SAFE_HOST = re.compile(r"^[A-Za-z0-9_.:\[\]-]*$")
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")
BLIP_WINDOW = 2.0  # seconds; a shorter failures x interval window turns a blip into a failover


def cross_check(reader: Reader, config: Config) -> None:
    """Every check across keys; problems and warnings go to ``reader``."""
    check_names(reader, config)
    check_addresses(reader, config)
    check_sources(reader, config)
    check_layouts(reader, config)
    check_command(reader, config)
    check_window(reader, config)


def shown(name: str) -> str:
    """A name safe to print on one line (a bad one may hold a newline)."""
    return name if SAFE.fullmatch(name) else repr(name)


def check_names(reader: Reader, config: Config) -> None:
    """Names end up in HAProxy configs and file paths: letters, digits, ``_ . -`` only."""
    rule = "expected letters, digits, '_', '.' and '-' only (it is written into HAProxy configs and file paths)"
    for section, names in (("nodes", config.nodes), ("proxies.programs", config.proxies.programs)):
        for name in names:
            if not SAFE.fullmatch(name) or name in (".", ".."):
                reader.problem(f"{section}.{shown(name)}", f"unsafe name {name!r}; {rule}", at=f"{section}.{name}")
    for node in config.nodes.values():
        if node.host is not None and not SAFE_HOST.fullmatch(node.host):
            reader.problem(
                f"nodes.{shown(node.name)}.host", f"expected a host name or an IP address, got {node.host!r}"
            )
    for program in config.proxies.programs.values():
        if not SAFE_HOST.fullmatch(program.listen_host):
            reader.problem(
                f"proxies.programs.{shown(program.name)}.listen",
                f"expected host:port with a host name or an IP address, got {program.listen_host!r}",
            )
    user = config.proxies.health_check_user
    if user is not None and not SAFE.fullmatch(user):
        reader.problem("proxies.health_check_user", f"unsafe user name {user!r}; {rule}")


def check_addresses(reader: Reader, config: Config) -> None:
    """Two nodes on one host:port are one server; hosts are compared by address (``localhost`` is 127.0.0.1)."""
    seen: list[Node] = []
    for node in config.nodes.values():
        if not node.port:
            continue
        same = next((other for other in seen if same_node(node.host, node.port, other.host, other.port)), None)
        if same is None:
            seen.append(node)
            continue
        other = f"also nodes.{shown(same.name)}"
        if same.host != node.host:
            other = f"the same server as nodes.{shown(same.name)} ({same.host}:{same.port})"
        reader.problem(
            f"nodes.{shown(node.name)}.port", f"{node.host}:{node.port} is {other}; every node needs its own host:port"
        )


def check_sources(reader: Reader, config: Config) -> None:
    """Every node's chain of sources ends at the master: no node replicates from itself or a loop."""
    nodes = config.nodes
    for node in nodes.values():
        if node.source == node.name:
            reader.problem(f"nodes.{shown(node.name)}.source", "a node cannot replicate from itself")
            continue
        chain, current = [node.name], node.source
        while current is not None and current in nodes and current not in chain:
            chain.append(current)
            current = nodes[current].source
        if current is not None and current in chain:
            reader.problem(
                f"nodes.{shown(node.name)}.source",
                f"replication loop {' -> '.join([*chain, current])}; expected a chain ending at the master",
            )


def wildcard(host: str) -> bool:
    """``*``, empty, or an unspecified address (0.0.0.0, ::, [0:0::0]): a bind to every address."""
    if host.strip() in WILDCARDS:
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_unspecified
    except ValueError:
        return False


def conflicts(a: ProxyProgram, b: ProxyProgram) -> bool:
    """Two programs cannot both bind: same port, and the same host (by address) or a wildcard one."""
    if a.listen_port != b.listen_port or not a.listen_port:
        return False
    return wildcard(a.listen_host) or wildcard(b.listen_host) or same_host(a.listen_host, b.listen_host)


def check_layouts(reader: Reader, config: Config) -> None:
    """The normal set and the set after each failure case each bind every port once."""
    proxies = config.proxies
    programs = proxies.programs
    wrong = misplaced(config)
    normal = [programs[n] for n in proxies.normal if n in programs and n not in wrong]
    for first, second in clashes(normal):
        reader.problem(
            "proxies.normal", f"{second.name} and {first.name} both listen on {first.listen}; the second never binds"
        )
    for case, failed in (
        ("master_down", config.nodes_with_role("master")),
        ("candidate_down", config.nodes_with_role("candidate")),
    ):
        check_transition(reader, config, case, failed, wrong)


def misplaced(config: Config) -> set[str]:
    """Failover programs put in the normal set: reported once as such, left out of the other layout checks
    (a clash or a "still served" port they cause is the same mistake, and its fix is removing them)."""
    proxies = config.proxies
    return {
        name
        for transition in (proxies.master_down, proxies.candidate_down)
        for name in transition.start
        if name in proxies.normal and name not in transition.stop
    }


def clashes(group: list[ProxyProgram]) -> list[tuple[ProxyProgram, ProxyProgram]]:
    return [
        (other, program) for index, program in enumerate(group) for other in group[:index] if conflicts(program, other)
    ]


def check_transition(reader: Reader, config: Config, case: str, failed: tuple[str, ...], wrong: set[str]) -> None:
    """What one case starts: not in the normal set, not routing to the failed node, on ports it freed
    (``wrong``: the ``misplaced`` programs, left out of the ports still served)."""
    proxies = config.proxies
    programs = proxies.programs
    transition = proxies.master_down if case == "master_down" else proxies.candidate_down
    started = [programs[n] for n in transition.start if n in programs]  # unknown names are reported already
    still = [programs[n] for n in proxies.normal if n in programs and n not in transition.stop and n not in wrong]
    for program in started:
        if program.name in proxies.normal and program.name not in transition.stop:
            reader.problem(
                "proxies.normal",
                f"{program.name} is started by proxies.{case}.start; a failover program must not serve normally",
            )
        for node in failed:
            if node in program.backends:
                reader.problem(
                    f"proxies.programs.{shown(program.name)}.backends",
                    f"routes to {node}, the node that failed when proxies.{case}.start starts it",
                )
        for other in still:
            if other.name != program.name and conflicts(program, other):
                reader.problem(
                    f"proxies.{case}.start",
                    f"{program.name} listens on {program.listen}, still served by {other.name}: "
                    f"add {other.name} to proxies.{case}.stop",
                )
    for first, second in clashes(started):
        reader.problem(f"proxies.{case}.start", f"{second.name} and {first.name} both listen on {first.listen}")


def check_command(reader: Reader, config: Config) -> None:
    """``proxies.command`` may only use the placeholders render fills in, each as a bare ``{name}``."""
    command = config.proxies.command
    if command is None:
        return
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(command) if name is not None]
    except ValueError as exc:
        reader.problem("proxies.command", f"{exc} (a literal brace is written {{{{ or }}}}); placeholders: {allowed}")
        return
    bad = False
    for name, spec, conversion in fields:
        shown_field = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name in PLACEHOLDERS and not conversion and not spec:
            continue
        bad = True
        if re.split(r"[.\[]", name, maxsplit=1)[0] in PLACEHOLDERS:
            what = "attributes and indexes" if name not in PLACEHOLDERS else "conversions (!) and format specs (:)"
            reader.problem(
                "proxies.command",
                f"placeholder {shown_field}: {what} are not supported; expected {allowed}, each as it is",
            )
        else:
            reader.problem("proxies.command", f"unknown placeholder {shown_field}; expected {allowed}")
    if bad:
        return
    try:  # the rules above should leave nothing to fail; whatever does is a problem, not a traceback
        command.format(**{p: p for p in PLACEHOLDERS})
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        reader.problem("proxies.command", f"cannot be formatted ({exc}); expected {allowed} and literal text")


def check_window(reader: Reader, config: Config) -> None:
    """Warn when one blip is enough for a failover."""
    monitor = config.monitor
    window = monitor.window
    if monitor.failures < 2 or window < BLIP_WINDOW:
        reader.warn(
            "monitor.failures",
            f"a failover after {monitor.failures} failed check(s) {monitor.recheck:g} s apart: the window "
            f"failures x recheck_interval is {window:g} s, so a blip that long (a lost packet, a GC pause, a "
            f"switch restarting) is a failover; at least 2 checks over {BLIP_WINDOW:g} s or more are advised",
        )
