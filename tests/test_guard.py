"""`sandbox down --remove` only removes what `sandbox up` built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ha.errors import MysqlhaError
from ha.sandbox.guard import remove_sandbox, why_not_a_sandbox


def fake_sandbox(path: Path) -> Path:
    path.mkdir()
    for name in ("secrets", "nodes"):
        (path / name).mkdir()
    (path / "supervisord.conf").write_text("")
    (path / "mysqlha.yml").write_text(yaml.safe_dump({"failover": {"state_file": str(path / "state.json")}}))
    return path


def test_a_sandbox_is_removed(tmp_path: Path) -> None:
    box = fake_sandbox(tmp_path / "box")
    assert why_not_a_sandbox(box) is None
    remove_sandbox(box)
    assert not box.exists()


def test_other_directories_are_refused(tmp_path: Path) -> None:
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "keep").write_text("x")
    assert "lacks mysqlha.yml" in (why_not_a_sandbox(precious) or "")
    with pytest.raises(MysqlhaError, match="not removing"):
        remove_sandbox(precious)
    assert (precious / "keep").exists()
    box = fake_sandbox(tmp_path / "box")
    (box / "mysqlha.yml").write_text(yaml.safe_dump({"failover": {"state_file": "/var/lib/mysqlha/state.json"}}))
    assert "not in the sandbox" in (why_not_a_sandbox(box) or "")
    (tmp_path / "link").symlink_to(fake_sandbox(tmp_path / "other"))
    assert "symlink" in (why_not_a_sandbox(tmp_path / "link") or "")
    assert why_not_a_sandbox("/") is not None


def test_the_command_refuses_before_stopping_anything(tmp_path: Path) -> None:
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "keep").write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "ha", "sandbox", "--dir", str(precious), "down", "--remove"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "not removing" in result.stderr
    assert (precious / "keep").exists()
