"""Line-aware YAML: the data, the line of every key, and every key given twice in one mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class Located:
    """What ``yaml.safe_load`` gives, plus where each key is (dotted path -> 1-based line)."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: tuple[tuple[str, int, int], ...] = ()  # (dotted key, line, line of the first one)


def load_located(text: str) -> Located:
    """Parse ``text`` with the safe loader; raise yaml.YAMLError as safe_load does."""
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []
    loader = yaml.SafeLoader(text)
    try:  # one parse: compose the node tree, walk it (before construction flattens merge keys), construct
        root = loader.get_single_node()
        if root is not None:
            _walk(root, "", lines, duplicates, set())
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return Located(data, lines, tuple(duplicates))


def _walk(
    node: yaml.Node,
    prefix: str,
    lines: dict[str, int],
    duplicates: list[tuple[str, int, int]],
    walked: set[int],
) -> None:
    if id(node) in walked:
        return  # an alias: its keys were seen where the anchor is (and aliases cannot blow this up)
    walked.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, f"{prefix}[{index}]", lines, duplicates, walked)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
            continue  # a merge key or a complex key: safe_load's own rules apply
        key = str(key_node.value)
        dotted = f"{prefix}.{key}" if prefix else key
        line = key_node.start_mark.line + 1
        if key in seen:
            duplicates.append((dotted, line, seen[key]))
        else:
            seen[key] = line
            lines[dotted] = line
        _walk(value_node, dotted, lines, duplicates, walked)
