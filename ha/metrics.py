"""Prometheus metrics, served from a private registry; every method is a no-op when metrics are off.

``prometheus_client`` is imported only when metrics are on, so the daemon runs without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from ha.analysis import ANALYSES
from ha.model import Case, DaemonState, Snapshot

PHASES = ("armed", "failing_over", "failed_over", "refused", "switched_over")
OUTCOMES = ("finished", "refused", "vetoed", "stopped")


class Metrics:
    """The daemon's metrics; ``listen`` is "host:port" of the HTTP endpoint, None for off."""

    def __init__(self, listen: str | None, log: Callable[[str], None] = print) -> None:
        self._on = False
        self._server: Any = None
        self._thread: Any = None
        if listen is None:
            return
        try:
            import prometheus_client as prom
        except ImportError:
            log("metrics disabled: pip install prometheus-client")
            return
        host, _, port = listen.rpartition(":")
        registry = prom.CollectorRegistry()

        def gauge(name: str, text: str, *labels: str) -> Any:
            return prom.Gauge(f"mysqlha_{name}", text, labels, registry=registry)

        self._node_up = gauge("node_up", "1 when the node answered its last check (even with an error)", "node")
        self._check_seconds = gauge("check_seconds", "How long the last check of the node took", "node")
        self._failures = gauge("consecutive_failures", "Failed checks of the node in a row", "node")
        self._semi_sync = gauge("semi_sync_status", "1 when semi-sync replication is on at the node", "node")
        self._lag = gauge("replication_lag_seconds", "Replication lag of the node", "node")
        self._phase = gauge("daemon_state", "1 for the daemon's current phase, 0 for the others", "phase")
        self._analysis = gauge(
            "analysis", "1 for what the last cycle found (its analysis kind), 0 for the others", "kind"
        )
        self._failovers = prom.Counter(
            "mysqlha_failovers", "Failovers by case and outcome", ("case", "outcome"), registry=registry
        )
        for case in get_args(Case):
            for outcome in OUTCOMES:
                self._failovers.labels(case=case, outcome=outcome)
        self._events = prom.Counter(
            "mysqlha_events", "Events by name (each once per episode)", ("event",), registry=registry
        )
        self._last_cycle = prom.Gauge(
            "mysqlha_last_cycle_timestamp_seconds",
            "Wall-clock time the daemon's last cycle finished",
            registry=registry,
        )
        self._paused = prom.Gauge("mysqlha_paused", "1 while an operator paused automatic failover", registry=registry)
        try:
            started = prom.start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=registry)
        except (OSError, ValueError) as exc:
            log(f"metrics disabled: cannot serve on {listen}: {exc}")
            return
        if isinstance(started, tuple):  # prometheus_client >= 0.17: (server, thread)
            self._server, self._thread = started
        self._on = True

    @property
    def enabled(self) -> bool:
        return self._on

    def observe(self, snapshot: Snapshot, state: DaemonState) -> None:
        """Node and state metrics from one cycle; a value that is no longer known stops being exported."""
        if not self._on:
            return
        for name, check in snapshot.checks.items():
            self._node_up.labels(name).set(0 if check.status == "failed" else 1)
            self._check_seconds.labels(name).set(check.latency)
            _set_or_remove(self._semi_sync, name, None if check.semi_sync is None else int(check.semi_sync))
            _set_or_remove(self._lag, name, getattr(check, "lag", None))
        for name, count in state.failures.items():
            self._failures.labels(name).set(count)
        for phase in dict.fromkeys((*PHASES, state.phase)):
            self._phase.labels(phase).set(1 if phase == state.phase else 0)
        for kind in ANALYSES:
            self._analysis.labels(kind).set(1 if kind == state.analysis else 0)

    def failover(self, case: str, outcome: str) -> None:
        """Count one failover of ``case`` that ended with ``outcome`` (finished, refused, vetoed, stopped)."""
        if self._on:
            self._failovers.labels(case=case, outcome=outcome).inc()

    def event(self, name: str) -> None:
        """Count one event (``mysqlha_events_total{event}``)."""
        if self._on:
            self._events.labels(event=name).inc()

    def cycle(self, wall: float, paused: bool) -> None:
        """The end of one cycle: its time and whether failover is paused."""
        if self._on:
            self._last_cycle.set(wall)
            self._paused.set(1 if paused else 0)

    def close(self) -> None:
        """Stop serving; metrics become no-ops. Safe to call twice."""
        server, thread = self._server, self._thread
        self._on, self._server, self._thread = False, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)


def _set_or_remove(gauge: Any, node: str, value: float | None) -> None:
    if value is None:
        gauge.remove(node)
    else:
        gauge.labels(node).set(value)
