"""The daemon's log through the standard ``logging`` module, in one of three formats.

- ``iso`` (default): every line prefixed with an ISO-8601 time with milliseconds and zone,
  ``2026-12-01T09:30:22.123+00:00 master1 fail detected!``;
- ``classic``: the seed's exact look, the message alone (for those who grep it);
- ``json``: one object per line (``time``, ``level``, ``message``) for log shippers.

A message of several lines (a traceback) gets the prefix on every line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from typing import IO

from ha.timefmt import iso

FORMATS = ("iso", "classic", "json")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d|Z) ")
LOGGER = "mysqlha"


class LineFormatter(logging.Formatter):
    def __init__(self, style: str) -> None:
        super().__init__()
        if style not in FORMATS:
            raise ValueError(f"unknown log format {style!r}; expected one of {', '.join(FORMATS)}")
        self.style_name = style

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if self.style_name == "classic":
            return message
        when = iso(record.created)
        if self.style_name == "json":
            return json.dumps({"time": when, "level": record.levelname.lower(), "message": message})
        return "\n".join(f"{when} {line}" for line in message.split("\n"))


def unstamped(line: str) -> str:
    """A log line without its ``iso`` timestamp prefix: the classic text (for tests and the benchmark)."""
    return STAMP.sub("", line, count=1)


def setup_logging(style: str = "iso", stream: IO[str] | None = None) -> Callable[[str], None]:
    """Send the ``mysqlha`` logger to ``stream`` (stdout) in ``style``; return its one-argument log function."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(LineFormatter(style))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger.info


def stderr_log(style: str) -> Callable[[str], None]:
    """Lines on stderr, stamped in ``style`` like the log (the daemon's start errors: supervisord
    writes its stderr into the same log file)."""
    formatter = LineFormatter(style)

    def write(line: str) -> None:
        record = logging.LogRecord(LOGGER, logging.ERROR, __file__, 0, line, None, None)
        print(formatter.format(record), file=sys.stderr, flush=True)

    return write
