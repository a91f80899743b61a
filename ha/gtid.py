"""GTID arithmetic, MariaDB positions (``domain-server-seq``) and MySQL sets (``uuid:1-5:7``); pure."""

from __future__ import annotations

import re
from typing import Literal

Flavor = Literal["mariadb", "mysql"]
_INTERVAL = re.compile(r"(\d+)(?:-(\d+))?")


def flavor_of(position: str) -> Flavor:
    """The flavor a GTID text is written in: MySQL sets have ``uuid:n``, MariaDB positions ``d-s-n``."""
    return "mysql" if ":" in position else "mariadb"


def gtid_covers(flavor: Flavor, have: str, need: str) -> bool:
    """True when every transaction in ``need`` is also in ``have``; ValueError on a malformed GTID."""
    return not gtid_missing(flavor, have, need)


def gtid_missing(flavor: Flavor, have: str, need: str) -> str:
    """What ``need`` has that ``have`` lacks, for a log line; "" when ``have`` covers ``need``."""
    if flavor == "mariadb":
        have_pos, missing = _mariadb_position(have), []
        for domain, (server, seq) in _mariadb_position(need).items():
            if domain not in have_pos:
                missing.append(f"{domain}-{server}-{seq} (have nothing in domain {domain})")
            elif have_pos[domain][1] < seq:
                missing.append(f"{domain}-{server}-{seq} (have {domain}-{have_pos[domain][0]}-{have_pos[domain][1]})")
        return ", ".join(missing)
    have_set, parts = _mysql_set(have), []
    for key, intervals in _mysql_set(need).items():
        gaps = _subtract(intervals, have_set.get(key, []))
        if gaps:
            parts.append(key + "".join(f":{a}" if a == b else f":{a}-{b}" for a, b in gaps))
    return ",".join(parts)


def _mariadb_position(text: str) -> dict[int, tuple[int, int]]:
    """'0-1-25,1-2-3' -> {domain: (server, seq)}; the highest seq wins if a domain repeats."""
    position: dict[int, tuple[int, int]] = {}
    for token in filter(None, squeeze(text).split(",")):
        try:
            domain, server, seq = (int(part) for part in token.split("-"))
        except ValueError:
            raise ValueError(f"not a MariaDB GTID: {token!r}") from None
        if domain not in position or position[domain][1] < seq:
            position[domain] = (server, seq)
    return position


def _mysql_set(text: str) -> dict[str, list[tuple[int, int]]]:
    """'UUID:1-5:7,uuid2:3' -> {uuid: merged intervals}; tagged GTIDs (8.3+) key as 'uuid:tag'."""
    found: dict[str, list[tuple[int, int]]] = {}
    for part in filter(None, squeeze(text).lower().split(",")):
        uuid, *tokens = part.split(":")
        key = uuid
        if not uuid or not tokens:
            raise ValueError(f"not a MySQL GTID set: {part!r}")
        for token in tokens:
            match = _INTERVAL.fullmatch(token)
            if match is None and re.fullmatch(r"[a-z_][a-z0-9_]*", token):
                key = f"{uuid}:{token}"
                continue
            start, end = (int(match[1]), int(match[2] or match[1])) if match else (0, -1)
            if end < start or start < 1:
                raise ValueError(f"not a MySQL GTID interval: {token!r} in {part!r}")
            found.setdefault(key, []).append((start, end))
    return {key: _merge(intervals) for key, intervals in found.items()}


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(need: list[tuple[int, int]], have: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the (merged) ``need`` intervals outside the (merged) ``have`` intervals."""
    gaps: list[tuple[int, int]] = []
    for start, end in need:
        for have_start, have_end in have:
            if have_end < start or have_start > end:
                continue
            if have_start > start:
                gaps.append((start, have_start - 1))
            start = have_end + 1
            if start > end:
                break
        if start <= end:
            gaps.append((start, end))
    return gaps


def squeeze(text: str) -> str:
    """Drop all whitespace: MySQL breaks long GTID sets with newlines after commas."""
    return "".join(text.split())
