"""Helpers for the tests with several monitors: their logs, their histories, who leads."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from ha.logsetup import unstamped
from ha.sandbox.cluster import Sandbox
from ha.sandbox.monitors import monitor_names, program_of

INTERVAL, FAILURES, MONITORS = 0.5, 3, 3
DEADLINE = INTERVAL * FAILURES + 30


def monitor_log(box: Sandbox, name: str) -> list[str]:
    path = Path(box.config.proxies.log_dir) / f"{program_of(name)}.log"
    return [unstamped(line) for line in path.read_text().splitlines()] if path.exists() else []


def all_logs(box: Sandbox) -> dict[str, list[str]]:
    return {name: monitor_log(box, name) for name in monitor_names(MONITORS)}


def history(box: Sandbox, name: str = "mon1", inside: tuple[str, ...] = ()) -> list[dict]:
    """The shared history in etcd, as `mysqlha history --json` prints it with ``name``'s config
    (``inside``: the command prefix that runs it on that monitor's lab host)."""
    command = [*inside, sys.executable, "-m", "ha", "--config", str(box.directory / f"{name}.yml"), "history", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def records(box: Sandbox, event: str, name: str = "mon1", inside: tuple[str, ...] = ()) -> list[dict]:
    return [entry for entry in history(box, name, inside) if entry["event"] == event]


def leader(box: Sandbox) -> str | None:
    """The monitor that most recently said it leads, by the time stamped on its log line (lines of
    different logs are ordered by time, never by their position in their own file)."""
    said: list[tuple[str, bool, str]] = []  # (stamp, leads, name)
    for name in monitor_names(MONITORS):
        path = Path(box.config.proxies.log_dir) / f"{program_of(name)}.log"
        for line in path.read_text().splitlines() if path.exists() else []:
            stamp, _, text = line.partition(" ")
            if text.startswith(f"coordination: {name} leads"):
                said.append((stamp, True, name))
            elif text.startswith(f"coordination: {name} no longer leads"):
                said.append((stamp, False, name))
    if not said:
        return None
    _, leads, name = max(said, key=lambda event: datetime.fromisoformat(event[0]))
    return name if leads else None


def count(box: Sandbox, text: str) -> dict[str, int]:
    return {name: lines.count(text) for name, lines in all_logs(box).items()}


def monitor_pid(box: Sandbox, name: str) -> int:
    return int(box.supervisor().rpc.supervisor.getProcessInfo(program_of(name))["pid"])


def supervisord_spawns(box: Sandbox, program: str) -> int:
    """How often supervisord spawned ``program`` (its own log: the call log of every start)."""
    text = (box.directory / "logs" / "supervisord.log").read_text()
    return text.count(f"spawned: '{program}'")


def set_everywhere(box: Sandbox, section: str, key: str, value: object) -> None:
    """Change one key in every monitor's config and SIGHUP them (supervisord signals the programs)."""
    import yaml

    for name in monitor_names(MONITORS):
        path = box.directory / f"{name}.yml"
        data = yaml.safe_load(path.read_text())
        data[section][key] = value
        path.write_text(yaml.safe_dump(data))
        box.supervisor().rpc.supervisor.signalProcess(program_of(name), "HUP")


def kill_monitor(box: Sandbox, name: str) -> None:
    """SIGKILL a monitor and keep supervisord from bringing it back (so another one must lead).

    supervisord respawns the killed program at once (autorestart); the respawned daemon is stopped
    too, and SIGKILLed if it is still finishing a cycle (STOPPING), so it never waits out stopwaitsecs.
    """
    import os
    import signal
    import time

    rpc = box.supervisor().rpc.supervisor
    program = program_of(name)
    os.kill(monitor_pid(box, name), signal.SIGKILL)
    deadline = time.monotonic() + 40
    seen: list[str] = []
    while (state := rpc.getProcessInfo(program)["statename"]) not in ("STOPPED", "EXITED", "FATAL"):
        if not seen or seen[-1] != state:
            seen.append(state)
        try:
            if state == "STOPPING":
                rpc.signalProcess(program, "KILL")
            else:
                rpc.stopProcess(program, False)
        except Exception:  # noqa: BLE001 - NOT_RUNNING while it is being respawned: try again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} would not stay stopped (states seen: {' -> '.join(seen)})")
        time.sleep(0.05)
