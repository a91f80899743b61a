"""Issue 9, defect 4: with tls_ca set, certificates are verified; TLS problems are "alive".

Real MariaDB servers with TLS on, certificates made here with the openssl CLI: one CA, one
server certificate naming master1, master2 and slave3 by IP (not slave4), and a second CA
that signed nothing of theirs.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pymysql
import pytest
from conftest import HAVE_SERVERS, shut_down

from ha.decide import decide
from ha.errors import NodeAnsweredError
from ha.liveusers import login
from ha.model import DaemonState, Snapshot
from ha.mysql import MySQL, replica_status
from ha.sandbox.cluster import Sandbox, free_host_block
from ha.sqlbasics import cursor, require_tls
from ha.watch import mysql_opener

pytestmark = pytest.mark.skipif(
    not HAVE_SERVERS or shutil.which("openssl") is None, reason="needs mariadb-server, haproxy and openssl"
)


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_certs(directory: Path, addresses: list[str]) -> dict[str, str]:
    """A CA, a server certificate for ``addresses`` (IP SANs) signed by it; paths by role."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    days = ("-days", "2")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), *days,
            "-subj", "/CN=mysqlha test CA")  # fmt: skip
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", "/CN=mysqlha test server")  # fmt: skip
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=" + ",".join(f"IP:{a}" for a in addresses) + "\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), *days, "-extfile", str(ext))  # fmt: skip
    rogue_key, rogue = directory / "rogue.key", directory / "rogue.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(rogue_key), "-out", str(rogue), *days,
            "-subj", "/CN=somebody else's CA")  # fmt: skip
    return {"ca": str(ca), "cert": str(cert), "key": str(key), "rogue": str(rogue)}


@pytest.fixture(scope="module")
def tls_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    prefix = free_host_block()
    directory = tmp_path_factory.mktemp("tls")
    certs = make_certs(directory / "certs", [f"{prefix}.{i}" for i in (11, 12, 13)])  # slave4 (.14) not named
    box = Sandbox(directory / "box", log=lambda line: None)
    try:
        box.up(hosts=prefix, heartbeat=None, daemon=False, tls={k: certs[k] for k in ("ca", "cert", "key")})
        yield box, certs
    finally:
        box.down()


def test_the_monitor_verifies_and_encrypts(tls_box: tuple[Sandbox, dict[str, str]]) -> None:
    box, certs = tls_box
    monitor = box.config.monitor
    assert monitor.tls_ca == certs["ca"] and monitor.tls_verify_cert and monitor.tls_verify_identity
    mysql = MySQL(monitor)
    assert mysql.probe(box.config.master).status == "ok"
    with mysql.session(box.config.master) as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchone()[1], "the monitor's session is encrypted"


def test_a_certificate_from_an_unknown_ca_is_alive_and_a_monitoring_problem(
    tls_box: tuple[Sandbox, dict[str, str]],
) -> None:
    box, certs = tls_box
    config = replace(box.config, monitor=replace(box.config.monitor, tls_ca=certs["rogue"]))
    check = MySQL(config.monitor).probe(config.master)
    assert check.status == "answered_error", check
    assert "TLS error" in (check.error or "") and "certificate verify failed" in (check.error or "")
    other = MySQL(config.monitor).probe(config.candidate)
    decision = decide(Snapshot(1, 0.0, {"master1": check, "master2": other}), DaemonState(), config, 0.0)
    assert decision.state.failures == {"master1": 0, "master2": 0}, "never counted toward a failover"
    assert any("MONITORING PROBLEM" in line for line in decision.lines)


def test_a_certificate_for_another_host_fails_the_name_check_unless_turned_off(
    tls_box: tuple[Sandbox, dict[str, str]],
) -> None:
    box, _ = tls_box
    slave4 = box.config.nodes["slave4"]
    checked = MySQL(box.config.monitor).probe(slave4)
    assert checked.status == "answered_error" and "mismatch" in (checked.error or ""), checked
    relaxed = MySQL(replace(box.config.monitor, tls_verify_identity=False)).probe(slave4)
    assert relaxed.status == "ok", relaxed


def test_replication_links_mysqlha_sets_up_use_tls(tls_box: tuple[Sandbox, dict[str, str]]) -> None:
    box, certs = tls_box
    config = box.config
    assert config.replication is not None
    mysql = MySQL(config.monitor)
    slave3, master1, master2 = (config.nodes[n] for n in ("slave3", "master1", "master2"))
    try:
        assert mysql.replicate_from(slave3, master2, config.replication, 20) == "replicating from master2"
        with box.server("slave3").root() as cur:
            cur.execute("SHOW ALL SLAVES STATUS")
            names = [c[0] for c in cur.description]
            row = dict(zip(names, cur.fetchone(), strict=True))
            view = replica_status(cur)
        assert row["Master_SSL_Allowed"] == "Yes" and row["Master_SSL_CA_File"] == certs["ca"]
        assert row["Master_SSL_Verify_Server_Cert"] == "Yes"
        assert view is not None and (view.source_host, view.io_running) == (master2.host, "Yes")
    finally:
        mysql.replicate_from(slave3, master1, config.replication, 20)


