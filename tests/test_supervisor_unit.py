"""ha.supervisor: idempotent, verified stop/start against a fake that raises supervisord's real faults."""

from __future__ import annotations

import base64
import re
import socket
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest

from ha.config import ProxyProgram, SupervisorEndpoint
from ha.errors import SupervisorError
from ha.supervisor import ALREADY_STARTED, BAD_NAME, NOT_RUNNING, Supervisor

URL = "http://127.0.0.1:9001/RPC2"
RUNNING_STATES = ("RUNNING", "STARTING", "BACKOFF")
# socket.timeout is TimeoutError since Python 3.10: what a timed-out XML-RPC call raises.
TRANSIENT_ERRORS = [ConnectionRefusedError(111, "Connection refused"), TimeoutError("timed out")]


class Port:
    """A TCP port on 127.0.0.1, reserved (bound) but refusing connections until ``listen()``."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.number: int = self.sock.getsockname()[1]

    def listen(self) -> None:
        self.sock.listen()


class FakeApi:
    """The ``supervisor.*`` namespace: real Fault codes, scripted states, injectable transport errors."""

    def __init__(self, states: dict[str, str], ports: dict[str, Port] | None = None) -> None:
        self.states = dict(states)
        self.ports = ports or {}
        self.after_start: list[str] = ["RUNNING"]  # states getProcessInfo reports after a start, one per call
        self.stop_works = True
        self.errors: list[Exception] = []  # raised by the next calls, in order
        self.calls: list[tuple[str, ...]] = []
        self._script: dict[str, list[str]] = {}

    def _enter(self, method: str, *args: Any) -> None:
        self.calls.append((method, *map(str, args)))
        if self.errors:
            raise self.errors.pop(0)

    def _known(self, name: str) -> None:
        if name not in self.states:
            raise xmlrpc.client.Fault(BAD_NAME, f"BAD_NAME: {name}")

    def getAllProcessInfo(self) -> list[dict[str, Any]]:
        self._enter("getAllProcessInfo")
        return [{"name": name, "statename": state, "pid": 100} for name, state in self.states.items()]

    def getProcessInfo(self, name: str) -> dict[str, Any]:
        self._enter("getProcessInfo", name)
        self._known(name)
        script = self._script.get(name)
        if script:
            self.states[name] = script.pop(0) if len(script) > 1 else script[0]
        if self.states[name] == "RUNNING" and name in self.ports:
            self.ports[name].listen()
        return {"name": name, "statename": self.states[name], "pid": 100}

    def startProcess(self, name: str, wait: bool = True) -> bool:
        self._enter("startProcess", name, wait)
        self._known(name)
        if self.states[name] in RUNNING_STATES:
            raise xmlrpc.client.Fault(ALREADY_STARTED, f"ALREADY_STARTED: {name}")
        self.states[name] = "STARTING"
        self._script[name] = list(self.after_start)
        return True

    def stopProcess(self, name: str, wait: bool = True) -> bool:
        self._enter("stopProcess", name, wait)
        self._known(name)
        if self.states[name] not in RUNNING_STATES:
            raise xmlrpc.client.Fault(NOT_RUNNING, f"NOT_RUNNING: {name}")
        if self.stop_works:
            self.states[name] = "STOPPED"
        return True


class FakeRpc:
    def __init__(self, api: FakeApi) -> None:
        self.supervisor = api


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(api: FakeApi, clock: FakeClock | None = None, start_timeout: float = 1.0) -> Supervisor:
    clock = clock or FakeClock()
    endpoint = SupervisorEndpoint(url=URL, timeout=0.5, start_timeout=start_timeout)
    return Supervisor(endpoint, rpc=FakeRpc(api), sleep=clock.sleep, clock=clock, retries=3)


def program(name: str, port: int) -> ProxyProgram:
    return ProxyProgram(name, "127.0.0.1", port, ("master1",))


@pytest.fixture
def port() -> Iterator[Port]:
    reserved = Port()
    yield reserved
    reserved.sock.close()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other process already serves."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


# -- stop ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["STOPPED", "EXITED", "FATAL"])
def test_stop_of_a_program_not_running_counts_as_done(state: str) -> None:
    api = FakeApi({"p": state})
    make(api).stop(["p"])
    assert api.calls == [("stopProcess", "p", "True"), ("getProcessInfo", "p")]


def test_stop_stops_every_program_and_checks_each_end_state() -> None:
    api = FakeApi({"a": "RUNNING", "b": "STOPPED", "c": "STARTING"})
    make(api).stop(["a", "b", "c"])
    assert api.states == {"a": "STOPPED", "b": "STOPPED", "c": "STOPPED"}
    assert [c for c in api.calls if c[0] == "getProcessInfo"] == [("getProcessInfo", n) for n in "abc"]


def test_stop_raises_when_the_program_is_still_running() -> None:
    api = FakeApi({"a": "STOPPED", "p": "RUNNING"})
    api.stop_works = False
    with pytest.raises(SupervisorError, match=r"still running after stop: \{'p': 'RUNNING'\}"):
        make(api).stop(["a", "p"])


def test_stop_of_an_unknown_program_names_it() -> None:
    with pytest.raises(SupervisorError, match="stop ghost: BAD_NAME"):
        make(FakeApi({})).stop(["ghost"])


# -- transport errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("error", TRANSIENT_ERRORS)
def test_transient_errors_are_retried(error: Exception) -> None:
    api = FakeApi({"p": "RUNNING"})
    api.errors = [error, error]
    clock = FakeClock()
    assert make(api, clock).states() == {"p": "RUNNING"}
    assert len(api.calls) == 3 and len(clock.sleeps) == 2


@pytest.mark.parametrize("error", TRANSIENT_ERRORS)
def test_the_last_transient_error_names_the_url(error: Exception) -> None:
    api = FakeApi({"p": "RUNNING"})
    api.errors = [error] * 3
    with pytest.raises(SupervisorError, match=re.escape(f"supervisord at {URL} did not answer stopProcess")) as info:
        make(api).stop(["p"])
    assert isinstance(info.value.__cause__, type(error))
    assert len(api.calls) == 3


def test_a_fault_is_not_retried() -> None:
    api = FakeApi({})
    with pytest.raises(SupervisorError, match="start ghost"):
        make(api).start([program("ghost", 1)])
    assert [c[0] for c in api.calls] == ["getAllProcessInfo", "startProcess"]


# -- start --------------------------------------------------------------------------------------------


def test_start_of_an_already_started_program_counts_as_done(listening: int) -> None:
    api = FakeApi({"p": "RUNNING"})
    make(api).start([program("p", listening)])
    assert ("startProcess", "p", "False") in api.calls


def test_start_waits_for_running_and_the_listener(port: Port) -> None:
    api = FakeApi({"p": "STOPPED"}, ports={"p": port})
    api.after_start = ["STARTING", "STARTING", "STARTING", "RUNNING"]
    clock = FakeClock()
    make(api, clock).start([program("p", port.number)])
    assert api.states["p"] == "RUNNING"
    assert len(clock.sleeps) == 3


def test_start_starts_every_program_before_waiting() -> None:
    ports = {"a": Port(), "b": Port()}
    api = FakeApi({"a": "STOPPED", "b": "EXITED"}, ports=ports)
    make(api).start([program(name, p.number) for name, p in ports.items()])
    assert [c[:2] for c in api.calls[1:3]] == [("startProcess", "a"), ("startProcess", "b")]
    for reserved in ports.values():
        reserved.sock.close()


@pytest.mark.parametrize("bad", ["FATAL", "EXITED", "BACKOFF"])
def test_start_raises_when_the_program_dies(port: Port, bad: str) -> None:
    api = FakeApi({"p": "STOPPED"}, ports={"p": port})
    api.after_start = ["STARTING", bad]
    with pytest.raises(SupervisorError, match=f"p is {bad}: see its log"):
        make(api).start([program("p", port.number)])


def test_start_refuses_a_port_served_by_another_process(listening: int) -> None:
    api = FakeApi({"p": "STOPPED"})
    with pytest.raises(
        SupervisorError, match=re.escape(f"127.0.0.1:{listening} is already served by another process; not starting p")
    ):
        make(api).start([program("p", listening)])
    assert [c[0] for c in api.calls] == ["getAllProcessInfo"]


def test_start_times_out_naming_the_program(port: Port) -> None:
    api = FakeApi({"p": "STOPPED"}, ports={"p": port})
    api.after_start = ["STARTING"]
    clock = FakeClock()
    with pytest.raises(SupervisorError, match=rf"not serving after 1 s: p \(STARTING, 127.0.0.1:{port.number}\)"):
        make(api, clock, start_timeout=1.0).start([program("p", port.number)])
    assert 1.0 <= clock.now - 1000.0 < 1.1


def test_start_times_out_when_running_but_not_listening(port: Port) -> None:
    api = FakeApi({"p": "STOPPED"})  # no port to open: the program runs but never listens
    with pytest.raises(SupervisorError, match=rf"p \(RUNNING, 127.0.0.1:{port.number}\)"):
        make(api, start_timeout=0.5).start([program("p", port.number)])


# -- the real transport -------------------------------------------------------------------------------


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX socket paths are limited to about 100 bytes."""
    with tempfile.TemporaryDirectory(prefix="sv") as name:
        yield Path(name)


