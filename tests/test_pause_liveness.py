"""The pause store, the heartbeat, durations and the private files they live in."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ha.errors import MysqlhaError
from ha.files import write_atomic
from ha.liveness import Beat, Heartbeat
from ha.pause import Pause, PauseStore
from ha.timefmt import age, iso, parse_duration, parse_since

NOW = 1_700_000_000.0


def test_a_pause_persists_and_expires_by_itself(tmp_path: Path) -> None:
    store = PauseStore.for_state(tmp_path / "state.json")
    assert store.active(NOW) == (None, None)
    store.save(Pause(NOW, NOW + 7200, "disk swap", "alice"))
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    again = PauseStore(store.path)  # a restarted daemon reads the same file
    active, expired = again.active(NOW + 60)
    assert active == Pause(NOW, NOW + 7200, "disk swap", "alice") and expired is None
    assert "paused by alice" in active.describe(NOW + 60) and "119 min left" in active.describe(NOW + 60)
    assert "disk swap" in active.describe(NOW)
    active, expired = again.active(NOW + 7200)
    assert active is None and expired is not None and expired.reason == "disk swap"
    assert not store.path.exists(), "an expired pause removes itself"


def test_a_pause_without_end_lasts_until_resume(tmp_path: Path) -> None:
    store = PauseStore(tmp_path / "p.json")
    store.save(Pause(NOW, None, "", "bob"))
    assert store.active(NOW + 10**7)[0] is not None
    assert "until `mysqlha resume`" in store.load().describe(NOW)  # type: ignore[union-attr]
    assert store.clear() == Pause(NOW, None, "", "bob")
    assert store.load() is None and store.clear() is None


def test_a_damaged_pause_file_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(MysqlhaError, match=r"p\.json: unreadable pause file.*mysqlha resume"):
        PauseStore(tmp_path / "p.json").load()


def test_the_heartbeat_round_trips_and_is_private(tmp_path: Path) -> None:
    heartbeat = Heartbeat.for_state(tmp_path / "state.json")
    assert heartbeat.read() is None
    beat = Beat(NOW, 63, "AllHealthy", "all checks ok", 1234, 5.0)
    heartbeat.beat(beat)
    assert heartbeat.read() == beat
    assert beat.age(NOW + 42) == 42
    assert stat.S_IMODE(os.stat(heartbeat.path).st_mode) == 0o600


def test_atomic_writes_replace_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "state.json").symlink_to(victim)
    write_atomic(tmp_path / "state.json", "{}")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "state.json").is_symlink()
    assert stat.S_IMODE(os.stat(tmp_path / "state.json").st_mode) == 0o600
    (tmp_path / ".x.tmp").symlink_to(victim)  # a planted temp file is not written through either
    write_atomic(tmp_path / "x", "new")
    assert victim.read_text() == "precious" and (tmp_path / "x").read_text() == "new"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "-1h", "0", "h"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_since_takes_a_duration_or_an_iso_time() -> None:
    assert parse_since("2h", NOW) == NOW - 7200
    assert parse_since(iso(NOW), NOW + 99) == pytest.approx(NOW, abs=0.001)
    assert parse_since("2023-11-14T22:13:20+00:00", 0) == NOW
    with pytest.raises(ValueError, match="ISO date"):
        parse_since("yesterday", NOW)


def test_iso_has_milliseconds_and_zone() -> None:
    text = iso(NOW + 0.25)
    assert text.endswith(("+00:00", "Z")) or text[-6] in "+-"
    assert ".250" in text
    assert [age(s) for s in (42, 300, 7200 * 2, 86400 * 3)] == ["42 s", "5 min", "4.0 h", "3.0 d"]
