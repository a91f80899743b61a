"""supervisord adapter: XML-RPC with timeouts, idempotent stop/start, verified end states."""

from __future__ import annotations

import base64
import http.client
import socket
import time
import xmlrpc.client
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from ha.config import ProxyProgram, SupervisorEndpoint
from ha.errors import SupervisorError

# supervisor.xmlrpc.Faults, copied so this module needs no supervisor import.
BAD_NAME = 10
ALREADY_STARTED = 60
NOT_RUNNING = 70
STOPPED_STATES = {"STOPPED", "EXITED", "FATAL"}
TRANSIENT = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class TimeoutTransport(xmlrpc.client.Transport):
    """An XML-RPC transport whose every socket has a timeout (the stock ones have none)."""

    def __init__(self, timeout: float, socket_path: str | None = None, auth: str | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.socket_path = socket_path
        self.auth = auth

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self.socket_path is None:
            conn = super().make_connection(host)
            conn.timeout = self.timeout
            return conn
        unix = self._connection[1]
        if unix is None:
            unix = _UnixConnection(self.socket_path, self.timeout)
            self._connection = (host, unix)
        return unix

    def send_headers(self, connection: http.client.HTTPConnection, headers: list[tuple[str, str]]) -> None:
        if self.auth:
            headers = [*headers, ("Authorization", f"Basic {self.auth}")]
        super().send_headers(connection, headers)


def safe_url(url: str) -> str:
    """``url`` without any user:password@ part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def server_proxy(endpoint: SupervisorEndpoint) -> xmlrpc.client.ServerProxy:
    """An XML-RPC proxy for ``http://host:port`` or ``unix:///path`` with a timeout.

    ``https://`` is refused: this client speaks plain HTTP only, and would send the Basic-auth
    password in clear; so are credentials inside the URL (use username / password_file).
    """
    if not endpoint.url.startswith(("http://", "unix://")):
        raise SupervisorError(f"supervisor.url {safe_url(endpoint.url)}: expected unix:///path or http://host:port")
    if "@" in urlsplit(endpoint.url).netloc:
        raise SupervisorError(f"supervisor.url {safe_url(endpoint.url)}: credentials in the URL are not accepted")
    auth = None
    if endpoint.username:
        raw = f"{endpoint.username}:{endpoint.password or ''}".encode()
        auth = base64.b64encode(raw).decode()
    if endpoint.url.startswith("unix://"):
        transport = TimeoutTransport(endpoint.timeout, socket_path=endpoint.url[len("unix://") :], auth=auth)
        return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=transport)
    parts = urlsplit(endpoint.url)
    path = parts.path if parts.path not in ("", "/") else "/RPC2"
    transport = TimeoutTransport(endpoint.timeout, auth=auth)
    return xmlrpc.client.ServerProxy(f"{parts.scheme}://{quote(parts.netloc, safe=':[]')}{path}", transport=transport)


def listener_up(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Supervisor:
    """Start and stop proxy programs; every call bounded, retried, and verified."""

    def __init__(
        self,
        endpoint: SupervisorEndpoint,
        rpc: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
    ) -> None:
        self.endpoint = endpoint
        self.rpc = rpc if rpc is not None else server_proxy(endpoint)
        self.sleep = sleep
        self.clock = clock
        self.retries = retries

    def _call(self, method: str, *args: Any) -> Any:
        """Call ``supervisor.<method>``; retry transient transport errors, never Faults."""
        for attempt in range(1, self.retries + 1):
            try:
                return getattr(self.rpc.supervisor, method)(*args)
            except xmlrpc.client.Fault:
                raise
            except TRANSIENT as exc:
                if attempt == self.retries:
                    where = safe_url(self.endpoint.url)
                    raise SupervisorError(f"supervisord at {where} did not answer {method}: {exc}") from exc
                self.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def states(self) -> dict[str, str]:
        """Every program supervisord knows, with its state name."""
        return {info["name"]: info["statename"] for info in self._call("getAllProcessInfo")}

    def missing(self, names: Iterable[str]) -> list[str]:
        known = self.states()
        return [name for name in names if name not in known]

    def state(self, name: str) -> str:
        return self._call("getProcessInfo", name)["statename"]

    def stop(self, names: Sequence[str]) -> None:
        """Stop each program and wait for it to exit; NOT_RUNNING counts as done."""
        for name in names:
            try:
                self._call("stopProcess", name, True)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != NOT_RUNNING:
                    raise SupervisorError(f"stop {name}: {fault.faultString}") from fault
        deadline = self.clock() + self.endpoint.start_timeout
        while wrong := {name: s for name in names if (s := self.state(name)) not in STOPPED_STATES}:
            if self.clock() > deadline:
                raise SupervisorError(f"still running after stop: {wrong}")
            self.sleep(0.01)

    def start(self, programs: Sequence[ProxyProgram], wait: bool = True) -> None:
        """Start every program at once, then (``wait``) until each runs and accepts connections.

        A port that already accepts connections before its program starts belongs to someone
        else (a normal proxy still running): refuse rather than trust that listener later.
        """
        states = self.states()
        for program in programs:
            launched = states.get(program.name) in ("RUNNING", "STARTING")
            if not launched and listener_up(program.listen_host, program.listen_port):
                raise SupervisorError(
                    f"{program.listen} is already served by another process; not starting {program.name}"
                )
        for program in programs:
            try:
                self._call("startProcess", program.name, False)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != ALREADY_STARTED:
                    raise SupervisorError(f"start {program.name}: {fault.faultString}") from fault
        if not wait:
            return
        deadline = self.clock() + self.endpoint.start_timeout
        pending = list(programs)
        while pending:
            pending = [p for p in pending if not self._serving(p)]
            if not pending:
                return
            if self.clock() > deadline:
                detail = ", ".join(f"{p.name} ({self.state(p.name)}, {p.listen})" for p in pending)
                raise SupervisorError(f"not serving after {self.endpoint.start_timeout:g} s: {detail}")
            self.sleep(0.01)

    def _serving(self, program: ProxyProgram) -> bool:
        """RUNNING, accepting on its port, and still RUNNING afterwards (so the port is its own)."""
        info = self._call("getProcessInfo", program.name)
        if info["statename"] in ("FATAL", "EXITED", "BACKOFF"):
            raise SupervisorError(f"{program.name} is {info['statename']}: see its log")
        if info["statename"] != "RUNNING" or not listener_up(program.listen_host, program.listen_port):
            return False
        after = self._call("getProcessInfo", program.name)
        return after["statename"] == "RUNNING" and after["pid"] == info["pid"]
