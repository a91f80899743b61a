"""Node identity by host and port, hosts compared by resolved address."""

from __future__ import annotations

from ha.identity import addresses, same_host, same_node


def test_same_port_other_host_is_another_node() -> None:
    assert not same_node("127.0.0.11", 3306, "127.0.0.12", 3306)
    assert same_node("127.0.0.11", 3306, "127.0.0.11", 3306)


def test_same_host_other_port_is_another_node() -> None:
    assert not same_node("127.0.0.1", 3306, "127.0.0.1", 3307)


def test_a_name_and_its_address_are_one_host() -> None:
    assert same_host("localhost", "127.0.0.1") or "127.0.0.1" not in addresses("localhost")
    assert same_node("LOCALHOST", 3306, "localhost", 3306)


def test_ip_literals_need_no_lookup_and_are_normalised() -> None:
    assert addresses("::1") == frozenset({"::1"})
    assert same_host("[0:0:0:0:0:0:0:1]", "::1")


def test_a_name_that_does_not_resolve_is_compared_as_text() -> None:
    assert addresses("no-such-host.invalid") == frozenset({"no-such-host.invalid"})
    assert not same_host("no-such-host.invalid", "127.0.0.1")


def test_a_name_idna_rejects_is_compared_as_text() -> None:
    """An empty or 64+ character label makes getaddrinfo raise UnicodeError, not OSError."""
    long = "a" * 70 + ".example"
    assert addresses(long) == frozenset({long}) and addresses("a..b") == frozenset({"a..b"})
    assert not same_host(long, "a..b")
