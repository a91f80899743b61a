"""Every config key, its kind, default and floor: what the loader reads and what the JSON Schema says.

The loader (ha/config.py) takes defaults, floors and the known keys from here, so the schema an
editor validates with and the loader cannot drift apart. A new key is added here first (the loader
rejects any key not defined here), then read in ha/config.py; regenerate the shipped schema with
``mysqlha schema > conf/mysqlha.schema.json`` (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

REQUIRED: Any = object()
SAFE_NAME = r"^[A-Za-z0-9_.-]+$"
ROLES = ("master", "candidate", "replica")
LOG_FORMATS = ("iso", "classic", "json")
PLACEHOLDERS = ("program", "config_dir", "listen")


@dataclass(frozen=True)
class Field:
    """One scalar or list key. ``kind``: a key of _JSON_KINDS (string, seconds, port, names, ...)."""

    kind: str
    default: Any = REQUIRED
    help: str = ""
    floor: float | None = None  # the smallest sane value; below it is an error saying ``why``
    why: str = ""


@dataclass(frozen=True)
class Section:
    """A mapping with known keys; anything else is an unknown key."""

    fields: dict[str, Spec]
    help: str = ""
    required: bool = True


@dataclass(frozen=True)
class MapOf:
    """A mapping of safe names to sections of one shape (nodes, programs)."""

    value: Section
    help: str = ""


Spec = Union[Field, Section, MapOf]  # noqa: UP007 - a runtime alias, evaluated at import


def seconds(default: float | None, help: str, floor: float, why: str) -> Field:
    return Field("seconds", default, help, floor, why)


def credentials(help: str, required: bool = True) -> Section:
    return Section(
        {
            "user": Field("string", REQUIRED, "user name"),
            "password": Field("string", None, "inline password (prefer password_file)"),
            "password_file": Field("string", None, "file whose first line is the password (mode 600)"),
        },
        help,
        required,
    )


TRANSITION = Section(
    {
        "stop": Field("names", REQUIRED, "programs to stop, in order"),
        "start": Field("names", REQUIRED, "programs to start, in order"),
    },
    "what to stop and then start when this case is acted on",
)

SCHEMA = Section(
    {
        "nodes": MapOf(
            Section(
                {
                    "host": Field("string", "127.0.0.1", "address the monitor and the proxies connect to"),
                    "port": Field("port", REQUIRED, "TCP port"),
                    "role": Field("role", REQUIRED, "master, candidate (the only failover target) or replica"),
                    "source": Field("string", None, "the node it replicates from (none for the master)"),
                }
            ),
            "the servers, by name",
        ),
        "monitor": Section(
            {
                **credentials("").fields,
                "interval": seconds(
                    5.0,
                    "seconds between checks of master1 and master2",
                    0.2,
                    "every check opens a fresh connection; faster checks load the servers and cannot finish "
                    "within their own interval",
                ),
                "failures": Field("integer", 5, "consecutive failed checks before a failover", 1),
                "recheck_interval": Field(
                    "seconds",
                    None,
                    "seconds between the rechecks of a suspect node (a failed check, or its watch connection "
                    "closed); failures are counted at this cadence; unset: equal to interval",
                    0.1,
                    "every recheck opens a fresh connection; a blip must outlast failures x recheck_interval",
                ),
                "connect_timeout": seconds(
                    1.0,
                    "seconds for the TCP connect",
                    0.1,
                    "a busy server or a congested network needs that long to accept; less counts a slow "
                    "server as a dead one",
                ),
                "read_timeout": seconds(
                    1.0,
                    "seconds for the handshake and every query",
                    0.1,
                    "a server under load needs that long to answer a status query; less counts a slow "
                    "server as a dead one",
                ),
                "tls_ca": Field("string", None, "CA file to verify the servers' TLS; TLS off when unset"),
                "tls_verify_cert": Field("boolean", True, "with tls_ca: verify the server's certificate"),
                "tls_verify_identity": Field(
                    "boolean", True, "with tls_ca: check the certificate names the host connected to"
                ),
            },
            "the monitoring user and how often and how patiently it checks",
        ),
        "replication": credentials("the replication user (sandbox, repointing, failback)", required=False),
        "failover": Section(
            {
                "state_file": Field("string", REQUIRED, "JSON file of the daemon's state"),
                "catchup_timeout": seconds(
                    10.0, "seconds master2 may take to apply what it received", 0.5, "applying a relay log takes time"
                ),
                "allow_async_promotion": Field("boolean", False, "accept losing acknowledged writes (leave false)"),
                "ask_replicas": Field("boolean", True, "ask the failing node's replicas before acting"),
                "replica_silence": seconds(
                    3.0,
                    "seconds a replica may hear nothing from its source beyond its own heartbeat period: it vetoes "
                    "a failover until its counters have not moved for heartbeat period + replica_silence",
                    1.0,
                    "a replica's heartbeat counter moves at most once per MASTER_HEARTBEAT_PERIOD, and 1 s "
                    "is the shortest period that is sane; a shorter silence turns every late heartbeat into a vote",
                ),
                "fence_command": Field("string", None, "command run before the promotion (STONITH)"),
                "fence_timeout": seconds(10.0, "seconds the fence command may take", 0.5, "a command needs to start"),
                "repoint_replicas": Field("boolean", False, "repoint the stranded replica after a failover"),
            },
            "how a failover behaves",
        ),
        "supervisor": Section(
            {
                "url": Field(
                    "string",
                    REQUIRED,
                    "unix:///path or http://host:port of supervisord's XML-RPC (http:// sends any password in clear: a "
                    "non-loopback host with a password draws a warning)",
                ),
                "username": Field("string", None, "XML-RPC user"),
                "password": Field("string", None, "inline XML-RPC password (prefer password_file)"),
                "password_file": Field("string", None, "file whose first line is the XML-RPC password"),
                "timeout": seconds(2.0, "seconds per XML-RPC call", 0.2, "supervisord answers within that"),
                "start_timeout": seconds(
                    5.0, "seconds for a started proxy to accept connections", 0.5, "HAProxy needs that long to bind"
                ),
            },
            "supervisord, which runs the proxy programs",
        ),
        "proxies": Section(
            {
                "command": Field(
                    "string",
                    "haproxy -db -f {config_dir}/{program}.cfg",
                    "how supervisord runs one proxy program; placeholders {program}, {config_dir}, {listen}, each "
                    "bare (a literal brace is {{ or }})",
                ),
                "config_dir": Field("string", "/etc/mysqlha/haproxy", "where the HAProxy configs are"),
                "log_dir": Field("string", "/var/log/supervisor", "where supervisord writes the programs' logs"),
                "health_check_user": Field("string", None, "password-less user of HAProxy's mysql-check"),
                "programs": MapOf(
                    Section(
                        {
                            "listen": Field("listen", REQUIRED, "host:port (or a port on 127.0.0.1)"),
                            "backends": Field("nodes", REQUIRED, "node names the proxy routes to"),
                        }
                    ),
                    "every proxy program, by supervisord program name",
                ),
                "normal": Field("names", REQUIRED, "programs that serve in the normal layout"),
                "master_down": TRANSITION,
                "candidate_down": TRANSITION,
            },
            "the proxy programs and which serve when",
        ),
        "hooks": Section(
            {
                "on_event": Field("string", None, "command run on every event; never blocks a failover"),
                "pre_failover": Field("string", None, "command run before a failover; non-zero exit vetoes"),
                "timeout": seconds(10.0, "seconds a hook may run", 0.5, "a command needs time to start"),
            },
            "commands run on events",
            required=False,
        ),
        "metrics": Section(
            {"listen": Field("hostport", None, "host:port of the Prometheus endpoint; off when unset")},
            "the optional Prometheus endpoint",
            required=False,
        ),
        "coordination": Section(
            {
                "name": Field("string", REQUIRED, "this monitor's name (one of monitors)"),
                "monitors": Field("names", REQUIRED, "every configured monitor's name: the majority is of these"),
                "view_max_age": seconds(
                    None,
                    "seconds a monitor's published view counts (default: 2 x interval + etcd.ttl)",
                    0.5,
                    "a view is written once a cycle",
                ),
                "etcd": Section(
                    {
                        "endpoints": Field("urls", REQUIRED, "http(s)://host:port of every etcd member"),
                        "prefix": Field("string", "/mysqlha/cluster", "key prefix: one cluster per prefix"),
                        "ttl": Field(
                            "integer",
                            3,
                            "seconds of the monitor's lease (its view and the leader key)",
                            2,
                            "etcd's minimum lease TTL is 2 s",
                        ),
                        "timeout": seconds(
                            2.0, "seconds per etcd call", 0.2, "an etcd member answers within that when it can"
                        ),
                        "ca": Field("string", None, "CA file to verify etcd's TLS certificate"),
                        "cert": Field("string", None, "client certificate file (TLS client authentication)"),
                        "key": Field("string", None, "client key file"),
                        "user": Field("string", None, "etcd user (auth enabled)"),
                        "password_file": Field("string", None, "file whose first line is the etcd password"),
                    },
                    "the etcd cluster the monitors share",
                ),
            },
            "several monitors: etcd leases, one leader acts, a majority of monitors must see a failure",
            required=False,
        ),
        "logging": Section(
            {
                "format": Field(
                    "log_format", "iso", "iso (ISO-8601 time prefix), classic (the original notes' look) or json"
                ),
                "history_keep_days": Field("days", 90.0, "days of history kept beside the state file"),
                "history_max_bytes": Field("bytes", 10 * 1024 * 1024, "size at which the history file is rotated"),
            },
            "the daemon's log format and how much history is kept",
            required=False,
        ),
    }
)


def spec_at(dotted: str) -> Spec:
    """The definition at a dotted path; ``*`` stands for any name of a MapOf (``nodes.*.port``)."""
    spec: Spec = SCHEMA
    for part in dotted.split("."):
        if isinstance(spec, MapOf):
            spec = spec.value
            continue
        assert isinstance(spec, Section), dotted
        spec = spec.fields[part]
    return spec


def field_at(dotted: str) -> Field:
    spec = spec_at(dotted)
    assert isinstance(spec, Field), dotted
    return spec


def section_at(dotted: str) -> Section:
    spec = spec_at(dotted)
    if isinstance(spec, MapOf):
        return spec.value
    assert isinstance(spec, Section), dotted
    return spec


# ---- JSON Schema -------------------------------------------------------------------------------

_JSON_KINDS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "minimum": 1},
    "seconds": {"type": "number", "exclusiveMinimum": 0},
    "boolean": {"type": "boolean"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "listen": {
        "oneOf": [
            {"type": "string", "pattern": r"^.+:[0-9]{1,5}$"},
            {"type": "integer", "minimum": 1, "maximum": 65535},
        ]
    },
    "hostport": {"type": "string", "pattern": r"^.+:[0-9]{1,5}$"},
    "urls": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": r"^https?://.+:[0-9]{1,5}/?$"}},
    "names": {"type": "array", "items": {"type": "string", "pattern": SAFE_NAME}},
    "nodes": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": SAFE_NAME}},
    "role": {"enum": list(ROLES)},
    "log_format": {"enum": list(LOG_FORMATS)},
    "days": {"type": "number", "exclusiveMinimum": 0},
    "bytes": {"type": "integer", "minimum": 4096},
}


def _json(spec: Spec) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(spec, Field):
        out = dict(_JSON_KINDS[spec.kind])
        if spec.floor is not None:
            out.pop("exclusiveMinimum", None)
            out["minimum"] = spec.floor
        if spec.default is not REQUIRED:
            out = _nullable(out)  # `key:` with no value means the default
            if spec.default is not None:
                out["default"] = spec.default
        if spec.help:
            out["description"] = spec.help + (f" (at least {spec.floor:g}: {spec.why})" if spec.why else "")
        return out
    if isinstance(spec, MapOf):
        return {
            "type": "object",
            "description": spec.help,
            "propertyNames": {"pattern": SAFE_NAME},
            "additionalProperties": _json(spec.value),
            "minProperties": 1,
        }
    required = [
        key
        for key, child in spec.fields.items()
        if (isinstance(child, Field) and child.default is REQUIRED)
        or (isinstance(child, Section) and child.required)
        or isinstance(child, MapOf)
    ]
    out = {
        "type": "object" if spec.required else ["object", "null"],
        "properties": {key: _json(child) for key, child in spec.fields.items()},
        "additionalProperties": False,
    }
    if spec.help:
        out["description"] = spec.help
    if required:
        out["required"] = required
    return out


def _nullable(out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(out.get("type"), str):
        return {**out, "type": [out["type"], "null"]}
    if "enum" in out:
        return {**out, "enum": [*out["enum"], None]}
    return {**out, "oneOf": [*out["oneOf"], {"type": "null"}]}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the config file, from the definitions above."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:mysqlha:config",
        "title": "mysqlha topology",
        **_json(SCHEMA),
    }
