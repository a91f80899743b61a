"""YAML topology -> frozen dataclasses; every problem is reported at once."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ha.configmodel import (
    Config,
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
from ha.configparse import (
    _parse_credentials,
    _parse_failover,
    _parse_hooks,
    _parse_logging,
    _parse_metrics,
    _parse_monitor,
    _parse_nodes,
    _parse_proxies,
    _parse_supervisor,
)
from ha.coordconfig import Coordination, parse_coordination
from ha.crosscheck import cross_check
from ha.errors import ConfigError
from ha.hostcheck import host_check
from ha.schema import ROLES as ROLES  # re-exported: the roles are defined with the schema
from ha.schema import SCHEMA
from ha.validation import Reader, kind_of
from ha.yamlload import load_located

DEFAULT_CONFIG = "/etc/mysqlha/mysqlha.yml"
CONFIG_ENV = "MYSQLHA_CONFIG"
TOP_LEVEL_KEYS = tuple(SCHEMA.fields)

__all__ = [  # the dataclasses live in ha.configmodel; every module imports them from here
    "ROLES",
    "Config",
    "Coordination",
    "Credentials",
    "Failover",
    "Hooks",
    "Logging",
    "Metrics",
    "Monitor",
    "Node",
    "Proxies",
    "ProxyProgram",
    "SupervisorEndpoint",
    "Transition",
    "default_path",
    "load_config",
    "parse_config",
]


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
