"""A condition is announced when its episode begins, not every cycle."""

from __future__ import annotations

from ha.episodes import Episodes
from ha.model import Event

BOTH = {"both_failing": Event("both_failing")}
BLIND = {"monitoring_problem:master1": Event("monitoring_problem", "master1", None, "1045 Access denied")}


def test_once_per_episode() -> None:
    episodes = Episodes()
    assert [e.name for e in episodes.update(BOTH)] == ["both_failing"]
    assert episodes.update(BOTH) == ()
    assert [e.name for e in episodes.update({**BOTH, **BLIND})] == ["monitoring_problem"]
    assert episodes.update(BLIND) == ()
    assert episodes.update({}) == ()
    assert [e.name for e in episodes.update(BOTH)] == ["both_failing"], "it ended, so this is a new episode"
