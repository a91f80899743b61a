"""Polling with a deadline, for the sandbox's users (tests, the benchmark, fault drills)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ha.errors import MysqlhaError


def wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    poll: float = 0.05,
    tolerate: type[BaseException] | tuple[type[BaseException], ...] = MysqlhaError,
) -> Any:
    """Poll ``predicate`` until it returns something truthy (errors of ``tolerate`` count as not yet);
    MysqlhaError naming ``what`` and the last error after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except tolerate as exc:
            last_error = exc
        time.sleep(poll)
    raise MysqlhaError(
        f"timed out after {timeout:g} s waiting for {what}" + (f" ({last_error!r})" if last_error else "")
    )
