"""The validated configuration: frozen dataclasses, built only by ``ha.config``'s loader."""

from __future__ import annotations

from dataclasses import dataclass, field

from ha.coordconfig import Coordination


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
