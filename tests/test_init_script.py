"""Tests for the LSB init script init.d/supervisord.

The real test starts a real supervisord (with one child program) through
the script, checks ``status``, stops it again and checks that every process
is gone. Every process started is killed by pid in a ``finally`` block.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "init.d" / "supervisord"


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _children_of(pid: int) -> list[int]:
    """Pids of the direct children of *pid* (Linux /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def test_script_syntax() -> None:
    result = _run(["sh", "-n", str(SCRIPT)])
    assert result.returncode == 0, result.stderr


def test_script_is_executable() -> None:
    assert SCRIPT.is_file()
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.stat().st_mode & 0o777 == 0o755


def test_script_lsb_header() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "### BEGIN INIT INFO" in text
    assert "### END INIT INFO" in text
    for field in (
        "Provides:",
        "Required-Start:",
        "Required-Stop:",
        "Default-Start:",
        "Default-Stop:",
        "Short-Description:",
        "Description:",
    ):
        assert f"# {field}" in text, field
    assert "# Provides:          supervisord" in text
    # The script this replaced had paths like "/ usr / bin".
    assert "/ usr" not in text and "/ bin" not in text


def test_usage_exit_code() -> None:
    result = _run([str(SCRIPT), "bogus"])
    assert result.returncode == 2
    assert "Usage" in result.stderr


@pytest.fixture
def supervisor_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    beside = str(Path(sys.executable).parent)  # a virtualenv's bin, when it is not on PATH
    daemon = shutil.which("supervisord") or shutil.which("supervisord", path=beside)
    ctl = shutil.which("supervisorctl") or shutil.which("supervisorctl", path=beside)
    if daemon is None or ctl is None:
        pytest.skip("supervisord/supervisorctl not installed")

    # Keep the socket path short: AF_UNIX paths are limited to ~108 bytes.
    sock = tmp_path / "s.sock"
    pidfile = tmp_path / "supervisord.pid"
    config = tmp_path / "supervisord.conf"
    config.write_text(
        f"""\
[unix_http_server]
file = {sock}

[supervisord]
logfile = {tmp_path / "supervisord.log"}
pidfile = {tmp_path / "ignored.pid"}
childlogdir = {tmp_path}
nodaemon = false

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{sock}

[program:sleeper]
command = sleep 1000
autostart = true
autorestart = true
startsecs = 1
stdout_logfile = {tmp_path / "sleeper.log"}
redirect_stderr = true
"""
    )
    env = dict(os.environ)
    env.update(
        CONFIG=str(config),
        PIDFILE=str(pidfile),
        DAEMON=daemon,
        SUPERVISORCTL=ctl,
        START_WAIT="15",
    )
    yield env, pidfile


def test_start_status_stop(supervisor_env: tuple[dict[str, str], Path]) -> None:
    env, pidfile = supervisor_env
    started: list[int] = []
    try:
        result = _run([str(SCRIPT), "start"], env=env)
        pid = _read_pid(pidfile)
        if pid is not None:
            started.append(pid)
        assert result.returncode == 0, result.stdout + result.stderr
        assert pid is not None and _alive(pid)

        result = _run([str(SCRIPT), "status"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr

        # Wait for supervisord to spawn the sleeper.
        sleepers: list[int] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not sleepers:
            sleepers = _children_of(pid)
            time.sleep(0.2)
        started.extend(sleepers)
        assert sleepers, "supervisord did not start the sleeper program"

        # A second start must not launch another supervisord.
        result = _run([str(SCRIPT), "start"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert _read_pid(pidfile) == pid

        result = _run([str(SCRIPT), "stop"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr

        result = _run([str(SCRIPT), "status"], env=env)
        assert result.returncode == 3, result.stdout + result.stderr

        assert _wait_gone(pid, 5), "supervisord still running after stop"
        for child in sleepers:
            assert _wait_gone(child, 5), f"sleeper {child} still running"
        assert not pidfile.exists()

        # Stopping a stopped service succeeds (LSB).
        result = _run([str(SCRIPT), "stop"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        pid = _read_pid(pidfile)
        if pid is not None and pid not in started:
            started.append(pid)
        for proc in list(started):
            if _alive(proc):
                started.extend(c for c in _children_of(proc) if c not in started)
        for proc in started:
            _kill(proc)


def test_status_dead_with_pidfile(supervisor_env: tuple[dict[str, str], Path]) -> None:
    env, pidfile = supervisor_env
    # A pid that cannot be alive: the pid file is stale.
    with open("/proc/sys/kernel/pid_max") as fh:
        pid_max = int(fh.read())
    pidfile.write_text(f"{pid_max + 1}\n")
    result = _run([str(SCRIPT), "status"], env=env)
    assert result.returncode == 1, result.stdout + result.stderr

    # stop removes the stale pid file; then status says "not running".
    result = _run([str(SCRIPT), "stop"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not pidfile.exists()
    result = _run([str(SCRIPT), "status"], env=env)
    assert result.returncode == 3, result.stdout + result.stderr


def _wait_children(pid: int, count: int, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    children = _children_of(pid)
    while time.monotonic() < deadline and len(children) < count:
        time.sleep(0.2)
        children = _children_of(pid)
    return children


def test_reload_applies_changes_without_restarting_running_programs(
    supervisor_env: tuple[dict[str, str], Path],
) -> None:
    """`reload` is `supervisorctl update`: the running program keeps its pid (a SIGHUP would restart it
    and autostart the normal proxies again), and a program added to the config is started."""
    env, pidfile = supervisor_env
    config = Path(env["CONFIG"])
    started: list[int] = []
    try:
        result = _run([str(SCRIPT), "start"], env=env)
        pid = _read_pid(pidfile)
        assert result.returncode == 0 and pid is not None, result.stdout + result.stderr
        started.append(pid)
        sleepers = _wait_children(pid, 1)
        started.extend(sleepers)
        assert len(sleepers) == 1, "supervisord did not start the sleeper program"
        with config.open("a") as handle:
            handle.write(
                f"\n[program:added]\ncommand = sleep 1001\nautostart = true\nstartsecs = 1\n"
                f"stdout_logfile = {config.parent / 'added.log'}\n"
            )
        result = _run([str(SCRIPT), "reload"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        children = _wait_children(pid, 2)
        started.extend(c for c in children if c not in started)
        assert sleepers[0] in children, "the running program was not restarted"
        assert len(children) == 2, "the added program runs"
        assert _read_pid(pidfile) == pid, "supervisord itself was not restarted"
    finally:
        for proc in list(started):
            if _alive(proc):
                started.extend(c for c in _children_of(proc) if c not in started)
        for proc in started:
            _kill(proc)


def test_systemd_unit_reloads_with_update_and_leaves_no_orphan() -> None:
    unit = (REPO / "init.d" / "supervisord.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["ExecReload"].endswith("supervisorctl -c /etc/supervisord.conf update")
    assert "kill" not in settings["ExecReload"]
    assert settings["KillMode"] == "mixed", "what supervisord leaves behind is killed, no HAProxy orphaned"
