"""The history in etcd for coordinated monitors: one JSON record per key under ``<prefix>/history/``.

Keys are ``<prefix>/history/<epoch microseconds, 20 digits>-<monitor>-<count><random>``, so a key range is a
time range (``--since`` reads from one key on) and old records go with one delete-range. Records are
read back in write order (etcd's create revision). The daemon writes the way it writes the state: in a
transaction that compares the leader key's value and lease, so only the current leader's records land;
a follower leaves the history to the leader (its events reach its log, hooks and metrics). An
operator's command writes unguarded, as ``EtcdStateStore(operator=True)`` does.

Retention: records older than ``logging.history_keep_days`` (90 days by default, as for the file) are
deleted in the same transaction as each new record, and at most ``KEEP_RECORDS`` (the newest) are kept.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from ha.config import Config
from ha.coordination import Coordinator
from ha.etcd import Etcd, b64
from ha.etcdstore import NotLeading
from ha.history import History, HistoryLog
from ha.timefmt import iso

KEEP_RECORDS = 5000
PAGE = 200  # records per read: well under the client's answer limit even with long step lists
TRIM_EVERY = 100  # records written by one process between two trims by count


def stamp(wall: float) -> str:
    return f"{max(0, int(wall * 1_000_000)):020d}"


class EtcdHistory:
    """The History interface (record, read) over ``<prefix>/history/``; ``leader``: the daemon's
    coordinator whose lease guards each write (None: an operator's command, unguarded)."""

    def __init__(
        self,
        etcd: Etcd,
        prefix: str,
        writer: str,
        leader: Coordinator | None = None,
        keep_seconds: float = 90 * 86400,
        keep_records: int = KEEP_RECORDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.etcd, self.writer, self.leader, self.wall = etcd, writer, leader, wall
        self.keep_seconds, self.keep_records = keep_seconds, keep_records
        self.base = prefix.rstrip("/") + "/history/"
        self.end = prefix.rstrip("/") + "/history0"  # just past every key under base ("0" follows "/")
        self.path = self.base  # what messages name
        self.written = 0

    def _guard(self) -> list[dict[str, Any]]:
        if self.leader is None:
            return []
        key = b64(self.leader.leader_key)
        return [
            {"key": key, "target": "VALUE", "result": "EQUAL", "value": b64(self.leader.name)},
            {"key": key, "target": "LEASE", "result": "EQUAL", "lease": str(self.leader.lease)},
        ]

    def record(self, event: str, **fields: Any) -> dict[str, Any] | None:
        """Write one record (None values left out) with the records past their age deleted; None when
        this monitor follows (the leader records). NotLeading when the guard fails, EtcdError when etcd
        does not answer within its timeout."""
        leader = self.leader
        if leader is not None and not leader.leading:
            return None
        if leader is not None and not leader.may_act():
            raise NotLeading(f"{leader.name}'s deadline passed: not written to {self.base}")
        now = self.wall()
        entry = {"time": round(now, 3), "at": iso(now), "event": event, "monitor": self.writer}
        entry.update({key: value for key, value in fields.items() if value is not None})
        key = f"{self.base}{stamp(now)}-{self.writer}-{self.written:06d}{secrets.token_hex(2)}"
        old = {"key": b64(self.base), "range_end": b64(self.base + stamp(now - self.keep_seconds))}
        put = {"key": b64(key), "value": b64(json.dumps(entry, default=str))}
        answer = self.etcd.txn(self._guard(), [{"request_put": put}, {"request_delete_range": old}], [])
        if not answer.get("succeeded"):
            raise NotLeading(f"{self.writer} lost the leader key: not written to {self.base}")
        self.written += 1
        if self.written % TRIM_EVERY == 1:
            self.trim()
        return entry

    def trim(self) -> int:
        """Delete all but the newest ``keep_records`` records; how many went."""
        newest = self.etcd.scan(self.base, self.end, self.keep_records + 1, True, True)
        if len(newest) <= self.keep_records:
            return 0
        boundary = newest[-1].key  # the newest record that goes: it and everything older
        doomed = {"key": b64(self.base), "range_end": b64(boundary + "\0")}
        answer = self.etcd.txn(self._guard(), [{"request_delete_range": doomed}], [])
        responses = answer.get("responses") or [{}]
        return int(responses[0].get("response_delete_range", {}).get("deleted", 0))

    def read(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Every record (written at or after ``since``), in write order; a damaged one is skipped."""
        start = self.base if since is None else self.base + stamp(since)
        end = self.end
        found = []
        while True:
            page = self.etcd.scan(start, end, PAGE)
            found += page
            if len(page) < PAGE:
                break
            start = page[-1].key + "\0"
        for item in sorted(found, key=lambda kv: kv.create_revision):
            try:
                entry = json.loads(item.value)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry


def history_for(config: Config, wall: Callable[[], float] = time.time, leader: Coordinator | None = None) -> HistoryLog:
    """The one place the backend is chosen: the file beside the state file for a single monitor; with
    ``coordination``, etcd, guarded by ``leader`` (the daemon's coordinator) or as an operator (None)."""
    setting = config.coordination
    if setting is None:
        return History.for_config(config, wall)
    from ha.coordstatus import etcd_client

    etcd = leader.etcd if leader is not None else etcd_client(config)
    keep = config.logging.history_keep_days * 86400
    return EtcdHistory(etcd, setting.etcd.prefix, setting.name, leader, keep_seconds=keep, wall=wall)
