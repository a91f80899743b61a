"""failback --swap-roles rewrites only the sections that change; comments, mode and owner stay."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml
from test_decide import CLASSIC, classic_config

from ha.commands import replace_keeping_owner
from ha.swap import swapped, swapped_text


def test_only_the_changed_sections_are_rewritten_and_comments_stay() -> None:
    text = CLASSIC.read_text()
    data = yaml.safe_load(text)
    new = swapped(data, classic_config())
    result = swapped_text(text, data, new, "roles swapped")
    assert yaml.safe_load(result) == new
    assert result.count("# roles swapped") == 2, "nodes and proxies"
    for kept in ("# mysqlha topology: the classic four-server layout", "# seconds between checks of master1"):
        assert kept in result
    assert "allow_async_promotion: false" in result and "  # Promote even if master1" in result


def test_the_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mysqlha.yml"
    path.write_text("a: 1\n")
    path.chmod(0o640)
    replace_keeping_owner(path, "a: 2\n")
    assert path.read_text() == "a: 2\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o640
