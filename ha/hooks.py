"""Operator hooks: ``on_event`` hears about every event without blocking; ``pre_failover`` may veto;
``failover.fence_command`` runs as a failover step (``fence_command``).

Hooks run as ``/bin/sh -c <command>`` in a session of their own, with the daemon's environment plus
the MYSQLHA_* variables of ``hook_env`` (event data only, never a password), and are bounded by
``hooks.timeout``: an overrunning hook's whole process group is killed.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from ha.config import Hooks, Node
from ha.errors import StepFailed
from ha.model import Event

TAIL_BYTES = 4096  # output kept from a hook: enough for its last line, bounded whatever it prints
NOT_STARTED = (126, 127)  # the shell's "found but not executable" and "not found"


def hook_env(event: Event, wall: float) -> dict[str, str]:
    """The MYSQLHA_* variables describing ``event``; ``wall`` becomes MYSQLHA_TIME (ISO 8601, UTC)."""
    values = {
        "MYSQLHA_EVENT": event.name,
        "MYSQLHA_NODE": event.node,
        "MYSQLHA_CASE": event.case,
        "MYSQLHA_DETAIL": event.detail,
        "MYSQLHA_ANALYSIS": event.analysis,
        "MYSQLHA_TIME": datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds"),
    }
    # a NUL byte cannot be put in an environment (Popen would raise ValueError)
    return {key: (value or "").replace("\0", " ") for key, value in values.items()}


class HookRunner:
    """Runs the configured hooks for events; never raises because of a hook."""

    SHELL = "/bin/sh"

    def __init__(self, hooks: Hooks, log: Callable[[str], None], wall: Callable[[], float] = time.time) -> None:
        self.hooks = hooks
        self.log = log
        self.wall = wall
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def notify(self, event: Event) -> None:
        """Start ``on_event`` for ``event`` and return at once; a thread bounds it and logs a failure."""
        command = self.hooks.on_event
        if not command:
            return
        what = f"hook on_event {event.name}"
        try:
            proc = self._spawn(command, event)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.log(f"{what}: cannot start: {exc}")
            return
        thread = threading.Thread(target=self._finish, args=(proc, what), name=what, daemon=True)
        with self._lock:
            self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to bound it: do not leave it running unbounded
            with self._lock:
                self._threads.discard(thread)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self.log(f"{what}: killed, cannot watch it: {exc}")

    def pre_failover(self, event: Event) -> str | None:
        """Run ``pre_failover`` and wait for it (at most ``hooks.timeout``): a veto reason, or None to go ahead.

        Exit 0 means go ahead; any other exit vetoes, and the reason quotes the last line of its output.
        Fail-open: a hook that times out, is killed by a signal, or cannot be started (including the
        shell's exit 126/127, "not executable"/"not found") does NOT veto - a broken hook must not
        block a failover forever. That is logged, and None returned.
        """
        command = self.hooks.pre_failover
        if not command:
            return None
        what = f"hook pre_failover {event.name}"
        try:
            proc = self._spawn(command, event)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.log(f"{what}: cannot start: {exc}; not vetoing (a broken hook must not block a failover)")
            return None
        code, last = _collect(proc, self.hooks.timeout)
        said = f": {last}" if last else ""
        if code == 0:
            return None
        if code is None:
            problem = f"killed after {self.hooks.timeout:g} s"
        elif code < 0:
            problem = f"killed by signal {-code}{said}"
        elif code in NOT_STARTED:
            problem = f"could not run its command (exit {code}){said}"
        else:
            return f"pre_failover hook exited {code}{said}"
        self.log(f"{what}: {problem}; not vetoing (a broken hook must not block a failover)")
        return None

    def wait_idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the ``on_event`` hooks still running (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _spawn(self, command: str, event: Event) -> subprocess.Popen[bytes]:
        env = {**os.environ, **hook_env(event, self.wall())}
        return subprocess.Popen(
            [self.SHELL, "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def _finish(self, proc: subprocess.Popen[bytes], what: str) -> None:
        try:
            code, last = _collect(proc, self.hooks.timeout)
            if code is None:
                self.log(f"{what}: killed after {self.hooks.timeout:g} s")
            elif code != 0:
                self.log(f"{what}: exit {code}" + (f": {last}" if last else ""))
        except Exception as exc:  # noqa: BLE001 - a hook must never take the daemon's thread down silently
            self.log(f"{what}: cannot wait for it: {exc!r}")
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())


def _collect(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, str]:
    """Read ``proc``'s output and wait for it, for ``timeout`` seconds in all; kill its group on overrun.

    Returns (exit code, last output line); the code is None when the hook was killed for overrunning.
    Only the tail of the output is kept, so a chatty hook cannot fill the daemon's memory.
    """
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    tail = b""
    overran = False
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                overran = True
                break
            if not selector.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            tail = (tail + chunk)[-TAIL_BYTES:]
    proc.stdout.close()
    code: int | None = None
    if not overran:
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            overran = True
    if overran:
        code = proc.poll()  # exited, but something it started still held its output open
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    lines = tail.decode(errors="replace").strip().splitlines()
    return code, lines[-1].strip()[:300] if lines else ""


def fence_command(command: str, timeout: float, node: Node) -> str:
    """Run the operator's fencing command for ``node``; StepFailed unless it exits 0 within ``timeout``."""
    env = {
        **os.environ,
        "MYSQLHA_FAILED_NODE": node.name,
        "MYSQLHA_FAILED_HOST": node.host,
        "MYSQLHA_FAILED_PORT": str(node.port),
    }
    try:
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"fence command timed out after {timeout:g} s") from exc
    output = (result.stdout + result.stderr).strip().splitlines()
    tail = output[-1] if output else ""
    if result.returncode != 0:
        raise StepFailed(f"fence command exited {result.returncode}: {tail}")
    return tail or "exit 0"
