"""The history file: append-only JSON lines, rotated by size, pruned by age, read back in order."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ha.errors import MysqlhaError
from ha.history import History, beside, render


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_records_are_appended_and_read_back_oldest_first(tmp_path: Path) -> None:
    clock = Clock()
    history = History.for_state(tmp_path / "state.json", wall=clock)
    assert history.path == tmp_path / "state.history.jsonl"
    history.record("failover", case="master_down", node="master1", why="3 failed checks", steps=[])
    clock.now += 10
    history.record("ack", by="alice", detail=None)
    entries = list(history.read())
    assert [e["event"] for e in entries] == ["failover", "ack"]
    assert entries[0]["case"] == "master_down" and "detail" not in entries[1]
    assert entries[1]["at"].startswith("2023-11-") and "T" in entries[1]["at"]
    assert [e["event"] for e in history.read(since=clock.now - 5)] == ["ack"]
    assert stat.S_IMODE(os.stat(history.path).st_mode) == 0o600


def test_rotation_by_size_keeps_every_record_and_prunes_by_age(tmp_path: Path) -> None:
    clock = Clock()
    history = History(tmp_path / "h.jsonl", max_bytes=4096, keep_seconds=3600, wall=clock)
    for n in range(100):
        clock.now += 1
        history.record("fencing", node="master1", n=n, detail="x" * 80)
    before = history.rotated()
    assert len(before) >= 2, "the file rotated past max_bytes"
    assert history.path.stat().st_size <= 4096
    assert [e["n"] for e in history.read()] == list(range(100))
    clock.now += 7200
    history.record("resume")
    assert not set(before) & set(history.rotated()), "rotated files older than keep_seconds are deleted"
    assert [e["event"] for e in history.read()][-1] == "resume"


def test_a_damaged_line_is_skipped(tmp_path: Path) -> None:
    history = History(tmp_path / "h.jsonl")
    history.record("pause", reason="disk swap")
    with open(history.path, "a") as handle:
        handle.write("{not json\n")
    history.record("resume")
    assert [e["event"] for e in history.read()] == ["pause", "resume"]


def test_a_symlink_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "h.jsonl").symlink_to(target)
    with pytest.raises(MysqlhaError, match="symlink"):
        History(tmp_path / "h.jsonl").record("ack")
    assert target.read_text() == ""


def test_render_shows_steps_with_durations_and_the_outage() -> None:
    entry = {
        "at": "2026-12-01T09:30:22.123+00:00",
        "event": "failover",
        "case": "master_down",
        "node": "master1",
        "why": "master1 failed 3 checks in a row",
        "outage_ms": 3100,
        "steps": [{"n": 1, "description": "stop mysql-proxy-master1", "ok": True, "ms": 19, "detail": ""}],
    }
    text = render([entry])
    assert "2026-12-01T09:30:22.123+00:00  failover  case=master_down  node=master1" in text
    assert "    why: master1 failed 3 checks in a row" in text
    assert "    write outage: 3100 ms" in text
    assert "    step 1 stop mysql-proxy-master1: ok (19 ms)" in text
    assert json.loads(json.dumps(entry)) == entry


def test_files_beside_the_state_file() -> None:
    assert beside("/var/lib/mysqlha/state.json", "pause.json") == Path("/var/lib/mysqlha/state.pause.json")
