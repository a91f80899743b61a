"""How to run this mysqlha when a printed hint is pasted (a leaf module: the sandbox imports it too)."""

from __future__ import annotations

import os
import shutil
import sys


def me() -> str:
    """`mysqlha` if that is what PATH finds, else its absolute path (or this interpreter's `-m ha`)."""
    beside = os.path.join(os.path.dirname(sys.executable), "mysqlha")
    if not os.path.exists(beside):
        return f"{sys.executable} -m ha"
    on_path = shutil.which("mysqlha")
    if on_path and os.path.realpath(on_path) == os.path.realpath(beside):
        return "mysqlha"
    return beside
