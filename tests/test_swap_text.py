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
    commented = [line for line in text.splitlines() if "#" in line]
    lost = [line for line in commented if line.split("#", 1)[1].strip() not in result]
    assert [line.split(":")[0].strip() for line in lost] == ["master_down", "candidate_down"], (
        "only the comments on rewritten keys go: they described the old cases"
    )
    assert "  health_check_user: haproxy_check   # a password-less user with no privileges" in result
    assert "  slave3:  {host: 127.0.0.1, port: 3308, role: replica, source: master1}" in result, (
        "unchanged keys as typed"
    )


def test_a_section_in_flow_style_is_rewritten_whole() -> None:
    text = "# top\nnodes: {a: {role: master}, b: {role: candidate}}\nother: 1  # stays\n"
    old = yaml.safe_load(text)
    new = {"nodes": {"a": {"role": "candidate"}, "b": {"role": "master"}}, "other": 1}
    result = swapped_text(text, old, new, "swapped")
    assert yaml.safe_load(result) == new and "# top" in result and "other: 1  # stays" in result


def test_the_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mysqlha.yml"
    path.write_text("a: 1\n")
    path.chmod(0o640)
    replace_keeping_owner(path, "a: 2\n")
    assert path.read_text() == "a: 2\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o640
