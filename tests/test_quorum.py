"""The quorum function, as a table: views in, the nodes a majority of configured monitors see failing out."""

from __future__ import annotations

import pytest

from ha.quorum import NodeView, View, majority, quorum

MONITORS = ("mon1", "mon2", "mon3")
DOWN = NodeView("failed", 3, "2003 refused")
COUNTING = NodeView("failed", 2, "2003 refused")
UP = NodeView("ok", 0)


def view(monitor: str, master1: NodeView, age: float = 0.5, master2: NodeView = UP) -> View:
    return View(monitor, 100.0 - age, {"master1": master1, "master2": master2})


@pytest.mark.parametrize(
    "views, failing",
    [
        ([view("mon1", DOWN), view("mon2", UP), view("mon3", UP)], set()),  # one monitor cut off: nothing
        ([view("mon1", DOWN), view("mon2", DOWN), view("mon3", UP)], {"master1"}),  # two of three: failing
        ([view("mon1", DOWN), view("mon2", DOWN)], {"master1"}),  # the third gone: two still a majority
        ([view("mon1", DOWN)], set()),  # alone, one of three configured is no majority
        ([view("mon1", DOWN), view("mon2", COUNTING), view("mon3", UP)], set()),  # below the threshold
        ([view("mon1", DOWN), view("mon2", DOWN, age=10)], set()),  # a stale view does not count
        ([view("mon1", DOWN), view("mon2", DOWN, age=-10)], set()),  # nor one from a clock far ahead
        ([view("mon1", DOWN), view("intruder", DOWN), view("mon3", UP)], set()),  # unknown monitors do not vote
        ([view("mon1", DOWN), view("mon1", DOWN, age=0.2), view("mon3", UP)], set()),  # one vote per monitor
        ([view("mon1", UP, master2=DOWN), view("mon2", DOWN, master2=DOWN)], {"master2"}),
    ],
)
def test_quorum(views: list[View], failing: set[str]) -> None:
    assert quorum(views, MONITORS, now=100.0, max_age=3.0, threshold=3).failing == failing


def test_quorum_says_who_and_who_is_stale() -> None:
    found = quorum([view("mon1", DOWN), view("mon2", DOWN, age=10)], MONITORS, 100.0, 3.0, 3)
    assert found.says("master1") == "1 of 2 needed monitors see master1 failing (mon1)"
    assert found.stale == ("mon2", "mon3") and found.fresh == ("mon1",)


def test_majority_is_of_configured_monitors() -> None:
    assert [majority(tuple(f"m{i}" for i in range(n))) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_view_round_trip_and_bad_text() -> None:
    original = View("mon1", 12.5, {"master1": NodeView("failed", 3, "x", ("master2",))}, 7, "mon2")
    assert View.from_text(original.to_text()) == original
    with pytest.raises(ValueError, match="not a mysqlha view"):
        View.from_text('{"time": 1}')
