"""README's commands, verbatim, in a clean Debian 12 root (scripts/fresh-debian.sh), as root and as a user.

Slow (minutes: apt, pip and the whole suite twice) and root only, so marked ``fresh_root`` and
deselected by default: `bash scripts/test.sh -m fresh_root` (what `.ci/run` does after the suite).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.fresh_root
@pytest.mark.skipif(os.geteuid() != 0, reason="builds a chroot: needs root")
@pytest.mark.skipif(shutil.which("debootstrap") is None, reason="debootstrap is not installed")
def test_readme_commands_run_verbatim_in_a_clean_debian_root() -> None:
    args = os.environ.get("MYSQLHA_FRESH_ARGS", "").split()  # e.g. --only user, or --tests 'tests/x.py'
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "fresh-debian.sh"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=3600,
        check=False,
    )
    print(result.stdout)
    print(f"fresh-debian.sh took {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASS: README's commands and demo.sh's hints ran verbatim" in result.stdout
    said = [line for line in result.stdout.splitlines() if ": the log says: " in line]
    finished = [line for line in said if line.endswith("failover finished! : master2 is new master")]
    assert len(finished) == (1 if "--only" in args else 2), said
