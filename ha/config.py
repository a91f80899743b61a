"""YAML topology -> frozen dataclasses; every problem is reported at once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ha.errors import ConfigError
from ha.validation import Reader, kind_of, port_ok, positive

DEFAULT_CONFIG = "/etc/mysqlha/mysqlha.yml"
CONFIG_ENV = "MYSQLHA_CONFIG"
ROLES = ("master", "candidate", "replica")
TOP_LEVEL_KEYS = ("nodes", "monitor", "replication", "failover", "supervisor", "proxies", "hooks", "metrics")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Node:
    name: str
    host: str
    port: int
    role: str
    source: str | None = None


@dataclass(frozen=True)
class Monitor:
    credentials: Credentials
    interval: float = 5.0
    failures: int = 5
    connect_timeout: float = 1.0
    read_timeout: float = 1.0
    tls_ca: str | None = None  # set: every connection uses TLS and verifies the server's certificate
    tls_verify_cert: bool = True
    tls_verify_identity: bool = True  # the certificate must name the host (IP SAN or DNS name) we connect to


@dataclass(frozen=True)
class Failover:
    state_file: str
    catchup_timeout: float = 10.0
    allow_async_promotion: bool = False
    ask_replicas: bool = True
    replica_silence: float = 3.0
    fence_command: str | None = None
    fence_timeout: float = 10.0
    repoint_replicas: bool = False


@dataclass(frozen=True)
class SupervisorEndpoint:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 2.0
    start_timeout: float = 5.0


@dataclass(frozen=True)
class ProxyProgram:
    name: str
    listen_host: str
    listen_port: int
    backends: tuple[str, ...]

    @property
    def listen(self) -> str:
        return f"{self.listen_host}:{self.listen_port}"


@dataclass(frozen=True)
class Transition:
    """What to stop and then start when one failure case is acted on."""

    stop: tuple[str, ...]
    start: tuple[str, ...]


@dataclass(frozen=True)
class Proxies:
    command: str
    config_dir: str
    log_dir: str
    health_check_user: str | None
    programs: dict[str, ProxyProgram]
    normal: tuple[str, ...]
    master_down: Transition
    candidate_down: Transition


@dataclass(frozen=True)
class Hooks:
    """Commands run on events: ``on_event`` for every one, ``pre_failover`` may veto by exiting non-zero."""

    on_event: str | None = None
    pre_failover: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Metrics:
    listen: str | None = None  # host:port of the Prometheus endpoint; off when None


@dataclass(frozen=True)
class Config:
    path: str
    nodes: dict[str, Node]
    monitor: Monitor
    replication: Credentials | None
    failover: Failover
    supervisor: SupervisorEndpoint
    proxies: Proxies
    hooks: Hooks = field(default_factory=Hooks)
    metrics: Metrics = field(default_factory=Metrics)

    def with_role(self, role: str) -> Node:
        return next(n for n in self.nodes.values() if n.role == role)

    @property
    def master(self) -> Node:
        return self.with_role("master")

    @property
    def candidate(self) -> Node:
        return self.with_role("candidate")

    def replicas_of(self, name: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes.values() if n.source == name)

    def all_programs(self) -> tuple[str, ...]:
        return tuple(self.proxies.programs)


def default_path() -> str:
    return os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str], read_secrets: bool = True) -> Config:
    """Read and validate ``path``; raise ConfigError listing every problem.

    ``read_secrets=False`` leaves password files unread (for rendering configs on a build host).
    """
    path = str(path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # one line, and never the offending source line: it may hold a password
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            [f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}"]
        ) from exc
    return parse_config(data, path, read_secrets)


def parse_config(data: Any, path: str, read_secrets: bool = True) -> Config:
    reader = Reader(path, read_secrets)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping at the top level, got {kind_of(data)}"])
    nodes = _parse_nodes(reader, data)
    monitor = _parse_monitor(reader, reader.section(data, "monitor"))
    replication = None
    if "replication" in data:
        replication = _parse_credentials(reader, reader.section(data, "replication"), "replication")
    failover = _parse_failover(reader, reader.section(data, "failover"))
    supervisor = _parse_supervisor(reader, reader.section(data, "supervisor"))
    proxies = _parse_proxies(reader, reader.section(data, "proxies"), nodes)
    hooks = _parse_hooks(reader, data.get("hooks") or {})
    metrics = Metrics(
        reader.get(data.get("metrics") or {}, "metrics", "listen", str, None, lambda v: ":" in v, "host:port")
    )
    if failover.repoint_replicas and replication is None:
        reader.problem("replication", "missing; expected the replication user when failover.repoint_replicas is true")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            reader.problem(str(key), f"unknown section; expected one of {', '.join(TOP_LEVEL_KEYS)}")
    if reader.problems:
        raise ConfigError(reader.problems)
    return Config(path, nodes, monitor, replication, failover, supervisor, proxies, hooks, metrics)


def _parse_nodes(reader: Reader, data: dict[str, Any]) -> dict[str, Node]:
    raw = reader.section(data, "nodes")
    nodes: dict[str, Node] = {}
    for name, spec in raw.items():
        prefix = f"nodes.{name}"
        if not isinstance(spec, dict):
            reader.problem(prefix, f"expected a mapping with host, port, role, got {spec!r}")
            continue
        host = reader.get(spec, prefix, "host", str, "127.0.0.1")
        port = reader.get(spec, prefix, "port", int, check=port_ok, expected="a TCP port (1-65535)")
        role = reader.get(spec, prefix, "role", str, check=lambda r: r in ROLES, expected=" or ".join(ROLES))
        source = reader.get(spec, prefix, "source", str, None)
        nodes[str(name)] = Node(str(name), host, port or 0, role or "", source)
    for role in ("master", "candidate"):
        count = sum(1 for n in nodes.values() if n.role == role)
        if raw and count != 1:
            reader.problem("nodes", f"expected exactly one node with role {role}, found {count}")
    for node in nodes.values():
        if node.source is not None and node.source not in nodes:
            reader.problem(
                f"nodes.{node.name}.source", f"unknown node {node.source!r}; expected one of {sorted(nodes)}"
            )
        if node.role == "master" and node.source is not None:
            reader.problem(f"nodes.{node.name}.source", "the master must not have a source")
        if node.role != "master" and node.source is None:
            reader.problem(f"nodes.{node.name}.source", "missing; expected the node it replicates from")
    candidate = next((n for n in nodes.values() if n.role == "candidate"), None)
    master = next((n for n in nodes.values() if n.role == "master"), None)
    if candidate and master and candidate.source is not None and candidate.source != master.name:
        reader.problem(
            f"nodes.{candidate.name}.source", f"the candidate must replicate from the master {master.name!r}"
        )
    return nodes


def _read_secret(reader: Reader, data: dict[str, Any], prefix: str, key: str) -> str | None:
    """``key`` inline or ``key_file`` (first line of a file); never echo the value."""
    if data.get(key) is not None:
        if not isinstance(data[key], str):
            reader.problem(f"{prefix}.{key}", "expected a string")
            return None
        return data[key]
    file_key = f"{key}_file"
    file_name = data.get(file_key)
    if file_name is None:
        return None
    if not isinstance(file_name, str):
        reader.problem(f"{prefix}.{file_key}", f"expected a file path, got {file_name!r}")
        return None
    if not reader.read_secrets:
        return ""
    try:
        return Path(file_name).read_text().splitlines()[0] if Path(file_name).stat().st_size else ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        reader.problem(f"{prefix}.{file_key}", f"cannot read {file_name}: {reason}")
        return None


def _parse_credentials(reader: Reader, data: dict[str, Any], prefix: str) -> Credentials:
    user = reader.get(data, prefix, "user", str)
    password = _read_secret(reader, data, prefix, "password")
    if password is None and "password" not in data and "password_file" not in data:
        reader.problem(f"{prefix}.password", "missing; expected password or password_file")
    return Credentials(user or "", password or "")


def _parse_monitor(reader: Reader, data: dict[str, Any]) -> Monitor:
    number = (int, float)
    monitor = Monitor(
        credentials=_parse_credentials(reader, data, "monitor"),
        interval=float(reader.get(data, "monitor", "interval", number, 5.0, positive, "a number of seconds > 0")),
        failures=reader.get(data, "monitor", "failures", int, 5, positive, "a whole number >= 1"),
        connect_timeout=float(reader.get(data, "monitor", "connect_timeout", number, 1.0, positive, "seconds > 0")),
        read_timeout=float(reader.get(data, "monitor", "read_timeout", number, 1.0, positive, "seconds > 0")),
        tls_ca=reader.get(data, "monitor", "tls_ca", str, None),
        tls_verify_cert=reader.get(data, "monitor", "tls_verify_cert", bool, True),
        tls_verify_identity=reader.get(data, "monitor", "tls_verify_identity", bool, True),
    )
    if monitor.tls_ca is not None and not os.access(monitor.tls_ca, os.R_OK):
        reader.problem("monitor.tls_ca", f"cannot read {monitor.tls_ca}; expected a readable CA certificate file")
    if monitor.tls_ca is None and (data.get("tls_verify_cert") or data.get("tls_verify_identity")):
        reader.problem("monitor.tls_ca", "missing; expected the CA file when tls_verify_cert/identity is set")
    if monitor.connect_timeout + monitor.read_timeout > 4 * monitor.interval:
        reader.problem(
            "monitor.interval",
            f"expected connect_timeout + read_timeout ({monitor.connect_timeout + monitor.read_timeout:g} s) "
            f"to be at most 4 x interval ({monitor.interval:g} s), so a hung server cannot stall the schedule",
        )
    return monitor


def _parse_failover(reader: Reader, data: dict[str, Any]) -> Failover:
    def seconds(key: str, default: float) -> float:
        return float(reader.get(data, "failover", key, (int, float), default, positive, "seconds > 0"))

    return Failover(
        state_file=reader.get(data, "failover", "state_file", str),
        catchup_timeout=seconds("catchup_timeout", 10.0),
        allow_async_promotion=reader.get(data, "failover", "allow_async_promotion", bool, False),
        ask_replicas=reader.get(data, "failover", "ask_replicas", bool, True),
        replica_silence=seconds("replica_silence", 3.0),
        fence_command=reader.get(data, "failover", "fence_command", str, None),
        fence_timeout=seconds("fence_timeout", 10.0),
        repoint_replicas=reader.get(data, "failover", "repoint_replicas", bool, False),
    )


def _parse_hooks(reader: Reader, data: dict[str, Any]) -> Hooks:
    if not isinstance(data, dict):
        reader.problem("hooks", f"expected a mapping, got {data!r}")
        return Hooks()
    return Hooks(
        on_event=reader.get(data, "hooks", "on_event", str, None),
        pre_failover=reader.get(data, "hooks", "pre_failover", str, None),
        timeout=float(reader.get(data, "hooks", "timeout", (int, float), 10.0, positive, "seconds > 0")),
    )


def _parse_supervisor(reader: Reader, data: dict[str, Any]) -> SupervisorEndpoint:
    def url_ok(url: str) -> bool:
        return url.startswith(("http://", "unix://"))

    raw = data.get("url")
    url = None
    if isinstance(raw, str) and raw.startswith("https://"):
        reader.problem(
            "supervisor.url",
            "https:// is not supported (this client would speak plain HTTP and send the password in clear); "
            "expected unix:///path, or http://host:port on a trusted network",
        )
    elif isinstance(raw, str) and "@" in raw.partition("://")[2].partition("/")[0]:
        reader.problem(
            "supervisor.url",
            "credentials inside the URL are not accepted; expected supervisor.username and password_file",
        )
    else:
        url = reader.get(data, "supervisor", "url", str, check=url_ok, expected="http://host:port or unix:///path")
    return SupervisorEndpoint(
        url=url or "",
        username=reader.get(data, "supervisor", "username", str, None),
        password=_read_secret(reader, data, "supervisor", "password"),
        timeout=float(reader.get(data, "supervisor", "timeout", (int, float), 2.0, positive, "seconds > 0")),
        start_timeout=float(
            reader.get(data, "supervisor", "start_timeout", (int, float), 5.0, positive, "seconds > 0")
        ),
    )


def _parse_listen(reader: Reader, prefix: str, value: Any) -> tuple[str, int]:
    if isinstance(value, int) and not isinstance(value, bool) and port_ok(value):
        return "127.0.0.1", value
    if isinstance(value, str) and ":" in value:
        host, _, port = value.rpartition(":")
        if port.isdigit() and port_ok(int(port)):
            return host, int(port)
    reader.problem(f"{prefix}.listen", f"expected host:port or a port, got {value!r}")
    return "", 0


def _parse_proxies(reader: Reader, data: dict[str, Any], nodes: dict[str, Node]) -> Proxies:
    programs: dict[str, ProxyProgram] = {}
    raw_programs = reader.section(data, "programs") if data else {}
    for name, spec in raw_programs.items():
        prefix = f"proxies.programs.{name}"
        if not isinstance(spec, dict):
            reader.problem(prefix, f"expected a mapping with listen and backends, got {spec!r}")
            continue
        host, port = _parse_listen(reader, prefix, spec.get("listen"))
        backends = spec.get("backends")
        if not isinstance(backends, list) or not backends or not all(b in nodes for b in backends):
            reader.problem(
                f"{prefix}.backends", f"expected a non-empty list of node names from {sorted(nodes)}, got {backends!r}"
            )
            backends = []
        programs[str(name)] = ProxyProgram(str(name), host, port, tuple(backends))

    def transition(key: str) -> Transition:
        section = reader.section(data, key) if data else {}
        prefix = f"proxies.{key}"
        return Transition(
            reader.names(section, prefix, "stop", programs), reader.names(section, prefix, "start", programs)
        )

    return Proxies(
        command=reader.get(data, "proxies", "command", str, "haproxy -db -f {config_dir}/{program}.cfg"),
        config_dir=reader.get(data, "proxies", "config_dir", str, "/etc/mysqlha/haproxy"),
        log_dir=reader.get(data, "proxies", "log_dir", str, "/var/log/supervisor"),
        health_check_user=reader.get(data, "proxies", "health_check_user", str, None),
        programs=programs,
        normal=reader.names(data, "proxies", "normal", programs),
        master_down=transition("master_down"),
        candidate_down=transition("candidate_down"),
    )
