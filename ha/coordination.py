"""Several monitors, one actor: this monitor's lease, its published view, and the leader key in etcd.

Once a cycle ``step`` renews the lease (one keepalive), then in one transaction publishes this
monitor's view under ``<prefix>/views/<name>`` (bound to the lease, so a dead monitor's view goes
away), takes ``<prefix>/leader`` if nobody holds it (create-if-absent, bound to the lease), and reads
every view, the leader key and the operator lock (``<prefix>/operator``) back. The leader's own
**deadline** is the start of the last keepalive that succeeded + TTL - a margin: ``may_act`` is false
past it whether or not etcd answers, so a leader cut off from etcd stops before its key can expire and
another monitor take it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ha.etcd import Etcd, EtcdError, LeaseLost, b64, parse_kv, prefix_end
from ha.quorum import View


@dataclass(frozen=True)
class Coordination:
    """What one step learned: the views, who leads, whether we do, and why not when etcd failed."""

    views: tuple[View, ...]
    leader: str | None
    leading: bool
    problem: str | None = None  # etcd unreachable or refusing: no quorum this cycle
    operator: str | None = None  # who holds <prefix>/operator (an operator's command runs): watch only

    @property
    def reachable(self) -> bool:
        return self.problem is None


def margin_for(ttl: float) -> float:
    """How long before the lease's expiry the leader stops acting: a quarter of the TTL, at least 0.5 s."""
    return max(0.5, ttl / 4)


class Coordinator:
    def __init__(
        self,
        etcd: Etcd,
        name: str,
        prefix: str,
        ttl: int,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = print,
    ) -> None:
        self.etcd, self.name, self.ttl, self.clock, self.log = etcd, name, ttl, clock, log
        self.prefix = prefix.rstrip("/")
        self.lease = 0
        self.deadline = 0.0  # monotonic: past it this monitor does not act
        self.leading = False
        self.renewed = 0.0  # monotonic start of the last renewal that succeeded
        self.last: Coordination | None = None
        self.mutex = threading.Lock()  # one etcd call at a time: the cycle's and the renewer's
        self.renewer: threading.Thread | None = None
        self.stopping = threading.Event()
        self.renew_failing = False

    @property
    def leader_key(self) -> str:
        return f"{self.prefix}/leader"

    def key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    def may_act(self) -> bool:
        """True while this monitor leads and its deadline has not passed: checked before every step."""
        return self.leading and self.clock() < self.deadline

    def guard(self) -> bool:
        """Before a plan step: renew the lease when a third of the TTL went by since the last renewal
        (one bounded keepalive; a failure leaves the deadline as it was), then ``may_act``."""
        self.renew_if_due()
        return self.may_act()

    def renew_if_due(self) -> None:
        with self.mutex:
            if self.lease and self.clock() - self.renewed > self.ttl / 3:
                try:
                    self._renew()
                    self.renew_failing = False
                except EtcdError as exc:
                    if not self.renew_failing:  # once per episode; every cycle says "no etcd quorum"
                        self.log(f"coordination: lease renewal failed: {exc}")
                    self.renew_failing = True

    def start_renewing(self) -> None:
        """Renew the lease every third of the TTL in a thread, so a plan step longer than the TTL (a
        catch-up wait) keeps the lead; a leader cut off from etcd still passes its deadline."""
        if self.renewer is None:
            self.renewer = threading.Thread(target=self._renew_loop, name="etcd-lease", daemon=True)
            self.renewer.start()

    def _renew_loop(self) -> None:
        while not self.stopping.wait(self.ttl / 6):
            self.renew_if_due()

    def left(self) -> float:
        return self.deadline - self.clock()

    def _renew(self) -> None:
        sent = self.clock()
        if self.lease:
            try:
                self.etcd.keepalive(self.lease)
            except LeaseLost:
                self.log(f"coordination: lease {self.lease:x} expired; taking a new one")
                self.lease, self.leading = 0, False
        if not self.lease:
            sent = self.clock()
            self.lease = self.etcd.grant(self.ttl)
        self.deadline = sent + self.ttl - margin_for(self.ttl)
        self.renewed = sent

    def step(self, view: View) -> Coordination:
        """Renew, publish, try to lead, read back; never raises (a failure is ``problem``)."""
        with self.mutex:
            return self._step(view)

    def _step(self, view: View) -> Coordination:
        try:
            if not self.lease or self.clock() - self.renewed > self.ttl / 3:
                self._renew()
            leader, lease = b64(self.leader_key), str(self.lease)
            views = {"key": b64(self.key("views", "")), "range_end": prefix_end(self.key("views", ""))}
            publish = {
                "request_put": {"key": b64(self.key("views", self.name)), "value": b64(view.to_text()), "lease": lease}
            }
            operator = {"request_range": {"key": b64(self.key("operator"))}}
            reads = [{"request_range": views}, {"request_range": {"key": leader}}, operator]
            take = {"request_put": {"key": leader, "value": b64(self.name), "lease": lease}}
            compare = [{"key": leader, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
            answer = self.etcd.txn(compare, [publish, take, *reads], [publish, *reads])
        except EtcdError as exc:
            self.leading = self.leading and self.clock() < self.deadline
            found = Coordination(self.last.views if self.last else (), None, self.may_act(), str(exc))
            self.last = found
            return found
        responses = answer.get("responses") or []
        ranges = [r["response_range"] for r in responses if "response_range" in r]
        kvs = [parse_kv(item) for item in ranges[0].get("kvs", [])] if ranges else []
        holder = [parse_kv(item) for item in ranges[1].get("kvs", [])] if len(ranges) > 1 else []
        busy = [parse_kv(item).value for item in ranges[2].get("kvs", [])] if len(ranges) > 2 else []
        views_read = []
        for item in kvs:
            try:
                views_read.append(View.from_text(item.value))
            except ValueError:
                self.log(f"coordination: ignoring {item.key}: not a mysqlha view")
        leader_name = holder[0].value if holder else None
        was = self.leading
        self.leading = bool(holder) and holder[0].value == self.name and holder[0].lease == self.lease
        if self.leading and not was:
            self.log(f"coordination: {self.name} leads (lease {self.lease:x}, TTL {self.ttl} s)")
        elif was and not self.leading:
            self.log(f"coordination: {self.name} no longer leads (leader: {leader_name or 'none'})")
        self.last = Coordination(tuple(views_read), leader_name, self.may_act(), operator=busy[0] if busy else None)
        return self.last

    def resign(self) -> None:
        """Give the lead and the view up at once (SIGTERM): revoke the lease, best effort."""
        self.stopping.set()
        if self.lease:
            try:
                self.etcd.revoke(self.lease)
            except EtcdError as exc:
                self.log(f"coordination: could not revoke the lease: {exc}")
        self.lease, self.leading, self.deadline = 0, False, 0.0
