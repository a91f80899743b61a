"""The section parsers of the config loader: one mapping in, one frozen dataclass out, problems to the reader."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ha.configmodel import (
    Credentials,
    Failover,
    Hooks,
    Logging,
    Metrics,
    Monitor,
    Node,
    Proxies,
    ProxyProgram,
    SupervisorEndpoint,
    Transition,
)
from ha.identity import addresses
from ha.schema import field_at, section_at
from ha.validation import Reader, port_ok


def _get(reader: Reader, data: dict[str, Any], prefix: str, key: str, schema_path: str, **extra: Any) -> Any:
    return reader.field(data, prefix, key, field_at(f"{schema_path}.{key}"), **extra)


def _entries(
    reader: Reader, raw: dict[str, Any], section: str, expected: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, dotted prefix, mapping) for each entry of a named-entries section; a non-mapping is a problem."""
    for name, spec in raw.items():
        prefix = f"{section}.{name}"
        if not isinstance(spec, dict):
            reader.problem(prefix, f"expected a mapping with {expected}, got {spec!r}")
            continue
        reader.unknown(spec, prefix, section_at(section))
        yield name, prefix, spec


def _parse_nodes(reader: Reader, data: dict[str, Any]) -> dict[str, Node]:
    raw = reader.section(data, "nodes")
    nodes: dict[str, Node] = {}
    roleless: set[str] = set()  # no role given: reported already, and what else a node needs depends on it
    for name, prefix, spec in _entries(reader, raw, "nodes", "host, port, role"):
        if spec.get("role") is None:
            roleless.add(str(name))
        host = _get(reader, spec, prefix, "host", "nodes.*")
        port = _get(reader, spec, prefix, "port", "nodes.*")
        role = _get(reader, spec, prefix, "role", "nodes.*")
        source = _get(reader, spec, prefix, "source", "nodes.*")
        nodes[str(name)] = Node(str(name), host, port or 0, role or "", source)
    for role in ("master", "candidate"):
        count = sum(1 for n in nodes.values() if n.role == role)
        if raw and count != 1 and not (roleless and count == 0):
            reader.problem("nodes", f"expected exactly one node with role {role}, found {count}")
    for node in nodes.values():
        if node.source is not None and node.source not in nodes:
            reader.problem(
                f"nodes.{node.name}.source", f"unknown node {node.source!r}; expected one of {sorted(nodes)}"
            )
        if node.role == "master" and node.source is not None:
            reader.problem(f"nodes.{node.name}.source", "the master must not have a source")
        if node.role != "master" and node.source is None and node.name not in roleless:
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
    endpoint = SupervisorEndpoint(
        url=url or "",
        username=get("username"),
        password=_read_secret(reader, data, "supervisor", "password"),
        timeout=float(get("timeout")),
        start_timeout=float(get("start_timeout")),
    )
    secret = "password" if data.get("password") is not None else "password_file"
    if url and url.startswith("http://") and data.get(secret) is not None and not loopback_url(url):
        reader.warn(
            "supervisor.url",
            f"http:// to a host that is not this one, with supervisor.{secret} set: every XML-RPC call sends "
            "the password in clear (HTTP Basic auth); expected unix:///path, or http:// on 127.0.0.1 (or "
            "through an SSH or TLS tunnel ending on this host)",
        )
    return endpoint


def loopback_url(url: str) -> bool:
    """True when ``url``'s host is a loopback address (or a name resolving only to loopback addresses)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    found = addresses(host)
    try:
        return bool(found) and all(ipaddress.ip_address(address).is_loopback for address in found)
    except ValueError:  # an unresolved name is kept as text
        return False


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
    for name, prefix, spec in _entries(reader, raw_programs, "proxies.programs", "listen and backends"):
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
