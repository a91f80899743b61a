"""Node identity: a node is its host *and* its port, hosts compared by resolved address.

With every server on 3306 of its own host, the port alone tells nothing; and a replica's
``Master_Host`` may be a name where the config has the address (or the other way round).
IP literals are compared without any lookup; a name is resolved once (bounded, cached) and
compared by its addresses; a name that does not resolve is compared as lower-cased text.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache

RESOLVE_TIMEOUT = 1.0  # seconds; getaddrinfo itself has no timeout
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="resolve")


@lru_cache(maxsize=256)
def addresses(host: str) -> frozenset[str]:
    """The addresses ``host`` stands for: itself when it is an IP literal, else what it resolves to."""
    text = host.strip().lower().strip("[]")
    try:
        return frozenset({str(ipaddress.ip_address(text))})
    except ValueError:
        pass
    if not text:
        return frozenset()
    future = _pool.submit(socket.getaddrinfo, text, None, 0, socket.SOCK_STREAM)
    try:
        found = future.result(timeout=RESOLVE_TIMEOUT)
    except (OSError, UnicodeError, ValueError, FutureTimeout):  # UnicodeError: a label IDNA rejects (empty, > 63)
        return frozenset({text})
    return frozenset({str(ipaddress.ip_address(info[4][0])) for info in found}) or frozenset({text})


def same_host(host_a: str, host_b: str) -> bool:
    """True when both names or addresses stand for one host (they share a resolved address)."""
    if host_a.strip().lower() == host_b.strip().lower():
        return True
    return bool(addresses(host_a) & addresses(host_b))


def same_node(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """True when (host_a, port_a) and (host_b, port_b) are one server: same port and same host."""
    return int(port_a) == int(port_b) and same_host(host_a, host_b)
