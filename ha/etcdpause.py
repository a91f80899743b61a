"""The pause flag in etcd (``<prefix>/pause``) when several monitors share it: an operator's
``mysqlha pause`` on any host holds every monitor, and the leader, whichever it is, honours it.

Operators write it (not only the leader: it is not the phase); while etcd does not answer, the last
value read stands (no failover starts without etcd anyway).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from ha.config import Config
from ha.coordstatus import etcd_client
from ha.errors import MysqlhaError
from ha.etcd import Etcd, EtcdError
from ha.pause import Pause, PauseStore


class EtcdPauseStore:
    """PauseStore's interface (load, save, clear, active) over one etcd key."""

    def __init__(self, etcd: Etcd, key: str) -> None:
        self.etcd, self.key = etcd, key
        self.path = key  # what messages name
        self.cached: Pause | None = None

    def load(self) -> Pause | None:
        try:
            found = self.etcd.get(self.key)
        except EtcdError:
            return self.cached
        if found is None:
            self.cached = None
            return None
        try:
            data = json.loads(found.value)
            pause = Pause(float(data["since"]), None if data.get("until") is None else float(data["until"]))
            pause = Pause(pause.since, pause.until, str(data.get("reason") or ""), str(data.get("by") or ""))
        except (ValueError, TypeError, KeyError) as exc:
            raise MysqlhaError(f"etcd {self.key}: unreadable pause: {exc}; run `mysqlha resume`") from exc
        self.cached = pause
        return pause

    def save(self, pause: Pause) -> None:
        self.etcd.put(self.key, json.dumps(asdict(pause)))
        self.cached = pause

    def clear(self) -> Pause | None:
        try:
            pause = self.load()
        except MysqlhaError:
            pause = None
        self.etcd.delete(self.key)
        self.cached = None
        return pause

    def active(self, now: float) -> tuple[Pause | None, Pause | None]:
        pause = self.load()
        if pause is not None and pause.expired(now):
            try:
                self.etcd.delete(self.key)
            except EtcdError:
                return None, None  # said when etcd answers again
            self.cached = None
            return None, pause
        return pause, None


def pause_store_for(config: Config) -> PauseStore | EtcdPauseStore:
    """The pause file beside the state file; with several monitors, the key in etcd they share."""
    if config.coordination is None:
        return PauseStore.for_state(config.failover.state_file)
    return EtcdPauseStore(etcd_client(config), config.coordination.etcd.prefix.rstrip("/") + "/pause")
