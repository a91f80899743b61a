"""Agreement on detection, pure: which nodes a majority of the configured monitors see failing.

Each monitor publishes a ``View`` (its latest checks of the master and the candidate) in etcd; the
leader reads them all and calls ``quorum``. A view counts only if it comes from a configured monitor
and is fresher than a stated bound; a node counts as failing for a view when that monitor saw it fail
``threshold`` checks in a row. The majority is of the configured monitors, not of those alive: with
three configured, two must agree even when the third is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NodeView:
    """One monitor's latest word on one node."""

    status: str  # "ok", "failed" or "answered_error"
    failures: int  # consecutive failed checks
    error: str = ""
    heard_by: tuple[str, ...] = ()  # replicas that said they still hear from it (when asked)


@dataclass(frozen=True)
class View:
    """What one monitor published: when it looked (wall clock) and what it saw."""

    monitor: str
    time: float
    nodes: dict[str, NodeView] = field(default_factory=dict)
    cycle: int = 0
    leader: str | None = None  # who that monitor believed leads

    def to_text(self) -> str:
        nodes = {name: vars(node) | {"heard_by": list(node.heard_by)} for name, node in self.nodes.items()}
        body = {"monitor": self.monitor, "time": self.time, "cycle": self.cycle, "leader": self.leader, "nodes": nodes}
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> View:
        """Rebuild a view; ValueError when it is not one mysqlha writes."""
        try:
            data: dict[str, Any] = json.loads(text)
            nodes = {
                str(name): NodeView(
                    str(node["status"]),
                    int(node["failures"]),
                    str(node.get("error") or ""),
                    tuple(str(n) for n in node.get("heard_by") or ()),
                )
                for name, node in dict(data.get("nodes") or {}).items()
            }
            return cls(
                str(data["monitor"]), float(data["time"]), nodes, int(data.get("cycle") or 0), data.get("leader")
            )
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a mysqlha view: {exc}") from exc


@dataclass(frozen=True)
class Quorum:
    """The answer: nodes a majority reports failing, and for each node who does (for the log)."""

    failing: frozenset[str]
    needed: int  # a majority of the configured monitors
    reporting: dict[str, tuple[str, ...]]  # node -> monitors (fresh, configured) that see it failing
    fresh: tuple[str, ...]  # monitors whose view counts
    stale: tuple[str, ...]  # configured monitors with no view, or one older than the bound

    def says(self, node: str) -> str:
        who = self.reporting.get(node, ())
        return f"{len(who)} of {self.needed} needed monitors see {node} failing" + (
            f" ({', '.join(who)})" if who else ""
        )


def majority(monitors: tuple[str, ...]) -> int:
    return len(set(monitors)) // 2 + 1


def quorum(
    views: list[View] | tuple[View, ...],
    monitors: tuple[str, ...],
    now: float,
    max_age: float,
    threshold: int,
) -> Quorum:
    """Which nodes a majority of ``monitors`` report failing ``threshold`` times in a row, in views
    at most ``max_age`` seconds old at ``now``. Views of unknown monitors and views from the future
    by more than ``max_age`` (a clock far off) do not count."""
    configured = set(monitors)
    latest: dict[str, View] = {}
    for view in views:
        if view.monitor in configured and abs(now - view.time) <= max_age:
            if view.monitor not in latest or view.time > latest[view.monitor].time:
                latest[view.monitor] = view
    reporting: dict[str, list[str]] = {}
    for name, view in sorted(latest.items()):
        for node, seen in view.nodes.items():
            if seen.status == "failed" and seen.failures >= threshold:
                reporting.setdefault(node, []).append(name)
    needed = majority(monitors)
    failing = frozenset(node for node, who in reporting.items() if len(who) >= needed)
    stale = tuple(sorted(configured - set(latest)))
    return Quorum(failing, needed, {k: tuple(v) for k, v in reporting.items()}, tuple(sorted(latest)), stale)
