"""One sandboxed MariaDB server: its files, its process, its root session."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymysql

from ha.config import Node
from ha.errors import MysqlhaError
from ha.mysql import cursor

# Pasteable as printed: only the binaries (mariadb-server's service would take 3306); supervisor is
# one of this package's dependencies, so it goes where the package is (Debian's Python refuses pip).
MARIADB_HINT = "as root: apt-get install -y mariadb-server-core mariadb-client-core"
INSTALL_HINT = {
    "haproxy": "as root: apt-get install -y haproxy",
}


def supervisord_hint() -> str:
    """Where supervisord comes from: this virtualenv's pip, or the checkout's scripts (a fresh ./.venv)."""
    if sys.prefix != sys.base_prefix:  # running from a virtualenv: its own pip installs it
        return f"{sys.executable} -m pip install supervisor"
    return "from the checkout, `bash scripts/demo.sh` installs it with this package into ./.venv"


def binary(name: str, *fallbacks: str) -> str:
    """A program on PATH, in sbin, or beside this interpreter (a virtualenv's supervisord)."""
    places = f"/usr/sbin:/usr/local/sbin:/sbin:{Path(sys.executable).parent}"
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate) or shutil.which(candidate, path=places)
        if found:
            return found
    hint = supervisord_hint() if name == "supervisord" else INSTALL_HINT.get(name, MARIADB_HINT)
    raise MysqlhaError(f"{name} not found: {hint}")


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (R, S, T for stopped, Z for zombie), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def process_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie is dead; it is reaped when it is our child)."""
    state = process_state(pid)
    if state is None:
        return False
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


@dataclass(frozen=True)
class Server:
    """A MariaDB instance living in ``home``: datadir, tmpdir, socket, pid file, log."""

    node: Node
    home: Path
    server_id: int
    launcher: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", NS): run it inside a network namespace

    @property
    def cnf(self) -> Path:
        return self.home / "my.cnf"

    @property
    def socket(self) -> Path:
        return self.home / "mariadbd.sock"

    @property
    def pid_file(self) -> Path:
        return self.home / "mariadbd.pid"

    @property
    def error_log(self) -> Path:
        return self.home / "error.log"

    def write_cnf(self, settings: dict[str, object]) -> None:
        """Write my.cnf: our paths and identity first, then the role's settings."""
        base: dict[str, object] = {
            "datadir": self.home / "data",
            "tmpdir": self.home / "tmp",
            "socket": self.socket,
            "pid-file": self.pid_file,
            "log-error": self.error_log,
            "port": self.node.port,
            "bind-address": self.node.host,
            "server_id": self.server_id,
            "log_bin": "mariadb-bin",
            "relay_log": "relay-bin",
            "binlog_format": "ROW",
            "log_slave_updates": "ON",
            "gtid_strict_mode": "ON",
            "skip_name_resolve": "ON",
            "max_connect_errors": 1000000,
            "innodb_buffer_pool_size": "32M",
            "innodb_log_file_size": "8M",
            "innodb_flush_log_at_trx_commit": 2,
            "performance_schema": "OFF",
            "skip_slave_start": "OFF",
        }
        base.update(settings)
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"{key} = {value}" for key, value in base.items())
        self.cnf.write_text(f"# {self.node.name}: written by mysqlha sandbox\n[mariadbd]\n{body}\n")

    def install(self) -> None:
        """Initialise an empty datadir with mariadb-install-db (root without password, socket only)."""
        command = [
            binary("mariadb-install-db", "mysql_install_db"),
            f"--defaults-file={self.cnf}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *self._user_args(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise MysqlhaError(f"{self.node.name}: mariadb-install-db failed:\n{result.stdout}{result.stderr}")

    def copy_datadir_from(self, other: Server) -> None:
        shutil.rmtree(self.home / "data", ignore_errors=True)
        shutil.copytree(other.home / "data", self.home / "data", symlinks=True)

    @staticmethod
    def _user_args() -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def start(self) -> None:
        """Spawn mariadbd in its own session; ``wait_ready`` tells when it answers."""
        if self.pid() is not None:
            return
        self.socket.unlink(missing_ok=True)
        self.pid_file.unlink(missing_ok=True)
        with open(self.home / "mariadbd.out", "ab") as out:
            subprocess.Popen(
                [*self.launcher, binary("mariadbd", "mysqld"), f"--defaults-file={self.cnf}", *self._user_args()],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                close_fds=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            try:
                with self.root() as cur:
                    cur.execute("SELECT 1")
                    return
            except (pymysql.err.Error, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.05)
        raise MysqlhaError(f"{self.node.name} did not answer within {timeout:g} s ({last_error}); see {self.error_log}")

    @contextmanager
    def root(self, timeout: float = 10.0) -> Iterator[pymysql.cursors.Cursor]:
        """A root cursor over the unix socket, with every timeout set."""
        with cursor(timeout, timeout, unix_socket=str(self.socket), user="root", password="") as cur:
            yield cur

    def signal(self, signum: int) -> int:
        """Send ``signum``; for SIGSTOP, return once the process is stopped (signals arrive late)."""
        pid = self.pid()
        if pid is None:
            raise MysqlhaError(f"{self.node.name} is not running")
        os.kill(pid, signum)
        deadline = time.monotonic() + 5
        while signum == signal.SIGSTOP and process_state(pid) != "T" and time.monotonic() < deadline:
            time.sleep(0.005)
        return pid

    def kill(self) -> None:
        pid = self.signal(signal.SIGKILL)
        wait_gone(pid, 10)

    def stop(self, timeout: float = 60.0) -> None:
        """Clean shutdown (SIGTERM), thawing first; SIGKILL if it takes longer than ``timeout``."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 10)
