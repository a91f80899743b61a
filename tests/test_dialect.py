"""The MariaDB/MySQL dialect as tables: version strings, recorded status rows and GTIDs in, SQL and views out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ha.dialect import Dialect, detect, pick_default_row
from ha.model import ReplicaView

MARIADB = Dialect("mariadb", (10, 11, 19))
MYSQL57 = Dialect("mysql", (5, 7, 44))
MYSQL8021 = Dialect("mysql", (8, 0, 21))
MYSQL80 = Dialect("mysql", (8, 0, 36))
MYSQL84 = Dialect("mysql", (8, 4, 0))

UUID_A = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
UUID_B = "4a5b8c1e-2d3f-11ef-8a9b-0242ac120002"

# SHOW ALL SLAVES STATUS on MariaDB 10.11 (sandbox replica of 127.0.0.1:13400), trimmed to the columns we read
# and a few neighbours.
MARIADB_ROW: dict[str, Any] = {
    "Connection_name": "",
    "Slave_SQL_State": "Slave has read all relay log; waiting for more updates",
    "Slave_IO_State": "Waiting for master to send event",
    "Master_Host": "127.0.0.1",
    "Master_User": "repl",
    "Master_Port": 13400,
    "Connect_Retry": 1,
    "Slave_IO_Running": "Yes",
    "Slave_SQL_Running": "Yes",
    "Last_Errno": 0,
    "Last_Error": "",
    "Seconds_Behind_Master": 0,
    "Last_IO_Errno": 0,
    "Last_IO_Error": "",
    "Last_SQL_Errno": 0,
    "Last_SQL_Error": "",
    "Master_Server_Id": 1,
    "Using_Gtid": "Slave_Pos",
    "Gtid_IO_Pos": "0-1-2",
    "Slave_heartbeat_period": 1.0,
    "Gtid_Slave_Pos": "0-1-2",
    "Slave_received_heartbeats": 5,
}
MARIADB_NAMED_ROW = {**MARIADB_ROW, "Connection_name": "backup", "Master_Host": "10.0.0.9", "Gtid_IO_Pos": "7-9-4"}

# SHOW REPLICA STATUS on MySQL 8.0.36 while the source is away: long GTID sets wrap after commas.
MYSQL80_ROW: dict[str, Any] = {
    "Replica_IO_State": "Reconnecting after a failed source event read",
    "Source_Host": "10.0.0.1",
    "Source_User": "repl",
    "Source_Port": 3306,
    "Connect_Retry": 1,
    "Replica_IO_Running": "Connecting",
    "Replica_SQL_Running": "Yes",
    "Last_IO_Errno": 2003,
    "Last_IO_Error": "Error reconnecting to source 'repl@10.0.0.1:3306'. This was attempt 3/86400, with a delay of 1"
    " seconds between attempts. Message: Can't connect to MySQL server on '10.0.0.1:3306' (111)",
    "Last_SQL_Errno": 0,
    "Last_SQL_Error": "",
    "Source_Server_Id": 1,
    "Source_UUID": UUID_A.lower(),
    "Retrieved_Gtid_Set": f"{UUID_A}:1-5,\n{UUID_B}:1-3",
    "Executed_Gtid_Set": f"{UUID_A}:1-5,\n{UUID_B}:1-3,\nc0ffee00-0000-11ef-0000-000000000001:1",
    "Auto_Position": 1,
    "Channel_Name": "",
}

# SHOW SLAVE STATUS on MySQL 5.7.44, replication stopped on an apply error.
MYSQL57_ROW: dict[str, Any] = {
    "Slave_IO_State": "",
    "Master_Host": "db1.example",
    "Master_User": "repl",
    "Master_Port": "3307",
    "Slave_IO_Running": "No",
    "Slave_SQL_Running": "No",
    "Last_Errno": 1062,
    "Last_IO_Errno": 0,
    "Last_IO_Error": "",
    "Last_SQL_Errno": 1062,
    "Last_SQL_Error": "Could not execute Write_rows event on table app.t; Duplicate entry '7' for key 'PRIMARY'",
    "Retrieved_Gtid_Set": f"{UUID_A}:1-9",
    "Executed_Gtid_Set": f"{UUID_A}:1-7",
    "Auto_Position": 1,
    "Channel_Name": "",
}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("10.11.19-MariaDB-0+deb12u1-log", MARIADB),
        ("10.11.6-MariaDB", Dialect("mariadb", (10, 11, 6))),
        ("5.5.5-10.11.6-MariaDB", Dialect("mariadb", (10, 11, 6))),
        ("5.5.5-10.6.12-MariaDB-1:10.6.12+maria~ubu2204-log", Dialect("mariadb", (10, 6, 12))),
        ("11.4.2-MariaDB-ubu2404", Dialect("mariadb", (11, 4, 2))),
        ("8.0.36", MYSQL80),
        ("8.0.36-0ubuntu0.22.04.1", MYSQL80),
        ("8.0.21-log", MYSQL8021),
        ("8.4.0-commercial", MYSQL84),
        ("5.7.44-log", MYSQL57),
        ("8.0.36-28", MYSQL80),  # Percona Server
        ("  8.4.0\n", MYSQL84),
    ],
)
def test_detect(version: str, expected: Dialect) -> None:
    assert detect(version) == expected


@pytest.mark.parametrize("version", ["", "MariaDB", "unknown-log"])
def test_detect_refuses_text_without_a_version(version: str) -> None:
    with pytest.raises(ValueError, match="cannot read a server version"):
        detect(version)


HEARTBEAT = (
    "SELECT s.COUNT_RECEIVED_HEARTBEATS, c.HEARTBEAT_INTERVAL FROM performance_schema.replication_connection_status s"
    " JOIN performance_schema.replication_connection_configuration c USING (CHANNEL_NAME) WHERE CHANNEL_NAME = ''"
)
SEMI_SYNC_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients',"
    " 'Rpl_semi_sync_master_no_tx', 'Rpl_semi_sync_source_status', 'Rpl_semi_sync_source_clients',"
    " 'Rpl_semi_sync_source_no_tx')"
)
MARIADB_CHANGE = (
    "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s,"
    " MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1"
)
MYSQL_OLD_CHANGE = (
    "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s,"
    " MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1"
)
MYSQL_NEW_CHANGE = (
    "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, SOURCE_PASSWORD=%s,"
    " SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1"
)
SEMI_OFF_OLD = ["SET GLOBAL rpl_semi_sync_slave_enabled = OFF", "SET GLOBAL rpl_semi_sync_master_enabled = OFF"]
SEMI_OFF_NEW = ["SET GLOBAL rpl_semi_sync_replica_enabled = OFF", "SET GLOBAL rpl_semi_sync_source_enabled = OFF"]
MYSQL_FENCE = ["SET GLOBAL super_read_only = ON"]
MYSQL_WRITABLE = ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]
SLAVE_WORDS = ["STOP SLAVE IO_THREAD", "STOP SLAVE", "START SLAVE", "RESET SLAVE ALL"]
REPLICA_WORDS = ["STOP REPLICA IO_THREAD", "STOP REPLICA", "START REPLICA", "RESET REPLICA ALL"]

# method -> expected statement for MariaDB 10.11, MySQL 5.7.44, 8.0.21, 8.0.36, 8.4.0
SQL_TABLE: dict[str, tuple[object, object, object, object, object]] = {
    "replica_status_sql": (
        "SHOW ALL SLAVES STATUS",
        "SHOW SLAVE STATUS",
        "SHOW SLAVE STATUS",
        "SHOW REPLICA STATUS",
        "SHOW REPLICA STATUS",
    ),
    "heartbeat_sql": (None, HEARTBEAT, HEARTBEAT, HEARTBEAT, HEARTBEAT),
    "semi_sync_status_sql": (SEMI_SYNC_STATUS,) * 5,
    "position_sql": ("SELECT @@global.gtid_binlog_pos",) + ("SELECT @@global.gtid_executed",) * 4,
    "wait_applied_sql": ("SELECT MASTER_GTID_WAIT(%s, %s)",) + ("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)",) * 4,
    "stop_io_sql": (SLAVE_WORDS[0], SLAVE_WORDS[0], SLAVE_WORDS[0], REPLICA_WORDS[0], REPLICA_WORDS[0]),
    "io_session_sql": ("SELECT id FROM information_schema.processlist WHERE command = 'Slave_IO'",) + (None,) * 4,
    "stop_replica_sql": (SLAVE_WORDS[1], SLAVE_WORDS[1], SLAVE_WORDS[1], REPLICA_WORDS[1], REPLICA_WORDS[1]),
    "start_replica_sql": (SLAVE_WORDS[2], SLAVE_WORDS[2], SLAVE_WORDS[2], REPLICA_WORDS[2], REPLICA_WORDS[2]),
    "reset_replica_all_sql": (SLAVE_WORDS[3], SLAVE_WORDS[3], SLAVE_WORDS[3], REPLICA_WORDS[3], REPLICA_WORDS[3]),
    "fence_sql": (["SET GLOBAL read_only = ON"], MYSQL_FENCE, MYSQL_FENCE, MYSQL_FENCE, MYSQL_FENCE),
    "writable_sql": (["SET GLOBAL read_only = OFF"], MYSQL_WRITABLE, MYSQL_WRITABLE, MYSQL_WRITABLE, MYSQL_WRITABLE),
    "semi_sync_off_sql": (SEMI_OFF_OLD, SEMI_OFF_OLD, SEMI_OFF_OLD, SEMI_OFF_NEW, SEMI_OFF_NEW),
    "change_source_sql": (MARIADB_CHANGE, MYSQL_OLD_CHANGE, MYSQL_OLD_CHANGE, MYSQL_NEW_CHANGE, MYSQL_NEW_CHANGE),
}
DIALECTS = (MARIADB, MYSQL57, MYSQL8021, MYSQL80, MYSQL84)


@pytest.mark.parametrize(
    ("dialect", "method", "expected"),
    [(dialect, method, row[i]) for method, row in SQL_TABLE.items() for i, dialect in enumerate(DIALECTS)],
    ids=lambda value: f"{value.flavor}-{'.'.join(map(str, value.version))}" if isinstance(value, Dialect) else None,
)
def test_sql(dialect: Dialect, method: str, expected: object) -> None:
    assert getattr(dialect, method)() == expected


@pytest.mark.parametrize(
    ("dialect", "version", "expected"),
    [
        (Dialect("mysql", (8, 0, 22)), "8.0.22", ("SHOW REPLICA STATUS", MYSQL_OLD_CHANGE, SEMI_OFF_OLD)),
        (Dialect("mysql", (8, 0, 23)), "8.0.23", ("SHOW REPLICA STATUS", MYSQL_NEW_CHANGE, SEMI_OFF_OLD)),
        (Dialect("mysql", (8, 0, 25)), "8.0.25", ("SHOW REPLICA STATUS", MYSQL_NEW_CHANGE, SEMI_OFF_OLD)),
        (Dialect("mysql", (8, 0, 26)), "8.0.26", ("SHOW REPLICA STATUS", MYSQL_NEW_CHANGE, SEMI_OFF_NEW)),
        # MariaDB version numbers are above every MySQL threshold but keep the MariaDB words.
        (Dialect("mariadb", (11, 4, 2)), "11.4.2-MariaDB", ("SHOW ALL SLAVES STATUS", MARIADB_CHANGE, SEMI_OFF_OLD)),
    ],
)
def test_version_boundaries(dialect: Dialect, version: str, expected: tuple[str, str, list[str]]) -> None:
    assert detect(version) == dialect
    assert (dialect.replica_status_sql(), dialect.change_source_sql(), dialect.semi_sync_off_sql()) == expected


def test_change_source_sql_sets_a_heartbeat_only_when_asked() -> None:
    assert MARIADB.change_source_sql(1).endswith("MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1")
    assert MYSQL84.change_source_sql(0.5).endswith("SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=0.5")
    assert "HEARTBEAT" not in MARIADB.change_source_sql() + MYSQL57.change_source_sql()


def test_change_source_sql_takes_host_port_user_password_in_order() -> None:
    for dialect in DIALECTS:
        sql = dialect.change_source_sql()
        assert re.findall(r"_([A-Z]+)=%s", sql) == ["HOST", "PORT", "USER", "PASSWORD"]
        assert sql.count("%s") == 4


@pytest.mark.parametrize(
    ("dialect", "row", "heartbeats", "expected"),
    [
        (
            MARIADB,
            MARIADB_ROW,
            None,
            ReplicaView("master2", "Yes", True, "127.0.0.1", 13400, "0-1-2", "0-1-2", 5, lag=0.0, heartbeat_period=1.0),
        ),
        (
            MARIADB,
            {**MARIADB_ROW, "Slave_IO_Running": "Preparing", "Slave_SQL_Running": "No", "Last_SQL_Error": "boom"},
            9,
            ReplicaView("master2", "Connecting", False, "127.0.0.1", 13400, "0-1-2", "0-1-2", 9, "", "boom", 0.0, 1.0),
        ),
        (
            MYSQL80,
            MYSQL80_ROW,
            41,
            ReplicaView(
                "master2",
                "Connecting",
                True,
                "10.0.0.1",
                3306,
                f"{UUID_A}:1-5,{UUID_B}:1-3",
                f"{UUID_A}:1-5,{UUID_B}:1-3,c0ffee00-0000-11ef-0000-000000000001:1",
                41,
                MYSQL80_ROW["Last_IO_Error"],
                "",
            ),
        ),
        (
            MYSQL80,
            MYSQL80_ROW,
            None,
            ReplicaView(
                "master2",
                "Connecting",
                True,
                "10.0.0.1",
                3306,
                f"{UUID_A}:1-5,{UUID_B}:1-3",
                f"{UUID_A}:1-5,{UUID_B}:1-3,c0ffee00-0000-11ef-0000-000000000001:1",
                None,
                MYSQL80_ROW["Last_IO_Error"],
                "",
            ),
        ),
        (
            MYSQL57,
            MYSQL57_ROW,
            0,
            ReplicaView(
                "master2",
                "No",
                False,
                "db1.example",
                3307,
                f"{UUID_A}:1-9",
                f"{UUID_A}:1-7",
                0,
                "",
                MYSQL57_ROW["Last_SQL_Error"],
            ),
        ),
        (
            MYSQL8021,  # 8.0.21 still answers SHOW SLAVE STATUS with the old column names
            {**MYSQL57_ROW, "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Last_SQL_Error": ""},
            3,
            ReplicaView("master2", "Yes", True, "db1.example", 3307, f"{UUID_A}:1-9", f"{UUID_A}:1-7", 3),
        ),
        (
            MYSQL80,  # a replica that never received anything: empty sets, NULL-ish columns
            {"Replica_IO_Running": "No", "Replica_SQL_Running": "No", "Source_Host": "", "Source_Port": 0},
            None,
            ReplicaView("master2", "No", False, "", 0, "", "", None),
        ),
    ],
)
def test_replica_view(dialect: Dialect, row: dict[str, Any], heartbeats: int | None, expected: ReplicaView) -> None:
    assert dialect.replica_view("master2", row, heartbeats) == expected


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], None),
        ([MARIADB_ROW], MARIADB_ROW),
        ([MARIADB_NAMED_ROW, MARIADB_ROW], MARIADB_ROW),
        ([MARIADB_NAMED_ROW], None),
        ([MYSQL80_ROW], MYSQL80_ROW),
        ([{**MYSQL80_ROW, "Channel_Name": "other"}, MYSQL80_ROW], MYSQL80_ROW),
        ([{"Slave_IO_Running": "Yes"}], {"Slave_IO_Running": "Yes"}),  # no name column at all: the only row
    ],
)
def test_pick_default_row(rows: list[dict[str, Any]], expected: dict[str, Any] | None) -> None:
    assert pick_default_row(rows) == expected


# SHOW GLOBAL STATUS answers to semi_sync_status_sql(), as name -> value.
SEMI_SYNC_ROWS: list[tuple[str, dict[str, str], tuple[bool | None, int | None]]] = [
    (
        "mariadb-10.11-source",
        {"Rpl_semi_sync_master_clients": "1", "Rpl_semi_sync_master_no_tx": "0", "Rpl_semi_sync_master_status": "ON"},
        (True, 1),
    ),
    (
        "mariadb-10.11-fell-back",
        {"Rpl_semi_sync_master_clients": "0", "Rpl_semi_sync_master_no_tx": "3", "Rpl_semi_sync_master_status": "OFF"},
        (False, 0),
    ),
    (
        "mysql-5.7-master-names",
        {"Rpl_semi_sync_master_clients": "2", "Rpl_semi_sync_master_no_tx": "0", "Rpl_semi_sync_master_status": "ON"},
        (True, 2),
    ),
    (
        "mysql-8.0.26-source-names",
        {"Rpl_semi_sync_source_clients": "1", "Rpl_semi_sync_source_no_tx": "0", "Rpl_semi_sync_source_status": "ON"},
        (True, 1),
    ),
    (
        "mysql-8.4-source-off",
        {"Rpl_semi_sync_source_clients": "0", "Rpl_semi_sync_source_no_tx": "12", "Rpl_semi_sync_source_status": "OFF"},
        (False, 0),
    ),
    ("names-in-other-case", {"RPL_SEMI_SYNC_SOURCE_STATUS": "on", "rpl_semi_sync_source_clients": "4"}, (True, 4)),
    ("mysql-no-plugin", {}, (None, None)),
    ("replica-side-only", {"Rpl_semi_sync_slave_status": "ON"}, (None, None)),
]


@pytest.mark.parametrize(
    ("status", "expected"), [row[1:] for row in SEMI_SYNC_ROWS], ids=[r[0] for r in SEMI_SYNC_ROWS]
)
def test_semi_sync(status: dict[str, str], expected: tuple[bool | None, int | None]) -> None:
    for dialect in DIALECTS:
        assert dialect.semi_sync(status) == expected


@pytest.mark.parametrize(
    ("dialect", "result", "expected"),
    [
        (MARIADB, 0, True),
        (MARIADB, -1, False),
        (MARIADB, None, False),
        (MYSQL80, 0, True),
        (MYSQL80, 1, False),
        (MYSQL57, "0", True),
        (MYSQL84, None, False),
    ],
)
def test_wait_succeeded(dialect: Dialect, result: int | str | None, expected: bool) -> None:
    assert dialect.wait_succeeded(result) is expected


def test_change_source_sql_with_tls_verifies_the_source() -> None:
    sql = MARIADB.change_source_sql(None, "/etc/mysql/ca's 100%.pem")
    assert sql.endswith("MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca\\'s 100%%.pem', MASTER_SSL_VERIFY_SERVER_CERT=1")
    assert sql.count("%s") == 4
    assert MYSQL84.change_source_sql(None, "/ca.pem", tls_verify=False).endswith(
        "SOURCE_SSL=1, SOURCE_SSL_CA='/ca.pem', SOURCE_SSL_VERIFY_SERVER_CERT=0"
    )


def test_start_sql_thread_sql() -> None:
    assert MARIADB.start_sql_thread_sql() == "START SLAVE SQL_THREAD"
    assert MYSQL84.start_sql_thread_sql() == "START REPLICA SQL_THREAD"
