"""YAML topology -> frozen dataclasses; every problem is reported at once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ha.coordconfig import Coordination, parse_coordination
from ha.crosscheck import cross_check
from ha.errors import ConfigError
from ha.hostcheck import host_check
from ha.schema import ROLES as ROLES  # re-exported: the roles are defined with the schema
from ha.schema import SCHEMA, field_at, section_at
from ha.validation import Reader, kind_of, port_ok
from ha.yamlload import load_located

DEFAULT_CONFIG = "/etc/mysqlha/mysqlha.yml"
CONFIG_ENV = "MYSQLHA_CONFIG"
TOP_LEVEL_KEYS = tuple(SCHEMA.fields)


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
    recheck_interval: float | None = None  # None: equal to interval

    @property
    def recheck(self) -> float:
        """Seconds between the rechecks of a suspect node."""
        return self.interval if self.recheck_interval is None else self.recheck_interval

    @property
    def window(self) -> float:
        """How long a blip must last to cause a failover: failures x recheck_interval."""
        return self.failures * self.recheck


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
class Logging:
    """The daemon's log format, and how much history is kept beside the state file."""

    format: str = "iso"  # iso (ISO-8601 time prefix), classic (the seed's look), json
    history_keep_days: float = 90.0
    history_max_bytes: int = 10 * 1024 * 1024


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
    logging: Logging = field(default_factory=Logging)
    coordination: Coordination | None = None  # several monitors sharing etcd; None: one monitor, the state file
    warnings: tuple[str, ...] = ()  # accepted, but worth an operator's look (inline passwords, a short window)

    def with_role(self, role: str) -> Node:
        return next(n for n in self.nodes.values() if n.role == role)

    @property
    def master(self) -> Node:
        return self.with_role("master")

    @property
    def candidate(self) -> Node:
        return self.with_role("candidate")

    def nodes_with_role(self, role: str) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes.values() if n.role == role)

    def replicas_of(self, name: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes.values() if n.source == name)

    def all_programs(self) -> tuple[str, ...]:
        return tuple(self.proxies.programs)


def default_path() -> str:
    return os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str], read_secrets: bool = True) -> Config:
    """Read and validate ``path``; raise ConfigError listing every problem, with its line.

    ``read_secrets=False`` leaves password files unread and this host's files unchecked (for
    rendering configs on a build host).
    """
    path = str(path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}"]) from exc
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        # one line, and never the offending source line: it may hold a password
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            [f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}"]
        ) from exc
    duplicates = [
        f"{path}:{line}: {key}: given twice (first at line {first}); the last one would silently win"
        for key, line, first in located.duplicates
    ]
    try:
        config = parse_config(located.data, path, read_secrets, located.lines, on_host=read_secrets)
    except ConfigError as exc:
        raise ConfigError(duplicates + exc.problems) from None
    if duplicates:
        raise ConfigError(duplicates)
    return config


def parse_config(
    data: Any, path: str, read_secrets: bool = True, lines: dict[str, int] | None = None, on_host: bool = False
) -> Config:
    """Validate a parsed YAML mapping; ``lines`` (dotted key -> line) puts line numbers in the problems.

    ``on_host`` also checks this host's files: password file modes, the fence and hook commands.
    """
    reader = Reader(path, read_secrets, lines)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping at the top level, got {kind_of(data)}"])
    reader.unknown(data, "", SCHEMA)
    nodes = _parse_nodes(reader, data)
    monitor = _parse_monitor(reader, reader.section(data, "monitor"))
    replication = None
    if "replication" in data:
        replication = _parse_credentials(reader, reader.section(data, "replication"), "replication")
    failover = _parse_failover(reader, reader.section(data, "failover"))
    supervisor = _parse_supervisor(reader, reader.section(data, "supervisor"))
    proxies = _parse_proxies(reader, reader.section(data, "proxies"), nodes)
    hooks = _parse_hooks(reader, data.get("hooks") or {})
    metrics = _parse_metrics(reader, data.get("metrics") or {})
    logging = _parse_logging(reader, data.get("logging") or {})
    if failover.repoint_replicas and replication is None:
        reader.problem("replication", "missing; expected the replication user when failover.repoint_replicas is true")
    coordination = parse_coordination(reader, data.get("coordination"), monitor.interval)
    config = Config(
        path, nodes, monitor, replication, failover, supervisor, proxies, hooks, metrics, logging, coordination
    )
    cross_check(reader, config)
    host_check(reader, data, config, on_host)
    if reader.problems:
        raise ConfigError(reader.problems)
    return replace(config, warnings=tuple(reader.warnings))


def _get(reader: Reader, data: dict[str, Any], prefix: str, key: str, schema_path: str, **extra: Any) -> Any:
    return reader.field(data, prefix, key, field_at(f"{schema_path}.{key}"), **extra)


def _parse_nodes(reader: Reader, data: dict[str, Any]) -> dict[str, Node]:
    raw = reader.section(data, "nodes")
    nodes: dict[str, Node] = {}
    for name, spec in raw.items():
        prefix = f"nodes.{name}"
        if not isinstance(spec, dict):
            reader.problem(prefix, f"expected a mapping with host, port, role, got {spec!r}")
            continue
        reader.unknown(spec, prefix, section_at("nodes"))
        host = _get(reader, spec, prefix, "host", "nodes.*")
        port = _get(reader, spec, prefix, "port", "nodes.*")
        role = _get(reader, spec, prefix, "role", "nodes.*")
        source = _get(reader, spec, prefix, "source", "nodes.*")
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
    if prefix != "monitor":
        reader.unknown(data, prefix, section_at(prefix))
    user = _get(reader, data, prefix, "user", prefix)
    password = _read_secret(reader, data, prefix, "password")
    if password is None and "password" not in data and "password_file" not in data:
        reader.problem(f"{prefix}.password", "missing; expected password or password_file")
    return Credentials(user or "", password or "")


