"""Log formats: iso (default) prefixes every line, classic is the seed's look, json one object a line."""

from __future__ import annotations

import io
import json
import re

import pytest

from ha.logsetup import setup_logging

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
CLASSIC = ["63: master1 status check at Tue Jun  5 15:23:35 2012", "ok", "master1 fail detected!"]


def logged(style: str, *messages: str) -> str:
    stream = io.StringIO()
    log = setup_logging(style, stream)
    for message in messages:
        log(message)
    return stream.getvalue()


def test_iso_prefixes_every_line_and_keeps_the_classic_text() -> None:
    out = logged("iso", *CLASSIC, "cycle failed unexpectedly:\nTraceback ...\n  boom").splitlines()
    assert len(out) == 6
    for line in out:
        assert re.match(ISO + " ", line), line
    assert [line.split(" ", 1)[1] for line in out[:3]] == CLASSIC


def test_classic_is_the_seeds_exact_look() -> None:
    assert logged("classic", *CLASSIC).splitlines() == CLASSIC


def test_json_is_one_object_per_message() -> None:
    records = [json.loads(line) for line in logged("json", *CLASSIC).splitlines()]
    assert [r["message"] for r in records] == CLASSIC
    assert all(re.fullmatch(ISO, r["time"]) and r["level"] == "info" for r in records)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="iso, classic, json"):
        setup_logging("xml", io.StringIO())
