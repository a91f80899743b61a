"""pause, resume and history as an operator runs them (no servers needed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml
from test_decide import CLASSIC


def config_in(tmp_path: Path) -> Path:
    data = yaml.safe_load(CLASSIC.read_text())
    for section in ("monitor", "replication"):
        data[section].pop("password_file")
        data[section]["password"] = "secret"
    data["failover"]["state_file"] = str(tmp_path / "state.json")
    path = tmp_path / "mysqlha.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def mysqlha(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ha", *args, "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_pause_resume_and_their_history(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    paused = mysqlha(config, "pause", "--for", "2h", "--reason", "disk swap on master2")
    assert paused.returncode == 0 and "paused until" in paused.stdout
    pause_file = tmp_path / "state.pause.json"
    assert json.loads(pause_file.read_text())["reason"] == "disk swap on master2"
    assert stat.S_IMODE(os.stat(pause_file).st_mode) == 0o600
    assert mysqlha(config, "resume").stdout.startswith("resumed")
    assert not pause_file.exists()
    assert "not paused" in mysqlha(config, "resume").stdout
    lines = mysqlha(config, "history", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == ["pause", "resume"]
    assert events[0]["reason"] == "disk swap on master2" and "@" in events[0]["by"] and events[0]["until"]
    text = mysqlha(config, "history", "--since", "1h").stdout
    assert "pause  by=" in text and "    reason: disk swap on master2" in text
    assert mysqlha(config, "history", "--since", "2099-01-01").stdout.startswith("no history since")


def test_bad_arguments_say_what_is_expected(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    bad = mysqlha(config, "pause", "--for", "soon")
    assert bad.returncode == 1 and "pause --for: expected a duration such as 30s" in bad.stderr
    bad = mysqlha(config, "history", "--since", "yesterday")
    assert bad.returncode == 1 and "history --since: expected a duration (2h, 1d) or an ISO date/time" in bad.stderr
