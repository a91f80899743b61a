"""What a cycle found, as a value: the failure classes decide tells apart (orchestrator's analysis codes).

Each class has a ``kind`` (snake_case) that the state file, ``mysqlha status``, hooks
(``MYSQLHA_ANALYSIS``) and metrics (``mysqlha_analysis{kind}``) carry. Only ``MasterDown`` and
``CandidateDown`` are acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, get_args

from ha.model import Case, Phase


@dataclass(frozen=True)
class AllHealthy:
    kind: ClassVar[str] = "all_healthy"


@dataclass(frozen=True)
class Failing:
    """A node failed checks in a row, fewer than the threshold (the worst one; master first on a tie)."""

    kind: ClassVar[str] = "failing"
    node: str
    failures: int
    threshold: int


@dataclass(frozen=True)
class MasterDown:
    """Actionable: the master is gone, its replicas agree, promoting the candidate loses nothing."""

    kind: ClassVar[str] = "master_down"
    node: str


@dataclass(frozen=True)
class CandidateDown:
    """Actionable: the candidate is gone and its replicas agree; only reads move."""

    kind: ClassVar[str] = "candidate_down"
    node: str


@dataclass(frozen=True)
class UnreachableFromMonitorOnly:
    """Not actionable: the node fails our checks but its replicas still hear from it."""

    kind: ClassVar[str] = "unreachable_from_monitor_only"
    node: str
    heard: tuple[str, ...]


@dataclass(frozen=True)
class BothFailing:
    """Not actionable: master and candidate both fail; nothing can be promoted safely."""

    kind: ClassVar[str] = "both_failing"


@dataclass(frozen=True)
class CandidateUnasked:
    """Not yet actionable: the master is failing, but the candidate cannot say what it received."""

    kind: ClassVar[str] = "candidate_unasked"
    node: str
    why: str


@dataclass(frozen=True)
class DataRiskRefused:
    """Refused until an operator acknowledges: promoting could lose acknowledged writes."""

    kind: ClassVar[str] = "data_risk_refused"
    node: str
    reason: str


@dataclass(frozen=True)
class FailoverVetoed:
    """Not acted on this cycle: the pre_failover hook said no (asked again next cycle)."""

    kind: ClassVar[str] = "failover_vetoed"
    node: str
    case: Case
    reason: str


@dataclass(frozen=True)
class FailoverPaused:
    """Not acted on: an operator paused automatic failover (`mysqlha pause`); asked again each cycle."""

    kind: ClassVar[str] = "failover_paused"
    node: str
    case: Case
    by: str


@dataclass(frozen=True)
class GrantsMissing:
    """Not acted on: the monitor user lacks a grant the plan needs (checked before step 1); asked again
    each cycle, nothing touched."""

    kind: ClassVar[str] = "grants_missing"
    node: str
    case: Case
    reason: str


@dataclass(frozen=True)
class CandidateCannotApply:
    """Not acted on: the candidate's SQL thread cannot apply what it received (it stopped again with an
    error after a start, or both threads were stopped by hand); checked before step 1, nothing touched."""

    kind: ClassVar[str] = "candidate_cannot_apply"
    node: str
    case: Case
    reason: str


@dataclass(frozen=True)
class Resuming:
    """A plan was interrupted (restart, failed step): carry on from the first step not done."""

    kind: ClassVar[str] = "resuming"
    case: Case
    step: int


@dataclass(frozen=True)
class WaitingForOperator:
    """After a failover, refusal or switchover: watch, fence, never act again until an operator does."""

    kind: ClassVar[str] = "waiting_for_operator"
    phase: Phase
    fencing: str | None = None  # the old master found writable, fenced this cycle


@dataclass(frozen=True)
class NotAgreed:
    """Not actionable (several monitors): this monitor sees the node failing, a majority of the
    configured monitors does not (yet)."""

    kind: ClassVar[str] = "not_agreed"
    node: str
    says: str


@dataclass(frozen=True)
class NoQuorum:
    """Not acted on (several monitors): etcd has no quorum for this monitor (unreachable, or writes
    failing), so no failover; checks, logs and fencing of the old master go on."""

    kind: ClassVar[str] = "no_quorum"
    node: str | None
    why: str


@dataclass(frozen=True)
class Following:
    """Several monitors: another monitor leads and acts; this one checks, logs and publishes its view."""

    kind: ClassVar[str] = "following"
    leader: str | None


@dataclass(frozen=True)
class OperatorBusy:
    """An operator command holds the state lock: this cycle only checks and logs."""

    kind: ClassVar[str] = "operator_busy"


Analysis = (
    AllHealthy
    | Failing
    | MasterDown
    | CandidateDown
    | UnreachableFromMonitorOnly
    | BothFailing
    | CandidateUnasked
    | DataRiskRefused
    | FailoverVetoed
    | FailoverPaused
    | GrantsMissing
    | CandidateCannotApply
    | Resuming
    | WaitingForOperator
    | OperatorBusy
    | NotAgreed
    | NoQuorum
    | Following
)
ANALYSES: tuple[str, ...] = tuple(cls.kind for cls in get_args(Analysis))
