"""The daemon's adapters (everything that touches the outside world) and the checks a start needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ha.config import Config
from ha.coordination import Coordinator
from ha.coordstatus import etcd_client
from ha.errors import MysqlhaError
from ha.etcdstore import EtcdStateStore
from ha.hooks import HookRunner
from ha.metrics import Metrics
from ha.mysql import MySQL
from ha.preflight import start_problems
from ha.state import StateStore, Store
from ha.supervisor import Supervisor
from ha.watch import NoWatcher, Watcher, mysql_opener


def stdout_log(line: str) -> None:
    print(line, flush=True)


@dataclass
class Adapters:
    """Everything that touches the outside world, built once per config."""

    mysql: MySQL
    supervisor: Supervisor
    store: Store
    hooks: HookRunner
    metrics: Metrics
    coordinator: Coordinator | None = None  # several monitors: the lease, the views, the leader key
    watcher: Watcher | NoWatcher = field(default_factory=NoWatcher)  # the masters' watch channels

    @classmethod
    def real(
        cls,
        config: Config,
        log: Callable[[str], None] = stdout_log,
        coordinator: Coordinator | None = None,
        wake: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> Adapters:
        """The real adapters; ``coordinator``: the one a reload keeps (same etcd, name and prefix);
        ``wake``: called when a master closes its watch channel; ``metrics``: the ones a reload keeps."""
        coordinator = coordinator or coordinator_for(config, log)
        store = EtcdStateStore(coordinator) if coordinator else StateStore(config.failover.state_file)
        watched = (config.master, config.candidate)
        return cls(
            MySQL(config.monitor),
            Supervisor(config.supervisor),
            store,
            HookRunner(config.hooks, log),
            metrics or Metrics(config.metrics.listen, log),
            coordinator,
            Watcher(watched, mysql_opener(config.monitor), lambda name: wake()),
        )

    def close(self, keep_metrics: bool = False) -> None:
        """Stop the watch channels, wait for running hooks; stop serving metrics unless ``keep_metrics``."""
        self.watcher.close()
        self.hooks.wait_idle(self.hooks.hooks.timeout)
        if not keep_metrics:
            self.metrics.close()


def preflight(config: Config, supervisor: Supervisor) -> list[str]:
    """Problems that must stop the daemon before it starts: supervisord and its programs."""
    try:
        missing = supervisor.missing(config.all_programs())
    except (MysqlhaError, OSError) as exc:
        return [f"{config.path}: supervisor.url: cannot reach supervisord: {exc}"]
    return [
        f"{config.path}: proxies.programs.{name}: no such program in supervisord at {config.supervisor.url}"
        for name in missing
    ]


def start_checks(config: Config) -> list[str]:
    """What must stop a start (or a reload): supervisord and its programs, the monitor user's grants."""
    problems = preflight(config, Supervisor(config.supervisor))
    return problems + start_problems(config, MySQL(config.monitor))


def coordinator_for(config: Config, log: Callable[[str], None]) -> Coordinator | None:
    """The etcd side of a monitor among several; None without ``coordination``."""
    setting = config.coordination
    if setting is None:
        return None
    return Coordinator(etcd_client(config), setting.name, setting.etcd.prefix, setting.etcd.ttl, log=log)
