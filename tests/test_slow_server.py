"""Issue 9, defect 9: a slow server that answers every query within read_timeout is alive.

A real MariaDB behind a relay that holds every request 0.8 s (and the greeting 0.8 s): each
answer arrives within read_timeout (1 s), but a probe of master2 makes six round trips (~4.8 s),
more than the old overall cut-off of connect_timeout + 3 x read_timeout + 0.5 s = 4.5 s.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import needs_servers, shut_down

from ha.daemon import Adapters, Daemon
from ha.sandbox.cluster import Sandbox

pytestmark = needs_servers
DELAY = 0.8


class SlowRelay:
    """127.0.0.1:<free port> -> ``upstream``, every client request and the greeting held ``DELAY`` s."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, greeting_only: bool) -> None:
        first = True
        try:
            while data := source.recv(65536):
                if first or not greeting_only:
                    time.sleep(DELAY)
                first = False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            shut_down(source, sink)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def slow_master2(healthy_sandbox: Sandbox) -> Iterator[tuple[Sandbox, SlowRelay]]:
    node = healthy_sandbox.config.candidate
    relay = SlowRelay((node.host, node.port))
    try:
        yield healthy_sandbox, relay
    finally:
        relay.close()


def test_a_slow_but_answering_candidate_is_alive(slow_master2: tuple[Sandbox, SlowRelay]) -> None:
    box, relay = slow_master2
    config = box.config
    monitor = replace(config.monitor, connect_timeout=1.0, read_timeout=1.0)
    slow = replace(config.candidate, host="127.0.0.1", port=relay.port)
    config = replace(config, monitor=monitor, nodes={**config.nodes, slow.name: slow})
    daemon = Daemon(config, Adapters.real(config, log=lambda line: None), log=lambda line: None)
    try:
        started = time.monotonic()
        snapshot = daemon.observe()
        took = time.monotonic() - started
    finally:
        daemon.pool.shutdown(wait=True)
        daemon.adapters.close()
    check = snapshot.checks[slow.name]
    print(f"slow master2 ({DELAY:g} s per answer): probe took {check.latency:.1f} s, cycle {took:.1f} s")
    assert check.status == "ok", f"a server answering every read within read_timeout is alive: {check.error}"
    assert check.latency > monitor.connect_timeout + 3 * monitor.read_timeout + 0.5, "slower than the old cut-off"
    assert snapshot.checks[config.master.name].status == "ok"
