"""The state in etcd (``<prefix>/state``) for coordinated monitors: every monitor reads it, only the
leader writes it, and each write is a transaction that succeeds only while ``<prefix>/leader`` still
holds this monitor's name under its lease. A new leader resumes an interrupted plan at the first step
not done, because every step's progress was written this way before the next step ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from ha.coordination import Coordinator
from ha.errors import MysqlhaError
from ha.etcd import EtcdError
from ha.model import DaemonState


class NotLeading(MysqlhaError):
    """A write was refused: this monitor does not lead (any more), or its deadline passed."""


class EtcdStateStore:
    """The StateStore interface (load, save, lock) over etcd, guarded by the leader's lease."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator
        self.etcd = coordinator.etcd
        self.key = coordinator.key("state")
        self.cached: DaemonState | None = None  # the last state read or written (used while etcd is away)

    def load(self) -> DaemonState:
        """The shared state; the last one seen when etcd does not answer (MysqlhaError if none yet)."""
        try:
            found = self.etcd.get(self.key)
        except EtcdError:
            if self.cached is None:
                raise
            return self.cached
        if found is None:
            state = DaemonState()
        else:
            try:
                state = DaemonState.from_json(json.loads(found.value))
            except (ValueError, TypeError) as exc:
                raise MysqlhaError(f"etcd {self.key}: unreadable state: {exc}") from exc
        self.cached = state
        return state

    def save(self, state: DaemonState) -> None:
        """Write only as the leader, before the deadline, and only while the leader key is ours."""
        coordinator = self.coordinator
        if not coordinator.may_act():
            raise NotLeading(f"{coordinator.name} does not lead (or its deadline passed): state not written")
        text = json.dumps(state.to_json(), sort_keys=True)
        try:
            written = self.etcd.guarded_put(
                coordinator.leader_key, coordinator.name, coordinator.lease, {self.key: text}
            )
        except EtcdError as exc:
            raise NotLeading(f"state not written: {exc}") from exc
        if not written:
            coordinator.leading = False
            raise NotLeading(f"{coordinator.name} lost the leader key: state not written")
        self.cached = state

    @contextmanager
    def lock(self, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Leadership is the lock between monitors; within one daemon there is nothing to take."""
        yield
