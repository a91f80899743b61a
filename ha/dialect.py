"""Every SQL difference between MariaDB and MySQL, chosen from ``SELECT @@version``.

Pure: builds SQL text (``%s`` placeholders for PyMySQL) and parses rows; never talks to a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ha.gtid import Flavor, squeeze
from ha.model import ReplicaView

Version = tuple[int, int, int]

SEMI_SYNC_NAMES = tuple(
    f"Rpl_semi_sync_{role}_{what}" for role in ("master", "source") for what in ("status", "clients", "no_tx")
)
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Dialect:
    """The SQL one server speaks: its flavor and version."""

    flavor: Flavor
    version: Version

    @property
    def mariadb(self) -> bool:
        return self.flavor == "mariadb"

    def _mysql_since(self, version: Version) -> bool:
        """MySQL at ``version`` or later (the REPLICA/SOURCE spellings)."""
        return self.flavor == "mysql" and self.version >= version

    def _replica_word(self) -> str:
        return "REPLICA" if self._mysql_since((8, 0, 22)) else "SLAVE"

    def replica_status_sql(self) -> str:
        return "SHOW ALL SLAVES STATUS" if self.mariadb else f"SHOW {self._replica_word()} STATUS"

    def heartbeat_sql(self) -> str | None:
        """MySQL keeps the heartbeat counter and period out of SHOW REPLICA STATUS; MariaDB does not."""
        if self.mariadb:
            return None
        return (
            "SELECT s.COUNT_RECEIVED_HEARTBEATS, c.HEARTBEAT_INTERVAL"
            " FROM performance_schema.replication_connection_status s"
            " JOIN performance_schema.replication_connection_configuration c USING (CHANNEL_NAME)"
            " WHERE CHANNEL_NAME = ''"
        )

    def replica_view(
        self, node: str, row: dict[str, Any], heartbeats: int | None = None, period: float | None = None
    ) -> ReplicaView:
        """One replica status row (column -> value) as a ReplicaView; ``heartbeats`` and ``period``
        (from heartbeat_sql) win over the row's."""
        if self.mariadb:
            received, applied = _text(row, "Gtid_IO_Pos"), _text(row, "Gtid_Slave_Pos")
        else:
            received = squeeze(_text(row, "Retrieved_Gtid_Set"))
            applied = squeeze(_text(row, "Executed_Gtid_Set"))
        if heartbeats is None:
            counted = _get(row, "Slave_received_heartbeats")
            heartbeats = None if counted in (None, "") else int(counted)
        if period is None:
            configured = _get(row, "Slave_heartbeat_period", "Heartbeat_period")
            period = None if configured in (None, "") else float(configured)
        io = _text(row, "Replica_IO_Running", "Slave_IO_Running")
        lag = _get(row, "Seconds_Behind_Source", "Seconds_Behind_Master")
        return ReplicaView(
            node=node,
            io_running=io if io in ("Yes", "No") else "No" if not io else "Connecting",
            sql_running=_text(row, "Replica_SQL_Running", "Slave_SQL_Running") == "Yes",
            source_host=_text(row, "Source_Host", "Master_Host"),
            source_port=int(_get(row, "Source_Port", "Master_Port") or 0),
            received=received,
            applied=applied,
            heartbeats=heartbeats,
            last_io_error=_text(row, "Last_IO_Error"),
            last_sql_error=_text(row, "Last_SQL_Error"),
            lag=None if lag in (None, "") else float(lag),
            heartbeat_period=period,
        )

    def semi_sync(self, status: dict[str, str]) -> tuple[bool | None, int | None]:
        """(source semi-sync on?, connected semi-sync replicas) from SHOW GLOBAL STATUS rows."""
        lowered = {name.lower(): value for name, value in status.items()}
        on = _get(lowered, "rpl_semi_sync_master_status", "rpl_semi_sync_source_status")
        clients = _get(lowered, "rpl_semi_sync_master_clients", "rpl_semi_sync_source_clients")
        return (
            None if on is None else str(on).upper() in ("ON", "1"),
            None if clients in (None, "") else int(clients),
        )

    def semi_sync_status_sql(self) -> str:
        names = ", ".join(f"'{name}'" for name in SEMI_SYNC_NAMES)
        return f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})"

    def position_sql(self) -> str:
        return "SELECT @@global.gtid_binlog_pos" if self.mariadb else "SELECT @@global.gtid_executed"

    def holds_sql(self) -> str:
        """Every transaction the server has, replicated or its own."""
        return "SELECT @@global.gtid_current_pos" if self.mariadb else "SELECT @@global.gtid_executed"

    def wait_applied_sql(self) -> str:
        """Arguments: (position or GTID set, timeout in seconds)."""
        return f"SELECT {'MASTER_GTID_WAIT' if self.mariadb else 'WAIT_FOR_EXECUTED_GTID_SET'}(%s, %s)"

    def wait_succeeded(self, result: int | str | None) -> bool:
        """Both answer 0 when reached; MariaDB -1 and MySQL 1 on timeout; NULL on bad input."""
        return result is not None and int(result) == 0

    def stop_io_sql(self) -> str:
        return f"STOP {self._replica_word()} IO_THREAD"

    def io_session_sql(self) -> str | None:
        """The replication IO thread's session id (KILL-able), or None where it is not needed.

        MariaDB's ``STOP SLAVE`` on a semi-sync replica first connects to the source to end its
        dump thread (``rpl_semi_sync_slave_kill_conn_timeout``): a hung source makes that wait
        ~2 s. Ending the IO thread's session first makes the STOP instant.
        """
        if not self.mariadb:
            return None
        return "SELECT id FROM information_schema.processlist WHERE command = 'Slave_IO'"

    def stop_replica_sql(self) -> str:
        return f"STOP {self._replica_word()}"

    def start_replica_sql(self) -> str:
        return f"START {self._replica_word()}"

    def start_sql_thread_sql(self) -> str:
        return f"START {self._replica_word()} SQL_THREAD"

    def reset_replica_all_sql(self) -> str:
        return f"RESET {self._replica_word()} ALL"

    def fence_sql(self) -> list[str]:
        """Refuse writes; on MySQL super_read_only also stops SUPER users (and implies read_only)."""
        return [f"SET GLOBAL {'read_only' if self.mariadb else 'super_read_only'} = ON"]

    def writable_sql(self) -> list[str]:
        if self.mariadb:
            return ["SET GLOBAL read_only = OFF"]
        return ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]

    def semi_sync_role_sql(self, role: Literal["source", "replica"], on: bool) -> str:
        """Turn one semi-sync role on or off (MySQL: the variable exists only while its plugin is loaded)."""
        new_names = self._mysql_since((8, 0, 26))
        name = {"source": "source" if new_names else "master", "replica": "replica" if new_names else "slave"}[role]
        return f"SET GLOBAL rpl_semi_sync_{name}_enabled = {'ON' if on else 'OFF'}"

    def semi_sync_off_sql(self) -> list[str]:
        """Both semi-sync roles off."""
        return [self.semi_sync_role_sql("replica", False), self.semi_sync_role_sql("source", False)]

    def change_source_sql(
        self, heartbeat: float | None = None, tls_ca: str | None = None, tls_verify: bool = True
    ) -> str:
        """Arguments: (host, port, user, password); GTID auto-positioning and a 1 s retry.

        ``heartbeat`` sets the heartbeat period; None leaves the server's default
        (``slave_net_timeout / 2``: 30 s as shipped). ``tls_ca`` (a path on the replica's host)
        makes the link TLS, verifying the source's certificate unless ``tls_verify`` is false
        (its ``%`` doubled: the statement is always run with the four arguments).
        """
        beat = "" if heartbeat is None else f", {{0}}_HEARTBEAT_PERIOD={float(heartbeat):g}"
        if tls_ca is not None:
            beat += (
                f", {{0}}_SSL=1, {{0}}_SSL_CA={sql_string(tls_ca).replace('%', '%%')}"
                f", {{0}}_SSL_VERIFY_SERVER_CERT={int(bool(tls_verify))}"
            )
        if self.mariadb:
            tail = "MASTER_USE_GTID=slave_pos"
        elif self._mysql_since((8, 0, 23)):
            return (
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, SOURCE_PASSWORD=%s,"
                " SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1" + beat.format("SOURCE")
            )
        else:
            tail = "MASTER_AUTO_POSITION=1"
        return (
            "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s,"
            f" {tail}, MASTER_CONNECT_RETRY=1" + beat.format("MASTER")
        )


def sql_string(text: str) -> str:
    """A quoted SQL string literal (for statements that take no placeholder there)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def detect(version: str) -> Dialect:
    """The dialect of a server from its ``@@version``; ValueError when no version number is found."""
    text = version.strip()
    flavor: Flavor = "mariadb" if "mariadb" in text.lower() else "mysql"
    if flavor == "mariadb" and text.startswith("5.5.5-"):
        text = text[len("5.5.5-") :]
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"cannot read a server version from {version!r}")
    return Dialect(flavor, (int(match[1]), int(match[2]), int(match[3] or 0)))


def pick_default_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row of the default (unnamed) connection or channel, or None when there is none."""
    for row in rows:
        if _get(row, "Connection_name", "Channel_Name", "Channel_name") in (None, ""):
            return row
    return None


def _get(row: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` present in ``row``, else None."""
    for name in names:
        if name in row:
            return row[name]
    return None


def _text(row: dict[str, Any], *names: str) -> str:
    value = _get(row, *names)
    return "" if value is None else str(value)
