"""What an on-call DBA asks: status (with an exit code), pause, resume, history."""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from typing import Any

from ha.config import Config
from ha.coordstatus import coordination_status, coordination_text
from ha.errors import MysqlhaError
from ha.etcdhistory import history_for
from ha.etcdpause import pause_store_for
from ha.health import Health, assess
from ha.history import render
from ha.inspect import daemon_sentence, look, render_text, to_json
from ha.liveness import Beat, Heartbeat
from ha.mysql import MySQL
from ha.pause import Pause
from ha.state import Store
from ha.supervisor import Supervisor
from ha.timefmt import age, iso, parse_duration, parse_since


def operator_name() -> str:
    """``alice@db-admin-1``: who ran the command (the sudo caller when run through sudo)."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def status(config: Config, mysql: MySQL, supervisor: Supervisor, store: Store, as_json: bool) -> int:
    """Print the cluster, the daemon's liveness and health; exit 0 healthy, 1 degraded, 2 critical."""
    now = time.time()
    view = look(config, mysql, supervisor, store.load())
    unreadable: list[str] = []
    try:
        beat = Heartbeat.for_state(config.failover.state_file).read()
    except MysqlhaError as exc:
        beat, unreadable = None, [str(exc)]
    pause = pause_store_for(config).load()
    if pause is not None and pause.expired(now):
        pause = None  # the daemon removes it and says so at its next cycle
    health = assess(config, view, view.daemon_program, beat, pause, now)
    several = coordination_status(config, now) if config.coordination is not None else None
    if as_json:
        data = status_json(config, view, health, beat, pause, now)
        if several is not None:
            data["coordination"] = several
        print(json.dumps(data, indent=2, default=str))
    else:
        text = status_text(config, view, health, pause, now, unreadable)
        print(text if several is None else text + "\n\n" + "\n".join(coordination_text(several)))
    code = health.code
    if several is not None and not several["quorum"]:
        code = max(code, 1)  # degraded: no automatic failover can happen
    return code


def status_text(config: Config, view: Any, health: Health, pause: Pause | None, now: float, notes: list[str]) -> str:
    armed = daemon_sentence(view.state)
    header = [
        f"health:   {health.level}" + (f" ({len(health.problems)} problems)" if health.problems else ""),
        f"daemon:   {health.daemon}",
        f"failover: {armed}" + failover_note(health, pause),
        f"writer:   {writer_text(health)}",
    ]
    if pause is not None:
        header.append(f"paused:   {pause.describe(now)}")
    text = render_text(config, view, health.roles, header)
    problems = [*notes, *health.problems]
    if problems:
        text += "\n\nproblems:\n" + "\n".join(f"  {p}" for p in problems)
    return text


def failover_note(health: Health, pause: Pause | None) -> str:
    if not health.daemon.startswith("daemon running"):
        return " (but nothing acts on it)"
    return " (but PAUSED: no failover starts)" if pause is not None else ""


def writer_text(health: Health) -> str:
    if health.writer:
        return health.writer
    return "NONE (no node is writable)" if not health.writable else f"SEVERAL: {', '.join(health.writable)}"


def status_json(
    config: Config, view: Any, health: Health, beat: Beat | None, pause: Pause | None, now: float
) -> dict[str, Any]:
    data = to_json(config, view)
    data["daemon"]["summary"] += failover_note(health, pause)  # as the text says it: does anything act on it?
    for name, node in data["nodes"].items():
        node["configured_role"] = config.nodes[name].role
        node["role"] = health.roles[name]
    data["writer"] = health.writer
    data["writable"] = list(health.writable)
    data["health"] = {"code": health.code, "level": health.level, "problems": list(health.problems)}
    data["liveness"] = {
        "summary": health.daemon,
        "mysqlcheck": view.daemon_program,
        "last_cycle": None if beat is None else {**beat.__dict__, "at": iso(beat.time), "age": beat.age(now)},
    }
    data["pause"] = None if pause is None else {**pause.__dict__, "summary": pause.describe(now)}
    return data


def pause(config: Config, duration: str | None, reason: str, wall: float | None = None) -> int:
    """Stop automatic failover (for ``duration``, or until resume); the daemon keeps watching and fencing."""
    now = time.time() if wall is None else wall
    try:
        seconds = None if duration is None else parse_duration(duration)
    except ValueError as exc:
        raise MysqlhaError(f"pause --for: {exc}") from exc
    store = pause_store_for(config)
    entry = Pause(now, None if seconds is None else now + seconds, reason, operator_name())
    store.save(entry)
    until = "until `mysqlha resume`" if entry.until is None else f"until {iso(entry.until)} ({age(seconds or 0)})"
    history_for(config).record(
        "pause", by=entry.by, reason=reason or None, until=None if entry.until is None else iso(entry.until)
    )
    print(f"automatic failover paused {until}: the daemon keeps checking, fencing and serving metrics")
    return 0


def resume(config: Config) -> int:
    store = pause_store_for(config)
    was = store.clear()
    if was is None:
        print("not paused: automatic failover was already on")
        return 0
    history_for(config).record("resume", by=operator_name(), detail=f"pause of {was.by} since {iso(was.since)}")
    print(f"resumed: automatic failover is on again (was {was.describe(time.time())})")
    return 0


def history(config: Config, as_json: bool, since: str | None) -> int:
    now = time.time()
    try:
        start = None if since is None else parse_since(since, now)
    except ValueError as exc:
        raise MysqlhaError(f"history --since: {exc}") from exc
    entries = list(history_for(config).read(start))
    if as_json:
        for entry in entries:
            print(json.dumps(entry))
    elif entries:
        print(render(entries))
    else:
        print("no history" + (f" since {iso(start)}" if start is not None else ""))
    return 0
