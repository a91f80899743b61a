"""ha.preflight, the pure parts: SHOW GRANTS rows -> privileges, and what each plan runs where."""

from __future__ import annotations

import pytest
from test_config import PATH, mutated, set_key, shipped

from ha.config import parse_config
from ha.dialect import Dialect
from ha.preflight import ACTIONS, STATEMENTS, daemon_needs, granted, plan_needs
from ha.sandbox.wiring import MONITOR_GRANTS

MARIADB = Dialect("mariadb", (10, 11, 6))
MYSQL = Dialect("mysql", (8, 0, 36))
FULL = f"GRANT {MONITOR_GRANTS} ON *.* TO `mysqlha`@`127.%` IDENTIFIED BY PASSWORD '*BD8B5FBD6FCC92ED99'"


def test_the_sandbox_grants_cover_every_statement() -> None:
    have = granted([FULL], MARIADB)
    assert {p for flavors in STATEMENTS.values() for p in flavors["mariadb"][1]} <= have


def test_aliases_and_grants_on_other_objects() -> None:
    rows = [
        "GRANT REPLICA MONITOR, REPLICATION CLIENT ON *.* TO `m`@`%`",
        "GRANT ALL PRIVILEGES ON `app`.* TO `m`@`%`",  # not global: counts for nothing
    ]
    assert granted(rows, MARIADB) == {"SLAVE MONITOR", "BINLOG MONITOR"}


def test_a_replica_watched_without_slave_monitor_does_not_stop_the_daemon() -> None:
    config = parse_config(shipped(), PATH)
    assert {(n.node, n.required) for n in daemon_needs(config) if n.action == "watch"} == {
        ("master1", True),
        ("master2", True),
        ("slave3", False),
        ("slave4", False),
    }


def test_all_privileges_on_everything_covers_all() -> None:
    assert "RELOAD" in granted(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"], MARIADB)


@pytest.mark.parametrize(("dialect", "read_only_too"), [(MARIADB, False), (Dialect("mariadb", (10, 6, 1)), True)])
def test_super_on_mariadb_is_not_reload_nor_read_only_admin_since_10_11(dialect: Dialect, read_only_too: bool) -> None:
    have = granted(["GRANT SUPER ON *.* TO `m`@`%`"], dialect)
    assert "REPLICATION SLAVE ADMIN" in have and "RELOAD" not in have
    assert ("READ_ONLY ADMIN" in have) is read_only_too


def test_mysql_dynamic_privileges_on_their_own_lines() -> None:
    rows = ["GRANT RELOAD, REPLICATION CLIENT ON *.* TO `m`@`%`", "GRANT REPLICATION_SLAVE_ADMIN ON *.* TO `m`@`%`"]
    assert granted(rows, MYSQL) >= {"RELOAD", "REPLICATION CLIENT", "REPLICATION_SLAVE_ADMIN"}


def test_every_action_names_statements_of_both_flavors() -> None:
    assert all(set(flavors) == {"mariadb", "mysql"} for flavors in STATEMENTS.values())
    assert {kind for kinds in ACTIONS.values() for kind in kinds} == set(STATEMENTS)


def test_case_1_promotes_the_candidate_and_fences_the_master() -> None:
    config = parse_config(shipped(), PATH)
    assert [(n.node, n.action) for n in plan_needs("master_down", config)] == [
        ("master2", "promote"),
        ("master1", "fence"),
    ]
    assert [(n.node, n.action, n.required) for n in plan_needs("candidate_down", config)] == [
        ("master1", "semi-sync source", False)  # best effort
    ]


def test_repointing_adds_the_stranded_replicas() -> None:
    config = parse_config(mutated(set_key("failover.repoint_replicas", True)), PATH)
    assert ("slave3", "rejoin") in [(n.node, n.action) for n in plan_needs("master_down", config)]
    assert ("slave4", "rejoin") in [(n.node, n.action) for n in plan_needs("candidate_down", config)]


def test_the_daemon_watches_every_node() -> None:
    config = parse_config(shipped(), PATH)
    assert {n.node for n in daemon_needs(config) if n.action == "watch"} == set(config.nodes)


def test_failback_needs_everything_on_both_masters_and_best_effort_on_replicas() -> None:
    config = parse_config(shipped(), PATH)
    needs = plan_needs("failback_master", config)
    required = {(n.node, n.action) for n in needs if n.required}
    assert required == {
        (node, action) for node in ("master1", "master2") for action in ("fence", "rejoin", "semi-sync source")
    } | {("master1", "promote")}
    assert {n.node for n in needs if not n.required} == {"slave3", "slave4"}


def test_repointing_never_holds_up_a_failover() -> None:
    config = parse_config(mutated(set_key("failover.repoint_replicas", True)), PATH)
    assert all(not n.required for n in plan_needs("master_down", config) if n.node == "slave3")
