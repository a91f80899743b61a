"""The state in etcd (``<prefix>/state``) for coordinated monitors: every monitor reads it, only the
leader writes it, and each write is a transaction that succeeds only while ``<prefix>/leader`` still
holds this monitor's name under its lease. A new leader resumes an interrupted plan at the first step
not done, because every step's progress was written this way before the next step ran.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ha.coordination import Coordinator
from ha.errors import MysqlhaError
from ha.etcd import EtcdError, b64
from ha.model import DaemonState
from ha.state import LockBusy

OPERATOR_TTL = 10  # seconds the operator lock outlives a command that died without releasing it


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
        self.operator_key = coordinator.key("operator")
        self.cached: DaemonState | None = None  # the last state read or written (used while etcd is away)
        self.revision = 0  # the state key's mod revision when last read or written (0: absent)
        self.held = 0  # an operator's command: the lease of the operator lock it holds (0: none)

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
        if self.held:  # an operator's write lands only while its lock is still its own
            mine = {"key": b64(self.operator_key), "target": "LEASE", "result": "EQUAL", "lease": str(self.held)}
            compare.append(mine)
        if not self.operator:
            leader = b64(coordinator.leader_key)
            compare += [
                {"key": leader, "target": "VALUE", "result": "EQUAL", "value": b64(coordinator.name)},
                {"key": leader, "target": "LEASE", "result": "EQUAL", "lease": str(coordinator.lease)},
                {"key": b64(self.operator_key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"},
            ]
        text = json.dumps(state.to_json(), sort_keys=True)
        try:
            revision = self.etcd.put_if(compare, {self.key: text})
        except EtcdError as exc:
            raise NotLeading(f"state not written: {exc}") from exc
        if revision is None:
            self.load()  # the next decision starts from what is there now
            if self.operator:
                raise MysqlhaError(
                    f"etcd {self.key}: the state changed meanwhile (the leader acted), or the operator lock "
                    f"{self.operator_key} expired; run it again"
                )
            raise NotLeading(
                f"{coordinator.name} lost the leader key, an operator command holds {self.operator_key}, "
                "or the state changed meanwhile: not written"
            )
        self.revision = revision
        self.cached = state

    @contextmanager
    def lock(self, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        """The daemon: leadership is its lock (nothing to take). An operator's command: ``<prefix>/operator``,
        created only if absent and bound to a lease of ``OPERATOR_TTL`` s kept alive while the command
        runs; the leader watches only while it exists and cannot write the state. LockBusy when another
        command holds it past ``timeout``; a command that dies loses it within the TTL."""
        if not self.operator:
            yield
            return
        etcd, who = self.etcd, f"{self.coordinator.name} pid {os.getpid()}"
        lease = etcd.grant(OPERATOR_TTL)
        deadline = time.monotonic() + (timeout or 0.0)
        try:
            while True:
                created, holder = etcd.create(self.operator_key, who, lease)
                if created:
                    break
                if not blocking or time.monotonic() > deadline:
                    held = holder.value if holder else "another command"
                    raise LockBusy(f"etcd {self.operator_key}: {held} holds the operator lock")
                time.sleep(0.2)
            self.held = lease
            done = threading.Event()
            keeper = threading.Thread(target=self._keep, args=(lease, done), name="etcd-operator", daemon=True)
            keeper.start()
            try:
                yield
            finally:
                done.set()
                keeper.join(etcd.options.timeout * len(etcd.options.endpoints) + 1)
        finally:
            self.held = 0
            try:
                etcd.revoke(lease)  # the lock key goes with it
            except EtcdError:
                pass  # it expires within OPERATOR_TTL

    def _keep(self, lease: int, done: threading.Event) -> None:
        while not done.wait(OPERATOR_TTL / 4):
            try:
                self.etcd.keepalive(lease)
            except EtcdError:
                continue  # tried again; the command's own writes fail if the lock is really gone
