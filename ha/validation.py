"""Typed reads of a YAML mapping that collect every problem (file, key, what was expected)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REQUIRED = object()


class Reader:
    """Typed access to YAML mappings that collects problems instead of raising."""

    def __init__(self, path: str, read_secrets: bool = True) -> None:
        self.path = path
        self.read_secrets = read_secrets
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: {key}: {message}")

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            got = "nothing" if value is None else kind_of(value)
            self.problem(key, f"expected a mapping, got {got}")
            return {}
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
