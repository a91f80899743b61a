"""The optional ``coordination`` section: this monitor's name, the configured monitors, etcd."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ha.coordination import margin_for
from ha.etcd import EtcdOptions
from ha.schema import SAFE_NAME, field_at, section_at
from ha.validation import Reader

ETCD_REQUEST_TIMEOUT = 7.0  # etcd answers a write it cannot commit after this long
URL = re.compile(r"^https?://[^/\s:]+:[0-9]{1,5}/?$")


@dataclass(frozen=True)
class EtcdSettings:
    """Where this cluster's keys live (``prefix``, the lease ``ttl``) and how to reach etcd (``client``)."""

    client: EtcdOptions  # endpoints, timeout, TLS and auth: what the client is built from
    prefix: str = "/mysqlha/cluster"
    ttl: int = 3


@dataclass(frozen=True)
class Coordination:
    name: str
    monitors: tuple[str, ...]
    etcd: EtcdSettings
    view_max_age: float


def parse_coordination(reader: Reader, data: Any, interval: float) -> Coordination | None:
    """Read ``coordination`` (None when absent); problems go to ``reader``."""
    if data is None:
        return None
    if not isinstance(data, dict):
        reader.problem("coordination", f"expected a mapping, got {data!r}")
        return None
    reader.unknown(data, "coordination", section_at("coordination"))

    def get(section: dict[str, Any], prefix: str, key: str) -> Any:
        return reader.field(section, prefix, key, field_at(f"{prefix}.{key}"))

    name = get(data, "coordination", "name") or ""
    monitors = data.get("monitors")
    if not isinstance(monitors, list) or not monitors or not all(isinstance(m, str) for m in monitors):
        reader.problem("coordination.monitors", f"expected a list of monitor names, got {monitors!r}")
        monitors = []
    for item in [name, *monitors]:
        if item and not re.match(SAFE_NAME, item):
            reader.problem("coordination.monitors", f"monitor name {item!r}: expected only A-Z a-z 0-9 _ . -")
    if len(set(monitors)) != len(monitors):
        reader.problem("coordination.monitors", "a monitor is named twice; the majority would be miscounted")
    if name and monitors and name not in monitors:
        reader.problem("coordination.name", f"{name!r} is not in coordination.monitors {monitors}")
    raw = reader.section(data, "etcd")
    if raw:
        reader.unknown(raw, "coordination.etcd", section_at("coordination.etcd"))
    endpoints = raw.get("endpoints")
    if (
        not isinstance(endpoints, list)
        or not endpoints
        or not all(isinstance(e, str) and URL.match(e) for e in endpoints)
    ):
        reader.problem("coordination.etcd.endpoints", f"expected a list of http(s)://host:port, got {endpoints!r}")
        endpoints = []
    prefix = "coordination.etcd"
    client = EtcdOptions(
        endpoints=tuple(e.rstrip("/") for e in endpoints),
        timeout=float(get(raw, prefix, "timeout") or 2.0),
        ca=get(raw, prefix, "ca"),
        cert=get(raw, prefix, "cert"),
        key=get(raw, prefix, "key"),
        user=get(raw, prefix, "user"),
        password=_password(reader, raw),
    )
    settings = EtcdSettings(client, get(raw, prefix, "prefix") or "/mysqlha/cluster", get(raw, prefix, "ttl") or 3)
    if not settings.prefix.startswith("/") or settings.prefix.rstrip("/") == "":
        reader.problem(f"{prefix}.prefix", f"expected a key prefix like /mysqlha/cluster1, got {settings.prefix!r}")
    if client.timeout >= ETCD_REQUEST_TIMEOUT:
        reader.problem(
            f"{prefix}.timeout",
            f"expected less than {ETCD_REQUEST_TIMEOUT:g} s: etcd itself answers a write it cannot commit "
            "after 7 s, and a call that long outlives the leader's lease",
        )
    if bool(client.cert) != bool(client.key):
        reader.problem(f"{prefix}.cert", "expected cert and key together (TLS client authentication)")
    if client.user and client.password is None:
        reader.problem(f"{prefix}.password_file", "missing; expected the etcd password when user is set")
    renew_within = settings.ttl - margin_for(settings.ttl)
    if interval + client.timeout > renew_within:
        reader.problem(
            f"{prefix}.ttl",
            f"expected monitor.interval + etcd.timeout ({interval + client.timeout:g} s) to be at most ttl "
            f"minus the leader's margin ({renew_within:g} s): the lease is renewed once a cycle",
        )
    age = get(data, "coordination", "view_max_age")
    view_max_age = float(age) if age is not None else 2 * interval + settings.ttl
    return Coordination(name, tuple(monitors), settings, view_max_age)


def _password(reader: Reader, data: dict[str, Any]) -> str | None:
    file_name = data.get("password_file")
    if file_name is None:
        return None
    if not isinstance(file_name, str):
        reader.problem("coordination.etcd.password_file", f"expected a file path, got {file_name!r}")
        return None
    if not reader.read_secrets:
        return ""
    try:
        lines = Path(file_name).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        reader.problem("coordination.etcd.password_file", f"cannot read {file_name}: {reason}")
        return None
    return lines[0] if lines else ""
