"""A planned switchover under write load: how long writes block, whether any acknowledged write is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load import Writer
from bench.metrics import longest_gap
from bench.sandboxes import WRITE_PROGRAM, create_table, keys_on, listen, server_names, wait_for
from ha.sandbox.cluster import Sandbox

REPO = Path(__file__).resolve().parents[1]
NOT_IMPLEMENTED = "not measured: switchover not implemented"


def measure(box: Sandbox, timeout: float = 120.0) -> dict[str, Any]:
    """Run ``python -m ha switchover --config ...`` while a writer runs through the master proxy port."""
    create_table(box)
    writer = Writer(*listen(box, WRITE_PROGRAM), box.password("app"))
    writer.start()
    try:
        time.sleep(1.0)
        wait_for(lambda: writer.ops, 10, "writes flowing")
        command = [sys.executable, "-m", "ha", "switchover", "--yes", "--config", str(box.config_path)]
        started = time.time()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        finished = time.time()
        if result.returncode == 0:
            time.sleep(1.0)
    finally:
        writer.stop()
    output = (result.stdout + result.stderr).strip()
    if result.returncode == 2 and "invalid choice" in output:
        return {"measured": False, "note": NOT_IMPLEMENTED}
    if result.returncode != 0:
        tail = output.splitlines()[-1] if output else ""
        return {"measured": False, "note": f"not measured: switchover exited {result.returncode}: {tail}"}
    times = sorted(w.t for w in writer.ops)
    resumed = next((t for t in times if t > finished), finished)
    new_master = server_names(box)[writer.ops[-1].server]
    present = keys_on(box, new_master)
    return {
        "measured": True,
        "command_seconds": finished - started,
        "write_block": longest_gap(times, started, resumed),
        "new_master": new_master,
        "acked": len(writer.ops),
        "lost": sum(1 for w in writer.ops if w.key not in present),
        "output": output.splitlines()[-1] if output else "",
    }
