"""The optional coordination section: absent changes nothing; every mistake named by key."""

from __future__ import annotations

from typing import Any

import pytest

from ha.config import parse_config
from tests.test_config import PATH, problems_of, shipped


def coordinated(**changes: Any) -> dict[str, Any]:
    data = shipped()
    data["monitor"]["interval"] = 1
    section: dict[str, Any] = {
        "name": "mon1",
        "monitors": ["mon1", "mon2", "mon3"],
        "etcd": {"endpoints": ["http://127.0.0.1:2379", "http://127.0.0.2:2379"], "ttl": 3, "timeout": 1},
    }
    for dotted, value in changes.items():
        target = section
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    data["coordination"] = section
    return data


def test_without_coordination_nothing_changes() -> None:
    assert parse_config(shipped(), PATH).coordination is None


def test_a_coordination_section_parses_with_defaults() -> None:
    found = parse_config(coordinated(), PATH).coordination
    assert found is not None
    assert found.name == "mon1" and found.monitors == ("mon1", "mon2", "mon3")
    assert found.etcd.prefix == "/mysqlha/cluster" and found.etcd.ttl == 3 and found.etcd.client.timeout == 1.0
    assert found.view_max_age == 2 * 1 + 3


@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"name": "mon9"}, "coordination.name", "not in coordination.monitors"),
        ({"monitors": ["mon1", "mon1"], "name": "mon1"}, "coordination.monitors", "named twice"),
        ({"etcd__endpoints": ["127.0.0.1:2379"]}, "coordination.etcd.endpoints", "http(s)://host:port"),
        ({"etcd__endpoints": []}, "coordination.etcd.endpoints", "http(s)://host:port"),
        ({"etcd__ttl": 1}, "coordination.etcd.ttl", "etcd's minimum lease TTL is 2 s"),
        ({"etcd__timeout": 7, "etcd__ttl": 30}, "coordination.etcd.timeout", "etcd itself answers"),
        ({"etcd__ttl": 2, "etcd__timeout": 1}, "coordination.etcd.ttl", "renewed once a cycle"),
        ({"etcd__cert": "/x.pem"}, "coordination.etcd.cert", "cert and key together"),
        ({"etcd__user": "mysqlha"}, "coordination.etcd.password_file", "missing"),
        ({"etcd__prefix": "mysqlha"}, "coordination.etcd.prefix", "key prefix"),
        ({"etcd__endpoint": ["http://127.0.0.1:2379"]}, "coordination.etcd.endpoint", "did you mean 'endpoints'"),
        ({"monitor": ["mon1"]}, "coordination.monitor", "did you mean 'monitors'"),
    ],
)
def test_one_mistake_one_problem(changes: dict[str, Any], key: str, words: str) -> None:
    problems = problems_of(coordinated(**changes))
    assert len(problems) == 1, problems
    assert f"{PATH}: {key}: " in problems[0] and words in problems[0]


def test_swap_roles_is_refused_with_several_monitors_before_anything_is_touched() -> None:
    from ha.commands import swap_refusal

    assert swap_refusal(parse_config(shipped(), PATH)) is None
    why = swap_refusal(parse_config(coordinated(), PATH))
    assert why is not None and "coordination: --swap-roles is refused with several monitors" in why
    assert "every monitor's config" in why
