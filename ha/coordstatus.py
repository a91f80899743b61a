"""What ``mysqlha status`` says about several monitors: every monitor's last view and its age, who
leads, and whether etcd has quorum (a member that knows its raft leader and answers a linearizable read)."""

from __future__ import annotations

from typing import Any

from ha.config import Config
from ha.etcd import Etcd, EtcdError
from ha.quorum import View, quorum
from ha.timefmt import age


def etcd_client(config: Config) -> Etcd:
    setting = config.coordination
    assert setting is not None
    return Etcd(setting.etcd.client)


def coordination_status(config: Config, now: float, client: Etcd | None = None) -> dict[str, Any]:
    """A JSON-able summary; never raises on etcd errors (they are part of the answer)."""
    setting = config.coordination
    assert setting is not None
    etcd = client or etcd_client(config)
    prefix = setting.etcd.prefix.rstrip("/")
    members = {}
    for endpoint in setting.etcd.client.endpoints:
        try:
            answer = etcd.status(endpoint)
            members[endpoint] = "leader known" if answer.get("leader") else "no raft leader"
        except EtcdError as exc:
            members[endpoint] = f"unreachable: {exc}"
    out: dict[str, Any] = {"members": members, "quorum": False, "leader": None, "monitors": {}, "problem": None}
    try:
        leader = etcd.get(f"{prefix}/leader")  # a linearizable read: answered only with quorum
        items = etcd.range(f"{prefix}/views/")
    except EtcdError as exc:
        out["problem"] = str(exc)
        return out
    out["quorum"] = True
    out["leader"] = leader.value if leader else None
    views = {}
    for item in items:
        try:
            parsed = View.from_text(item.value)
        except ValueError:
            continue
        views[parsed.monitor] = parsed
    for name in setting.monitors:
        view = views.get(name)
        if view is None:
            out["monitors"][name] = {
                "view": None,
                "age": None,
                "summary": "no view (not running, or cut off from etcd)",
            }
            continue
        seen = ", ".join(
            f"{node} {node_view.status}" + (f" x{node_view.failures}" if node_view.failures else "")
            for node, node_view in sorted(view.nodes.items())
        )
        out["monitors"][name] = {
            "view": {node: vars(v) for node, v in view.nodes.items()},
            "age": now - view.time,
            "summary": f"{seen} ({age(max(0.0, now - view.time))} ago, cycle {view.cycle})",
        }
    agreed = quorum(list(views.values()), setting.monitors, now, setting.view_max_age, config.monitor.failures)
    out["failing_for_a_majority"] = sorted(agreed.failing)
    return out


def coordination_text(summary: dict[str, Any]) -> list[str]:
    lines = [
        "etcd:     " + ("quorum" if summary["quorum"] else f"NO QUORUM: no failover can start ({summary['problem']})"),
    ]
    for endpoint, state in summary["members"].items():
        lines.append(f"  {endpoint}: {state}")
    lines.append(f"leader:   {summary['leader'] or 'none'}")
    for name, monitor in summary["monitors"].items():
        mark = " (leader)" if name == summary["leader"] else ""
        lines.append(f"  {name}{mark}: {monitor['summary']}")
    failing = summary.get("failing_for_a_majority")
    if failing:
        lines.append(f"  failing for a majority of monitors: {', '.join(failing)}")
    return lines
