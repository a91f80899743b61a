"""Packaging: one version source, the declared license's text, the sdist's contents."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

import pytest

import ha

ROOT = Path(__file__).resolve().parent.parent


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
