"""Three monitors, one actor: real etcd (3 members), real MariaDB, real supervisord and HAProxy, the
real daemons (mysqlcheck1..3 under supervisord)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from conftest import needs_servers, wait_for
from monitorlab import DEADLINE, FAILURES, INTERVAL, MONITORS, all_logs, count, history, leader
from test_daemon import write_port

from ha.sandbox.cluster import Sandbox
from tests.etcdfixture import HAVE_ETCD

pytestmark = [needs_servers, pytest.mark.skipif(not HAVE_ETCD, reason="etcd-server is not installed")]


def three_monitors(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    box = make_sandbox(interval=INTERVAL, failures=FAILURES, monitors=MONITORS)
    wait_for(lambda: all(lines.count("ok") >= 4 for lines in all_logs(box).values()), 40, "every monitor's checks")
    wait_for(lambda: leader(box), 20, "a leader")
    return box


def test_master1_killed_one_failover_by_the_leader_recorded_once(make_sandbox: Callable[..., Sandbox]) -> None:
    box = three_monitors(make_sandbox)
    chief = leader(box)
    box.server("M1").kill()
    m2 = box.config.candidate.port
    wait_for(lambda: write_port(box) == m2, DEADLINE, "writes through the master port landing on M2")
    wait_for(lambda: sum(count(box, "failover finished! : master2 is new master").values()) == 1, 10, "the end")
    time.sleep(INTERVAL * (FAILURES + 2))
    starts = count(box, "master1 failing: failover starting")
    assert starts == {name: int(name == chief) for name in starts}, starts
    records = [r for name in starts for r in history(box, name) if r["event"] == "failover"]
    assert len(records) == 1 and records[0]["case"] == "master_down"
    for name, lines in all_logs(box).items():
        assert "master1 fail detected!" in lines
        if name != chief:
            assert any(line.startswith("  following ") for line in lines)