def silent_unix_server(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    return server


def test_a_unix_socket_that_never_answers_times_out(short_dir: Path) -> None:
    path = short_dir / "supervisor.sock"
    with silent_unix_server(path):
        endpoint = SupervisorEndpoint(url=f"unix://{path}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(
            SupervisorError, match=re.escape(f"supervisord at unix://{path} did not answer getAllProcessInfo")
        ):
            Supervisor(endpoint, sleep=lambda seconds: None, retries=3).states()
        assert time.monotonic() - started < 3.0


def test_an_http_server_that_never_answers_times_out(listening: int) -> None:
    endpoint = SupervisorEndpoint(url=f"http://127.0.0.1:{listening}", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SupervisorError, match="timed out"):
        Supervisor(endpoint, sleep=lambda seconds: None, retries=2).states()
    assert time.monotonic() - started < 3.0


def test_a_missing_unix_socket_is_a_supervisor_error(short_dir: Path) -> None:
    endpoint = SupervisorEndpoint(url=f"unix://{short_dir}/absent.sock", timeout=0.3)
    with pytest.raises(SupervisorError, match=r"absent\.sock did not answer"):
        Supervisor(endpoint, sleep=lambda seconds: None).states()


class _Recorder(SimpleXMLRPCRequestHandler):
    seen: list[tuple[str, str | None]] = []  # noqa: RUF012 - written by the server thread, read by the test

    def do_POST(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        super().do_POST()


@pytest.fixture
def xmlrpc_server() -> Iterator[tuple[int, list[tuple[str, str | None]]]]:
    """A real XML-RPC server on 127.0.0.1 answering supervisor.getAllProcessInfo."""
    _Recorder.seen = []
    server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=_Recorder, logRequests=False)
    server.register_function(lambda: [{"name": "p", "statename": "RUNNING"}], "supervisor.getAllProcessInfo")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_server_proxy_talks_http_with_basic_auth(xmlrpc_server: tuple[int, list[tuple[str, str | None]]]) -> None:
    port, seen = xmlrpc_server
    endpoint = SupervisorEndpoint(url=f"http://127.0.0.1:{port}", username="u", password="p w", timeout=2.0)
    assert Supervisor(endpoint).states() == {"p": "RUNNING"}
    assert seen == [("/RPC2", f"Basic {base64.b64encode(b'u:p w').decode()}")]


def test_an_endpoint_built_by_hand_with_https_or_credentials_is_refused_without_printing_them() -> None:
    for url in ("https://10.0.0.5:9001", "http://admin:hunter2@10.0.0.5:9001"):
        with pytest.raises(SupervisorError) as info:
            Supervisor(SupervisorEndpoint(url=url))
        assert "hunter2" not in str(info.value) and "admin" not in str(info.value)
