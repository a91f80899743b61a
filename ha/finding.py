"""One live-check finding: the node, what is wrong, what to run to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    node: str
    problem: str
    fix: str
    severity: str = "error"  # or "warning"

    def summary(self) -> str:
        """``node: problem``, without the fix (where one line per difference is listed)."""
        return f"{self.node}: {self.problem}"

    def lines(self) -> list[str]:
        head = "warning: " if self.severity == "warning" else ""
        return [f"{head}{self.summary()}", f"  fix: {self.fix}"]

    def to_json(self) -> dict[str, str]:
        return asdict(self)
