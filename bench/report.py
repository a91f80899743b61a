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
    if "blip" in numbers:
        return (
            f"blip {numbers['blip']:g} s: {numbers['failed_checks']} failed check(s), no failover; "
            f"lost {numbers['lost']} of {numbers['acked']} acked writes"
        )
    return (
        f"suspicion {number(numbers.get('suspicion'), MILLIS)} ms, confirmation "
        f"{number(numbers.get('confirmation'), MILLIS)} ms, action {number(numbers['action'], MILLIS)} ms, "
        f"write outage {number(numbers['write_outage'], SECONDS)} s, "
        f"read outage {number(numbers['read_outage'], SECONDS)} s, "
        f"lost {numbers['lost']} of {numbers['acked']} acked writes"
    )


def ratio(summary: dict[str, Any], metric: str, floor: float | None) -> str:
    median = summary.get(metric, {}).get("median")
    if median is None or not floor:
        return "-"
    return f"{median / floor:.0f}x" if median / floor >= 10 else f"{median / floor:.1f}x"


def failover_table(
    results: dict[str, dict[str, Any]], floors: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
) -> str:
    floors, settings = floors or {}, settings or {}
    refused = floors.get("refused_connect", {}).get("median")
    action_floor = floors.get("action", {}).get("median")
    rows = [
        "| scenario | setting | runs ok | suspicion ms (x floor) | confirmation ms (x floor) | action ms (x floor) "
        "| fault -> first write s | read outage s | lost writes | acked writes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, by_setting in results.items():
        for setting, cell in by_setting.items():
            summary, runs = cell["summary"], cell["runs"]
            acked = sorted(r["acked"] for r in runs)
            ok = f"{len(runs)}/{len(runs) + len(cell['errors'])}"
            if scenario.startswith("blip"):
                checks = pair(summary, "failed_checks", COUNT)
                rows.append(
                    f"| {scenario} | {setting} | {ok} | failed checks {checks} | no failover in any run | - | - | - "
                    f"| {pair(summary, 'lost', COUNT)} | {acked[len(acked) // 2] if acked else '-'} |"
                )
                continue
            profile = settings.get(setting, {})
            confirm_floor = None
            if profile:
                confirm_floor = (profile["failures"] - 1) * (profile.get("recheck") or profile["interval"])
            write = "longest write stall " if scenario == "kill-m2" else ""
            rows.append(
                f"| {scenario} | {setting} | {ok} "
                f"| {pair(summary, 'suspicion', MILLIS)} ({ratio(summary, 'suspicion', refused)}) "
                f"| {pair(summary, 'confirmation', MILLIS)} ({ratio(summary, 'confirmation', confirm_floor)}) "
                f"| {pair(summary, 'action', MILLIS)} ({ratio(summary, 'action', action_floor)}) "
                f"| {write}{pair(summary, 'write_outage', SECONDS)} | {pair(summary, 'read_outage', SECONDS)} "
                f"| {pair(summary, 'lost', COUNT)} | {acked[len(acked) // 2] if acked else '-'} |"
            )
    return "\n".join(rows)


def floors_table(floors: dict[str, Any]) -> str:
    names = {
        "refused_connect": "a refused connect (the floor of suspicion)",
        "supervisord_start": "a supervisord start of one HAProxy program, until it serves its port",
        "first_query": "the first query through that new HAProxy, on a fresh connection",
    }
    rows = ["| floor | median ms | max ms | samples |", "| --- | --- | --- | --- |"]
    for key, text in names.items():
        found = floors.get(key)
        if found:
            rows.append(f"| {text} | {found['median'] * 1000:.3f} | {found['max'] * 1000:.3f} | {found['n']} |")
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
Each cell is median / max over the runs. Times are wall-clock from the fault:

- suspicion: fault to the daemon's first sign (its watch connection closed, or its first failed check),
  and its ratio to the floor (a refused connect);
- confirmation: suspicion to the decision (state file `since`), and its ratio to its floor, the
  (failures - 1) rechecks that follow the first failed one: (failures - 1) x recheck_interval;
- action: decision to the first write acknowledged by M2 through the master proxy port (kill-m1,
  freeze-m1), or to the first read served by S1 through the read-failover proxy (kill-m2), and its
  ratio to the floor (a supervisord start + the first query through the new HAProxy);
- fault -> first write: the write outage (RTO); for kill-m2, where writes stay on M1, the longest
  write stall in the run (M1's semi-sync timeout is 10 s in that scenario);
- read outage: the longest gap between successful reads after the fault;
- lost writes: acknowledged keys missing on the surviving master (M2, or M1 for kill-m2 and the blip)."""


def markdown(data: dict[str, Any]) -> str:
    parts = [
        "# mysqlha failover benchmark",
        "",
        f"{data['date']}, `{data['command']}`, {data['duration_seconds']:.0f} s",
        "",
        failover_table(data["results"], data.get("floors"), data.get("settings")),
        "",
        NOTES,
    ]
    if data.get("floors"):
        parts += ["", "## Floors on this machine", "", floors_table(data["floors"])]
    if data.get("overhead"):
        parts += ["", "## Overhead of the daemon", "", overhead_table(data["overhead"])]
    if data.get("switchover"):
        parts += ["", "## Switchover", "", switchover_line(data["switchover"])]
    return "\n".join(parts) + "\n"
