"""GTID arithmetic as a table: MariaDB positions and MySQL sets in, coverage and what is missing out."""

from __future__ import annotations

import pytest

from ha.gtid import flavor_of, gtid_covers, gtid_missing

UUID_A = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
UUID_B = "4a5b8c1e-2d3f-11ef-8a9b-0242ac120002"


def test_flavor_of_a_position() -> None:
    assert flavor_of("0-1-25") == flavor_of("") == "mariadb"
    assert flavor_of(f"{UUID_A}:1-5") == "mysql"


# (flavor, have, need, covered, missing)
GTID_TABLE: list[tuple[str, str, str, bool, str]] = [
    ("mariadb", "0-1-25", "0-1-25", True, ""),
    ("mariadb", "0-1-25", "0-1-23", True, ""),
    ("mariadb", "0-1-23", "0-1-25", False, "0-1-25 (have 0-1-23)"),
    ("mariadb", "0-2-30", "0-1-25", True, ""),  # the server id does not matter
    ("mariadb", "", "", True, ""),
    ("mariadb", "0-1-5", "", True, ""),
    ("mariadb", "", "0-1-5", False, "0-1-5 (have nothing in domain 0)"),
    ("mariadb", "0-1-100,1-2-7", "0-1-99,1-2-7", True, ""),
    ("mariadb", "1-2-7,0-1-100", "0-1-100, 1-2-8", False, "1-2-8 (have 1-2-7)"),
    ("mariadb", "0-1-100", "0-1-100,1-2-1", False, "1-2-1 (have nothing in domain 1)"),
    ("mariadb", "0-1-1,1-2-1", "0-1-2,1-2-2", False, "0-1-2 (have 0-1-1), 1-2-2 (have 1-2-1)"),
    ("mariadb", "0-1-5,7-3-1", "0-1-5", True, ""),
    ("mysql", f"{UUID_A}:1-9", f"{UUID_A}:1-9", True, ""),
    ("mysql", f"{UUID_A}:1-9", f"{UUID_A}:3-5", True, ""),
    ("mysql", "", "", True, ""),
    ("mysql", f"{UUID_A}:1-5", "", True, ""),
    ("mysql", "", f"{UUID_A}:1-5", False, f"{UUID_A.lower()}:1-5"),
    ("mysql", f"{UUID_A}:1-5:7-9", f"{UUID_A}:1-9", False, f"{UUID_A.lower()}:6"),
    ("mysql", f"{UUID_A}:1-5:7-9", f"{UUID_A}:6", False, f"{UUID_A.lower()}:6"),
    ("mysql", f"{UUID_A}:1-5:7-9", f"{UUID_A}:1-5:7-9", True, ""),
    ("mysql", f"{UUID_A}:1-5:6-9", f"{UUID_A}:1-9", True, ""),  # adjacent intervals join
    ("mysql", f"{UUID_A}:1-3:5:8", f"{UUID_A}:1-10", False, f"{UUID_A.lower()}:4:6-7:9-10"),
    ("mysql", f"{UUID_A.lower()}:1-9", f"{UUID_A}:1-9", True, ""),  # uuids compare case-insensitively
    ("mysql", f"{UUID_A}:1-5,\n{UUID_B}:1-3", f"{UUID_B.upper()}:1-3,{UUID_A}:2", True, ""),
    ("mysql", f"{UUID_A}:1-5", f"{UUID_A}:1-5,\n{UUID_B}:1-3", False, f"{UUID_B}:1-3"),
    ("mysql", f"{UUID_A}:1-4,{UUID_B}:1-2", f"{UUID_A}:1-5,{UUID_B}:1-3", False, f"{UUID_A.lower()}:5,{UUID_B}:3"),
    ("mysql", f"{UUID_A}:1-5,{UUID_A}:6-9", f"{UUID_A}:1-9", True, ""),  # a uuid repeated in one set
    ("mysql", f"{UUID_A}:1-9:blue:1-3", f"{UUID_A}:blue:2,{UUID_A}:4", True, ""),  # tagged GTIDs, MySQL 8.3+
    ("mysql", f"{UUID_A}:1-9", f"{UUID_A}:blue:1", False, f"{UUID_A.lower()}:blue:1"),
]


@pytest.mark.parametrize(("flavor", "have", "need", "covered", "missing"), GTID_TABLE)
def test_gtid_covers_and_missing(flavor: str, have: str, need: str, covered: bool, missing: str) -> None:
    assert gtid_covers(flavor, have, need) is covered  # type: ignore[arg-type]
    assert gtid_missing(flavor, have, need) == missing  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flavor", "have", "need"),
    [
        ("mariadb", "0-1", "0-1-1"),
        ("mariadb", "0-1-x", ""),
        ("mariadb", "", f"{UUID_A}:1-5"),
        ("mysql", f"{UUID_A}:5-1", ""),
        ("mysql", f"{UUID_A}:0", ""),
        ("mysql", "", UUID_A),
        ("mysql", "", "0-1-5"),
    ],
)
def test_gtid_refuses_malformed(flavor: str, have: str, need: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        gtid_covers(flavor, have, need)  # type: ignore[arg-type]
