"""The failover benchmark runs end to end: one kill of M1 at the fast setting, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import needs_servers

REPO = Path(__file__).resolve().parents[1]


@needs_servers
def test_quick_benchmark_measures_a_failover_without_losing_writes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "bench/failover.py", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    cell = data["results"]["kill-m1"]["fast"]
    assert cell["errors"] == [] and len(cell["runs"]) == 1
    run = cell["runs"][0]
    for metric in ("detection", "action", "write_outage", "read_outage", "lost"):
        assert isinstance(run[metric], int | float), f"{metric}: {run[metric]!r}"
        assert cell["summary"][metric]["median"] is not None
    assert 0 < run["detection"] < 30 and 0 < run["action"] < run["write_outage"]
    assert run["lost"] == 0 and run["acked"] > 0
    assert (tmp_path / "results.md").read_text().count("| kill-m1 | fast |") == 1
