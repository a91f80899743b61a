"""Client load for the benchmark: a writer and a reader thread that reconnect on every error."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import pymysql

TABLE = "bench_writes"
PAUSE = 0.005  # seconds between two operations
CONNECT_TIMEOUT, READ_TIMEOUT = 1.0, 2.0


@dataclass(frozen=True)
class Op:
    """One acknowledged operation: wall time, the @@server_id that answered, the client connection number.

    The server id, not the port: on the same-port lab every node listens on 3306.
    """

    t: float
    server: int
    conn: int
    key: str = ""


class Client(threading.Thread):
    """Runs ``operate`` in a loop on one connection; on any error records it, drops the connection, reconnects."""

    def __init__(self, host: str, port: int, password: str) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.password = host, port, password
        self.ops: list[Op] = []
        self.errors: list[float] = []  # wall times of failed operations or connects
        self.error_texts: list[str] = []  # what went wrong, in the same order
        self.opened: list[float] = []  # wall time each connection number was opened
        self.stopping = threading.Event()

    def connect(self) -> tuple[pymysql.connections.Connection, int]:
        conn = pymysql.connect(
            host=self.host,
            port=self.port,
            user="app",
            password=self.password,
            database="app",
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            write_timeout=READ_TIMEOUT,
            autocommit=True,
            ssl_disabled=True,
        )
        with conn.cursor() as cur:
            cur.execute("SELECT @@server_id")
            server = int(cur.fetchone()[0])
        return conn, server

    def operate(self, cur: pymysql.cursors.Cursor, server: int, number: int) -> Op:
        raise NotImplementedError

    def run(self) -> None:
        conn, server, number = None, 0, -1
        while not self.stopping.is_set():
            try:
                if conn is None:
                    opened = time.time()
                    conn, server = self.connect()
                    self.opened.append(opened)
                    number = len(self.opened) - 1
                with conn.cursor() as cur:
                    self.ops.append(self.operate(cur, server, number))
            except Exception as exc:  # noqa: BLE001 - any failure means: record it, reconnect, go on
                self.errors.append(time.time())
                self.error_texts.append(f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
                        pass
                conn = None
            time.sleep(PAUSE)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(READ_TIMEOUT + CONNECT_TIMEOUT + 2)


class Writer(Client):
    """Inserts one row with a client-made key per commit through the master proxy port."""

    def operate(self, cur: pymysql.cursors.Cursor, server: int, number: int) -> Op:
        key = uuid.uuid4().hex
        cur.execute(f"INSERT INTO {TABLE} (k) VALUES (%s)", (key,))
        return Op(time.time(), server, number, key)


class Reader(Client):
    """Asks ``SELECT @@server_id`` through the read proxy port: which server answered, when."""

    def operate(self, cur: pymysql.cursors.Cursor, server: int, number: int) -> Op:
        cur.execute("SELECT @@server_id")
        served_by = int(cur.fetchone()[0])
        return Op(time.time(), served_by, number)