CLIENT_SSL = 0x0800  # the capability bit a server sets when it offers TLS


class TlsStripper:
    """A man in the middle: relays to ``upstream`` but clears CLIENT_SSL in the server's greeting (and
    in the client's answer), so the client sees a server that does not offer TLS, as a plain one."""

    def __init__(self, host: str, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server((host, 0))
        self.listener.settimeout(0.2)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.stopping = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.sockets.append(client)
            try:
                self._relay(client)
            except OSError:  # the client gave up (PyMySQL >= 1.2 refuses before answering)
                client.close()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream, timeout=10)
        self.sockets.append(server)
        greeting = self._packet(server)
        # header (4) + protocol (1) + version NUL-terminated + thread id (4) + scramble (8) + filler (1)
        at = greeting.index(b"\0", 5) + 1 + 4 + 8 + 1
        flags = int.from_bytes(greeting[at : at + 2], "little") & ~CLIENT_SSL
        client.sendall(greeting[:at] + flags.to_bytes(2, "little") + greeting[at + 2 :])
        # and in the client's answer (PyMySQL 1.0-1.1 sets it even when it then stays plaintext)
        answer = self._packet(client)
        flags = int.from_bytes(answer[4:6], "little") & ~CLIENT_SSL
        server.sendall(answer[:4] + flags.to_bytes(2, "little") + answer[6:])
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _packet(sock: socket.socket) -> bytes:
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            data += chunk
        return data

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            shut_down(source, sink)

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


def test_a_server_that_does_not_offer_tls_is_alive_and_a_monitoring_problem(
    tls_box: tuple[Sandbox, dict[str, str]],
) -> None:
    """tls_ca set, and the server (here: a man in the middle of a real one) does not advertise TLS:
    no plaintext session, no "ok"; answered, so never counted toward a failover."""
    box, _ = tls_box
    master1 = box.config.master
    stripper = TlsStripper(master1.host.rsplit(".", 1)[0] + ".1", (master1.host, master1.port))
    try:
        host, port = stripper.address
        config = replace(box.config, nodes={**box.config.nodes, "master1": replace(master1, host=host, port=port)})
        check = MySQL(config.monitor).probe(config.master)
    finally:
        stripper.close()
    assert check.status == "answered_error", check
    assert "TLS not negotiated" in (check.error or ""), check
    other = MySQL(config.monitor).probe(config.candidate)
    decision = decide(Snapshot(1, 0.0, {"master1": check, "master2": other}), DaemonState(), config, 0.0)
    assert decision.state.failures == {"master1": 0, "master2": 0}, "never counted toward a failover"
    assert any("MONITORING PROBLEM" in line for line in decision.lines)


def test_a_plaintext_session_is_refused_by_the_tls_guard(tls_box: tuple[Sandbox, dict[str, str]]) -> None:
    """What PyMySQL 1.0-1.1 gave when the server offered no TLS (a plaintext session) is refused by
    mysqlha itself, whatever the driver did; an encrypted session passes."""
    box, certs = tls_box
    master1 = box.config.master
    user, password = box.config.monitor.credentials.user, box.config.monitor.credentials.password
    plain = {"host": master1.host, "port": master1.port, "user": user, "password": password}
    with cursor(5, 5, ssl_disabled=True, **plain) as cur:
        with pytest.raises(NodeAnsweredError, match="TLS not negotiated"):
            require_tls(cur.connection)
    with cursor(5, 5, ssl_ca=certs["ca"], **plain) as cur:
        require_tls(cur.connection)


def test_every_session_the_monitor_opens_verifies_the_certificate(tls_box: tuple[Sandbox, dict[str, str]]) -> None:
    """The watch channel and check-config's logins use the same verified TLS as the checks: an unknown
    CA is refused by each (they once passed ``ssl_ca`` alone, which verifies nothing)."""
    box, certs = tls_box
    good, rogue = box.config, replace(box.config, monitor=replace(box.config.monitor, tls_ca=certs["rogue"]))
    user = good.monitor.credentials
    mysql_opener(good.monitor)(good.master).close()
    with pytest.raises(pymysql.err.OperationalError, match="certificate verify failed"):
        mysql_opener(rogue.monitor)(rogue.master)
    assert login(good, good.master, user.user, user.password)
    with pytest.raises(pymysql.err.OperationalError, match="certificate verify failed"):
        login(rogue, rogue.master, user.user, user.password)
