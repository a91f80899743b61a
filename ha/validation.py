"""Typed reads of a YAML mapping that collect every problem (file, line, key, what was expected)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from ha.schema import LOG_FORMATS, REQUIRED, ROLES, Field, Section

PYTHON_KINDS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "seconds": (int, float),
    "boolean": bool,
    "port": int,
    "role": str,
    "log_format": str,
    "days": (int, float),
    "bytes": int,
}
EXPECTED = {
    "integer": "a whole number >= 1",
    "seconds": "seconds > 0",
    "port": "a TCP port (1-65535)",
    "role": "master or candidate or replica",
    "log_format": " or ".join(LOG_FORMATS),
    "days": "days > 0",
    "bytes": "bytes >= 4096",
}
CHECKS: dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: v >= 1,
    "seconds": lambda v: v > 0,
    "port": lambda v: 0 < v < 65536,
    "role": lambda v: v in ROLES,
    "log_format": lambda v: v in LOG_FORMATS,
    "days": lambda v: v > 0,
    "bytes": lambda v: v >= 4096,
}


class Reader:
    """Typed access to YAML mappings that collects problems and warnings instead of raising."""

    def __init__(self, path: str, read_secrets: bool = True, lines: dict[str, int] | None = None) -> None:
        self.path = path
        self.read_secrets = read_secrets
        self.lines = lines or {}
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.meant: set[str] = set()  # absent dotted keys an unknown key was reported as a near miss of

    def where(self, key: str) -> str:
        """``path:line`` of ``key`` (or of its nearest parent the YAML has), else ``path``."""
        parts = key.split(".")
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return f"{self.path}:{line}"
            parts.pop()
        return self.path

    def problem(self, key: str, message: str, at: str | None = None) -> None:
        """One problem; ``at`` is the dotted key to take the line from when ``key`` is shown differently.

        Dropped when ``key`` (or a parent) is the absent key a reported typo meant: ``backend:`` says "did
        you mean 'backends'?" once, not that and "backends: missing" too.
        """
        parts = key.split(".")
        if any(".".join(parts[:end]) in self.meant for end in range(1, len(parts) + 1)):
            return
        self.problems.append(f"{self.where(at or key)}: {key}: {message}")

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.where(key)}: {key}: {message}")

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            got = "nothing" if value is None else kind_of(value)
            self.problem(key, f"expected a mapping, got {got}")
            return {}
        return value

    def unknown(self, data: dict[str, Any], prefix: str, section: Section) -> None:
        """Every key of ``data`` that ``section`` does not define is a problem, with a did-you-mean."""
        known = list(section.fields)
        for key in data:
            if str(key) in section.fields:
                continue
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.7)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(known)}"
            shown = str(key) if str(key).isprintable() else repr(key)
            name = f"{prefix}.{shown}" if prefix else shown
            self.problem(name, f"unknown key; {hint}", at=f"{prefix}.{key}" if prefix else str(key))
            if close and close[0] not in data:
                self.meant.add(f"{prefix}.{close[0]}" if prefix else close[0])

    def field(
        self,
        data: dict[str, Any],
        prefix: str,
        key: str,
        spec: Field,
        check: Callable[[Any], bool] | None = None,
        expected: str = "",
    ) -> Any:
        """``key`` read as ``spec`` says (kind, default, floor)."""
        kind = PYTHON_KINDS[spec.kind]
        expected = expected or EXPECTED.get(spec.kind, "")
        value = self.get(data, prefix, key, kind, spec.default, check or CHECKS.get(spec.kind), expected)
        floor = spec.floor
        if floor is not None and isinstance(value, (int, float)) and value < floor and key in data:
            if spec.why:
                self.problem(f"{prefix}.{key}", f"{value:g} s is below the floor of {floor:g} s: {spec.why}")
            else:
                self.problem(
                    f"{prefix}.{key}", f"expected {EXPECTED.get(spec.kind, f'at least {floor:g}')}, got {value!r}"
                )
            return spec.default if spec.default is not REQUIRED else None
        return value

    def get(
        self,
        data: dict[str, Any],
        prefix: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = REQUIRED,
        check: Callable[[Any], bool] | None = None,
        expected: str = "",
    ) -> Any:
        name = f"{prefix}.{key}"
        if key not in data or data[key] is None:
            if default is REQUIRED:
                self.problem(name, f"missing; expected {expected or kind_name(kind)}")
            return None if default is REQUIRED else default
        value = data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float, (int, float)))
        if not ok or (check is not None and not check(value)):
            self.problem(name, f"expected {expected or kind_name(kind)}, got {value!r}")
            return None if default is REQUIRED else default
        return value

    def names(self, data: dict[str, Any], prefix: str, key: str, known: dict[str, Any]) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{prefix}.{key}", f"expected a list of program names, got {value!r}")
            return ()
        for item in value:
            if item not in known:
                self.problem(f"{prefix}.{key}", f"unknown program {item!r}; expected one of proxies.programs")
        return tuple(value)


def kind_of(value: Any) -> str:
    return type(value).__name__


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def positive(value: float) -> bool:
    return value > 0


def port_ok(value: int) -> bool:
    return 0 < value < 65536