def _parse_monitor(reader: Reader, data: dict[str, Any]) -> Monitor:
    reader.unknown(data, "monitor", section_at("monitor"))

    def get(key: str, **extra: Any) -> Any:
        return _get(reader, data, "monitor", key, "monitor", **extra)

    monitor = Monitor(
        credentials=_parse_credentials(reader, data, "monitor"),
        interval=float(get("interval", expected="a number of seconds > 0")),
        failures=get("failures"),
        connect_timeout=float(get("connect_timeout")),
        read_timeout=float(get("read_timeout")),
        tls_ca=get("tls_ca"),
        tls_verify_cert=get("tls_verify_cert"),
        tls_verify_identity=get("tls_verify_identity"),
        recheck_interval=_optional_float(get("recheck_interval")),
    )
    if monitor.recheck_interval is not None and monitor.recheck_interval > monitor.interval:
        reader.problem(
            "monitor.recheck_interval",
            f"expected at most interval ({monitor.interval:g} s), got {monitor.recheck_interval:g} s: "
            "a suspect node is rechecked sooner than a healthy one, never later",
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


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _parse_failover(reader: Reader, data: dict[str, Any]) -> Failover:
    reader.unknown(data, "failover", section_at("failover"))

    def get(key: str) -> Any:
        return _get(reader, data, "failover", key, "failover")

    return Failover(
        state_file=get("state_file"),
        catchup_timeout=float(get("catchup_timeout")),
        allow_async_promotion=get("allow_async_promotion"),
        ask_replicas=get("ask_replicas"),
        replica_silence=float(get("replica_silence")),
        fence_command=get("fence_command"),
        fence_timeout=float(get("fence_timeout")),
        repoint_replicas=get("repoint_replicas"),
    )


def _optional_section(reader: Reader, data: Any, name: str) -> bool:
    """An optional section is a mapping of known keys; False (a problem said) when it is not a mapping."""
    if not isinstance(data, dict):
        reader.problem(name, f"expected a mapping, got {data!r}")
        return False
    reader.unknown(data, name, section_at(name))
    return True


def _parse_hooks(reader: Reader, data: dict[str, Any]) -> Hooks:
    if not _optional_section(reader, data, "hooks"):
        return Hooks()
    return Hooks(
        on_event=_get(reader, data, "hooks", "on_event", "hooks"),
        pre_failover=_get(reader, data, "hooks", "pre_failover", "hooks"),
        timeout=float(_get(reader, data, "hooks", "timeout", "hooks")),
    )


def _parse_logging(reader: Reader, data: dict[str, Any]) -> Logging:
    if not _optional_section(reader, data, "logging"):
        return Logging()
    return Logging(
        format=_get(reader, data, "logging", "format", "logging"),
        history_keep_days=float(_get(reader, data, "logging", "history_keep_days", "logging")),
        history_max_bytes=_get(reader, data, "logging", "history_max_bytes", "logging"),
    )


def _parse_metrics(reader: Reader, data: dict[str, Any]) -> Metrics:
    if not _optional_section(reader, data, "metrics"):
        return Metrics()
    return Metrics(reader.get(data, "metrics", "listen", str, None, lambda v: ":" in v, "host:port"))


def _parse_supervisor(reader: Reader, data: dict[str, Any]) -> SupervisorEndpoint:
    reader.unknown(data, "supervisor", section_at("supervisor"))

    def url_ok(url: str) -> bool:
        return url.startswith(("http://", "unix://"))

    def get(key: str, **extra: Any) -> Any:
        return _get(reader, data, "supervisor", key, "supervisor", **extra)

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
        url = get("url", check=url_ok, expected="http://host:port or unix:///path")
    return SupervisorEndpoint(
        url=url or "",
        username=get("username"),
        password=_read_secret(reader, data, "supervisor", "password"),
        timeout=float(get("timeout")),
        start_timeout=float(get("start_timeout")),
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
    if data:
        reader.unknown(data, "proxies", section_at("proxies"))
    programs: dict[str, ProxyProgram] = {}
    raw_programs = reader.section(data, "programs") if data else {}
    for name, spec in raw_programs.items():
        prefix = f"proxies.programs.{name}"
        if not isinstance(spec, dict):
            reader.problem(prefix, f"expected a mapping with listen and backends, got {spec!r}")
            continue
        reader.unknown(spec, prefix, section_at("proxies.programs"))
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
        if section:
            reader.unknown(section, prefix, section_at(prefix))
        return Transition(
            reader.names(section, prefix, "stop", programs), reader.names(section, prefix, "start", programs)
        )

    def get(key: str) -> Any:
        return _get(reader, data, "proxies", key, "proxies")

    return Proxies(
        command=get("command"),
        config_dir=get("config_dir"),
        log_dir=get("log_dir"),
        health_check_user=get("health_check_user"),
        programs=programs,
        normal=reader.names(data, "proxies", "normal", programs),
        master_down=transition("master_down"),
        candidate_down=transition("candidate_down"),
    )
