"""The state in etcd (``<prefix>/state``) for coordinated monitors: every monitor reads it, only the
leader writes it, and each write is a transaction that succeeds only while ``<prefix>/leader`` still
holds this monitor's name under its lease. A new leader resumes an interrupted plan at the first step
not done, because every step's progress was written this way before the next step ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ha.coordination import Coordinator
from ha.errors import MysqlhaError
from ha.etcd import EtcdError, b64
from ha.model import DaemonState


class NotLeading(MysqlhaError):
    """A write was refused: this monitor does not lead (any more), or its deadline passed."""


class EtcdStateStore:
    """The StateStore interface (load, save, lock) over etcd. Every write also compares the state key's
    revision with the one last read or written (compare-and-swap), so no writer clobbers a change it did
    not see. The daemon (``operator=False``) writes only as the leader within its deadline, guarded by
    the leader key and lease; an operator's command writes with the compare-and-swap alone."""

    def __init__(self, coordinator: Coordinator, operator: bool = False) -> None:
        self.coordinator = coordinator
        self.operator = operator
        self.etcd = coordinator.etcd
        self.key = coordinator.key("state")
        self.cached: DaemonState | None = None  # the last state read or written (used while etcd is away)
        self.revision = 0  # the state key's mod revision when last read or written (0: absent)

    def load(self) -> DaemonState:
        """The shared state; the last one seen when etcd does not answer (MysqlhaError if none yet)."""
        try:
            found = self.etcd.get(self.key)
        except EtcdError:
            if self.cached is None:
                raise
            return self.cached
        if found is None:
            state, self.revision = DaemonState(), 0
        else:
            try:
                state = DaemonState.from_json(json.loads(found.value))
            except (ValueError, TypeError) as exc:
                raise MysqlhaError(f"etcd {self.key}: unreadable state: {exc}") from exc
            self.revision = found.mod_revision
        self.cached = state
        return state

    def save(self, state: DaemonState) -> None:
        """The daemon: only as the leader, before the deadline, while the leader key is ours; anyone:
        only if nobody wrote the state since this store last read or wrote it."""
        coordinator = self.coordinator
        if not self.operator and not coordinator.may_act():
            raise NotLeading(f"{coordinator.name} does not lead (or its deadline passed): state not written")
        compare: list[dict[str, Any]] = [
            {"key": b64(self.key), "target": "MOD", "result": "EQUAL", "mod_revision": str(self.revision)}
        ]
        if not self.operator:
            leader = b64(coordinator.leader_key)
            compare += [
                {"key": leader, "target": "VALUE", "result": "EQUAL", "value": b64(coordinator.name)},
                {"key": leader, "target": "LEASE", "result": "EQUAL", "lease": str(coordinator.lease)},
            ]
        text = json.dumps(state.to_json(), sort_keys=True)
        try:
            revision = self.etcd.put_if(compare, {self.key: text})
        except EtcdError as exc:
            raise NotLeading(f"state not written: {exc}") from exc
        if revision is None:
            self.load()  # the next decision starts from what is there now
            if self.operator:
                raise MysqlhaError(f"etcd {self.key}: the state changed meanwhile (the leader acted); run it again")
            raise NotLeading(f"{coordinator.name} lost the leader key, or the state changed meanwhile: not written")
        self.revision = revision
        self.cached = state

    @contextmanager
    def lock(self, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Leadership (and the compare-and-swap) is the lock between monitors and operators."""
        yield
