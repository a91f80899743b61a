"""Markdown tables and one-line progress reports from the benchmark's numbers."""

from __future__ import annotations

from typing import Any

SECONDS, MILLIS, COUNT = "s", "ms", ""


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == MILLIS:
        return f"{value * 1000:.0f}"
    if unit == SECONDS:
        return f"{value:.2f}"
    return f"{value:g}"


def fixed(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pair(summary: dict[str, Any], metric: str, unit: str) -> str:
    found = summary.get(metric, {})
    return f"{number(found.get('median'), unit)} / {number(found.get('max'), unit)}"


def run_line(numbers: dict[str, Any]) -> str:
    """One run's headline numbers, for the progress output."""
    return (
        f"detection {number(numbers['detection'], SECONDS)} s, action {number(numbers['action'], MILLIS)} ms, "
        f"write outage {number(numbers['write_outage'], SECONDS)} s, "
        f"read outage {number(numbers['read_outage'], SECONDS)} s, "
        f"lost {numbers['lost']} of {numbers['acked']} acked writes"
    )


def failover_table(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        "| scenario | setting | runs ok | detection s | action ms | write outage s | read outage s | lost writes "
        "| acked writes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, by_setting in results.items():
        for setting, cell in by_setting.items():
            summary, runs = cell["summary"], cell["runs"]
            acked = sorted(r["acked"] for r in runs)
            rows.append(
                f"| {scenario} | {setting} | {len(runs)}/{len(runs) + len(cell['errors'])} "
                f"| {pair(summary, 'detection', SECONDS)} | {pair(summary, 'action', MILLIS)} "
                f"| {pair(summary, 'write_outage', SECONDS)} | {pair(summary, 'read_outage', SECONDS)} "
                f"| {pair(summary, 'lost', COUNT)} | {acked[len(acked) // 2] if acked else '-'} |"
            )
    return "\n".join(rows)


def overhead_table(overhead: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| interval | watched | checks | CPU | CPU per check | peak RSS | connections per check "
            "| all connections per check |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {overhead['interval']:g} s | {overhead['duration']:g} s | {overhead['checks']} "
            f"| {overhead['cpu_seconds']:.2f} s ({overhead['cpu_percent']:.1f} % of a core) "
            f"| {fixed(overhead['cpu_ms_per_check'], 1)} ms | {overhead['peak_rss_mib']:.1f} MiB "
            f"| {fixed(overhead['connections_per_check'], 2)} | {fixed(overhead['all_connections_per_check'], 2)} |",
        ]
    )


def switchover_line(switchover: dict[str, Any]) -> str:
    if not switchover.get("measured"):
        return switchover.get("note", "not measured")
    return (
        f"writes blocked for at most {switchover['write_block'] * 1000:.0f} ms; the command took "
        f"{switchover['command_seconds']:.2f} s; new master {switchover['new_master']}; "
        f"lost {switchover['lost']} of {switchover['acked']} acknowledged writes"
    )


NOTES = """\
Each cell is median / max over the runs. Times are wall-clock, from the fault (or the daemon's
decision, for the action time) to the first client-visible success:

- detection: the daemon's decision (state file `since`) minus the fault;
- action: decision to the first write acknowledged by M2 through the master proxy port (kill-m1,
  freeze-m1), or to the first read served by S1 through the read-failover proxy (stop-m2);
- write outage: fault to the first write acknowledged by M2 (RTO); for stop-m2, where writes stay on
  M1, the longest gap between acknowledged writes in the run (one commit waits for the 1 s semi-sync
  timeout when M2 goes away);
- read outage: the longest gap between successful reads after the fault;
- lost writes: acknowledged keys missing on the surviving master (M2, or M1 for stop-m2)."""


def markdown(data: dict[str, Any]) -> str:
    parts = [
        "# mysqlha failover benchmark",
        "",
        f"{data['date']}, `{data['command']}`, {data['duration_seconds']:.0f} s",
        "",
        failover_table(data["results"]),
        "",
        NOTES,
    ]
    if data.get("overhead"):
        parts += ["", "## Overhead of the daemon", "", overhead_table(data["overhead"])]
    if data.get("switchover"):
        parts += ["", "## Switchover", "", switchover_line(data["switchover"])]
    return "\n".join(parts) + "\n"
