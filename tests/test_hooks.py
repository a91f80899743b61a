"""Hooks run as real subprocesses: non-blocking notify, bounded by the timeout, pre_failover vetoes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ha.config import Hooks, Node
from ha.errors import StepFailed
from ha.hooks import HookRunner, fence_command, hook_env
from ha.model import Event

EVENT = Event("failover_started", node="db1", case="master_down", detail="3 failed checks", analysis="master_down")
WALL = 1_700_000_000.25  # 2023-11-14T22:13:20.250 UTC


@pytest.fixture
def runners() -> Iterator[list[HookRunner]]:
    """Every runner made by a test; all are waited for at the end, pass or fail."""
    made: list[HookRunner] = []
    yield made
    for runner in made:
        runner.wait_idle(5)


def make(runners: list[HookRunner], lines: list[str], **hooks: object) -> HookRunner:
    runner = HookRunner(Hooks(**hooks), lines.append, wall=lambda: WALL)  # type: ignore[arg-type]
    runners.append(runner)
    return runner


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_hook_env_describes_the_event() -> None:
    assert hook_env(EVENT, WALL) == {
        "MYSQLHA_EVENT": "failover_started",
        "MYSQLHA_NODE": "db1",
        "MYSQLHA_CASE": "master_down",
        "MYSQLHA_DETAIL": "3 failed checks",
        "MYSQLHA_ANALYSIS": "master_down",
        "MYSQLHA_TIME": "2023-11-14T22:13:20.250+00:00",
    }
    env = hook_env(Event("switchover", detail="bad\0byte"), WALL)
    assert env["MYSQLHA_NODE"] == env["MYSQLHA_CASE"] == ""
    assert "\0" not in env["MYSQLHA_DETAIL"]


def test_notify_returns_at_once_and_the_hook_sees_the_event(tmp_path: Path, runners: list[HookRunner]) -> None:
    out = tmp_path / "env.txt"
    hook = script(tmp_path, "hook.sh", 'env > "$1.tmp" && mv "$1.tmp" "$1"\nsleep 1\n')
    lines: list[str] = []
    runner = make(runners, lines, on_event=f"{hook} {out}", timeout=5)
    started = time.monotonic()
    runner.notify(EVENT)
    took = time.monotonic() - started
    assert took < 0.5, f"notify blocked for {took:.3f} s"
    runner.wait_idle(5)
    env = read_env(out)
    assert {k: v for k, v in env.items() if k.startswith("MYSQLHA_")} == hook_env(EVENT, WALL)
    assert env["PATH"] == os.environ["PATH"]
    assert lines == []  # exit 0 is not logged


def test_notify_kills_a_hook_that_overruns(tmp_path: Path, runners: list[HookRunner]) -> None:
    pid_file = tmp_path / "child.pid"
    lines: list[str] = []
    # a child in the background shows the whole process group is killed, not just the shell
    runner = make(runners, lines, on_event=f"sleep 30 & echo $! > {pid_file}; wait", timeout=0.5)
    started = time.monotonic()
    runner.notify(EVENT)
    runner.wait_idle(5)
    assert time.monotonic() - started < 3
    assert lines == ["hook on_event failover_started: killed after 0.5 s"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or _state(child) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_a_failing_notify_hook_is_logged_never_raised(runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, on_event="echo first; echo 'disk full' >&2; exit 4", timeout=5)
    runner.notify(EVENT)
    runner.wait_idle(5)
    assert lines == ["hook on_event failover_started: exit 4: disk full"]


def test_a_notify_hook_that_does_not_exist_is_logged(tmp_path: Path, runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, on_event=str(tmp_path / "missing.sh"), timeout=5)
    runner.notify(EVENT)
    runner.wait_idle(5)
    assert len(lines) == 1 and lines[0].startswith("hook on_event failover_started: exit 127")


def test_a_shell_that_cannot_start_is_logged_never_raised(tmp_path: Path, runners: list[HookRunner]) -> None:
    class NoShell(HookRunner):
        SHELL = str(tmp_path / "no-such-shell")

    lines: list[str] = []
    runner = NoShell(Hooks(on_event="true", pre_failover="exit 3", timeout=5), lines.append)
    runners.append(runner)
    runner.notify(EVENT)
    assert runner.pre_failover(EVENT) is None
    assert len(lines) == 2
    assert lines[0].startswith("hook on_event failover_started: cannot start:")
    assert lines[1].startswith("hook pre_failover failover_started: cannot start:")
    assert lines[1].endswith("not vetoing (a broken hook must not block a failover)")


def test_no_hooks_configured_does_nothing(runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines)
    runner.notify(EVENT)
    assert runner.pre_failover(EVENT) is None
    assert lines == []


def test_pre_failover_exit_0_goes_ahead(tmp_path: Path, runners: list[HookRunner]) -> None:
    out = tmp_path / "env.txt"
    lines: list[str] = []
    runner = make(runners, lines, pre_failover=f"env > {out}; echo fine", timeout=5)
    assert runner.pre_failover(EVENT) is None
    assert read_env(out)["MYSQLHA_EVENT"] == "failover_started"
    assert lines == []


def test_pre_failover_non_zero_exit_vetoes_with_its_last_line(runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, pre_failover="echo checking; echo 'maintenance window' >&2; exit 3", timeout=5)
    assert runner.pre_failover(EVENT) == "pre_failover hook exited 3: maintenance window"
    assert make(runners, lines, pre_failover="exit 1", timeout=5).pre_failover(EVENT) == "pre_failover hook exited 1"
    assert lines == []


def test_pre_failover_that_hangs_does_not_veto(runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, pre_failover="echo asking; sleep 30", timeout=0.5)
    started = time.monotonic()
    assert runner.pre_failover(EVENT) is None
    assert time.monotonic() - started < 3
    assert lines == [
        "hook pre_failover failover_started: killed after 0.5 s; not vetoing (a broken hook must not block a failover)"
    ]


def test_pre_failover_that_does_not_exist_does_not_veto(tmp_path: Path, runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, pre_failover=str(tmp_path / "missing.sh"), timeout=5)
    assert runner.pre_failover(EVENT) is None
    assert len(lines) == 1
    assert lines[0].startswith("hook pre_failover failover_started: could not run its command (exit 127)")
    assert "not vetoing" in lines[0]


def test_wait_idle_is_bounded(runners: list[HookRunner]) -> None:
    lines: list[str] = []
    runner = make(runners, lines, on_event="sleep 1", timeout=5)
    runner.notify(EVENT)
    started = time.monotonic()
    runner.wait_idle(0.1)
    assert time.monotonic() - started < 0.5
    runner.wait_idle(5)
    assert lines == []


def test_fence_command_sees_the_failed_node_and_must_exit_zero_in_time() -> None:
    node = Node("master1", "10.0.0.1", 3306, "master", None)
    said = fence_command('echo "fenced $MYSQLHA_FAILED_NODE $MYSQLHA_FAILED_HOST:$MYSQLHA_FAILED_PORT"', 5, node)
    assert said == "fenced master1 10.0.0.1:3306"
    with pytest.raises(StepFailed, match="fence command exited 4: no power switch"):
        fence_command("echo no power switch; exit 4", 5, node)
    with pytest.raises(StepFailed, match=r"timed out after 0\.3 s"):
        fence_command("sleep 5", 0.3, node)
