"""Packaging: one version source, the declared license's text, the sdist's contents (built, unpacked, run)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib.metadata import metadata
from pathlib import Path

import pytest

import ha

ROOT = Path(__file__).resolve().parent.parent
UNIT_FILES = ("tests/test_decide.py", "tests/test_config.py", "tests/test_gtid.py")  # pure: no servers


def test_version_has_one_source_and_the_license_file_matches() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dynamic"] == ["version"] and "version" not in project
    assert metadata("mysqlha")["Version"] == ha.__version__
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_sdist_carries_tests_and_example_configs() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text()
    for line in ("recursive-include tests *.py", "recursive-include conf *.yml *.cfg", "include LICENSE"):
        assert line in manifest


def test_the_built_sdist_carries_its_tests_and_they_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sdist, built by the PEP 517 backend in this process (no isolation, no network), unpacks to a
    tree whose pure unit tests run: conftest, the example configs and the license are in it."""
    pytest.importorskip("setuptools", minversion="77")  # SPDX `license` (pyproject's build requirement)
    from setuptools import build_meta

    monkeypatch.chdir(ROOT)
    name = build_meta.build_sdist(str(tmp_path / "dist"))
    with tarfile.open(tmp_path / "dist" / name) as sdist:
        members = {member.split("/", 1)[1] for member in sdist.getnames() if "/" in member}
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+ and Debian's backport
        sdist.extractall(tmp_path / "unpacked", **safe)
    for wanted in ("tests/conftest.py", "tests/fakes.py", "LICENSE", "conf/mysqlha.yml", "pyproject.toml"):
        assert wanted in members, f"{wanted} is not in {name}"
    shipped = {f"conf/haproxy/{path.name}" for path in (ROOT / "conf" / "haproxy").glob("*.cfg")}
    assert shipped and shipped <= members, sorted(shipped - members)
    tree = tmp_path / "unpacked" / name.removesuffix(".tar.gz")
    result = subprocess.run(  # `python -m pytest` puts the unpacked tree first on sys.path: its ha, its tests
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNIT_FILES],
        cwd=tree,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1], result.stdout[-500:]
    imported = subprocess.run(
        [sys.executable, "-c", "import ha; print(ha.__file__)"], cwd=tree, capture_output=True, text=True, timeout=30
    )
    assert imported.stdout.startswith(f"{tree}/ha/"), f"the tests ran against {imported.stdout}, not the sdist's ha"
