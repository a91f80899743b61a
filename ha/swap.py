"""Swap the master and candidate roles in a topology, so the daemon can guard the new layout.

After master1 failed (or a switchover) and rejoined as master2's semi-sync replica, keeping master2
as master means describing that layout in the config: master2 becomes the master, master1 the
candidate, the proxies that now serve become the normal set, and the failure cases follow:

- the new master fails: stop the new normal set, start the write programs that route to the old
  master (now the candidate) and the read programs of the old case 2 (the replicas of the old
  master, which follow it);
- the new candidate fails: reads already avoid it, so nothing moves.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ha.config import Config


def swapped(data: dict[str, Any], config: Config) -> dict[str, Any]:
    """The YAML mapping ``data`` (parsed as ``config``) with master and candidate roles swapped."""
    new = copy.deepcopy(data)
    old_master, old_candidate = config.master.name, config.candidate.name
    nodes = new["nodes"]
    nodes[old_candidate]["role"] = "master"
    nodes[old_candidate].pop("source", None)
    nodes[old_master]["role"] = "candidate"
    nodes[old_master]["source"] = old_candidate
    proxies = config.proxies
    to_old_master = [n for n in proxies.normal if proxies.programs[n].backends == (old_master,)]
    new["proxies"]["normal"] = list(proxies.master_down.start)
    new["proxies"]["master_down"] = {
        "stop": list(proxies.master_down.start),
        "start": [*to_old_master, *proxies.candidate_down.start],
    }
    new["proxies"]["candidate_down"] = {"stop": [], "start": []}
    return new


def swapped_text(text: str, old: dict[str, Any], new: dict[str, Any], note: str) -> str:
    """``text`` (the YAML of ``old``) with every section that differs in ``new`` rewritten.

    A changed top-level section in block style is rewritten key by key (``nodes.master2``,
    ``proxies.normal``), so the comments on its unchanged keys stay; a comment on a rewritten key
    (it described the old layout) goes. Every other line is kept as it was; a rewritten top-level
    section starts with ``note``. Should the result not read back as ``new``, whole sections are
    rewritten instead.
    """
    lines = text.splitlines(keepends=True)
    for nested in (True, False):
        result = "".join(_rewrite(lines, old, new, note, "", nested))
        if yaml.safe_load(result) == new:
            return result
    return result


def _rewrite(
    lines: list[str], old: dict[str, Any], new: dict[str, Any], note: str, indent: str, nested: bool
) -> list[str]:
    """``lines`` (the keys of ``old`` at ``indent``) with each key whose value differs in ``new`` re-dumped."""
    starts = [i for i, line in enumerate(lines) if _is_key(line, indent)]
    out = list(lines)
    for position in reversed(range(len(starts))):
        start = starts[position]
        key = lines[start].split(":", 1)[0].strip()
        if key not in new or old.get(key) == new[key]:
            continue
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        while end - 1 > start and (lines[end - 1].lstrip().startswith("#") or not lines[end - 1].strip()):
            end -= 1  # comments and blank lines just above the next key belong to it
        head = [f"# {note}\n"] if not indent else []
        value, was = new[key], old.get(key)
        block_style = not lines[start].split(":", 1)[1].split("#", 1)[0].strip()
        if nested and not indent and block_style and isinstance(value, dict) and isinstance(was, dict):
            if set(value) == set(was):
                out[start:end] = [
                    *head,
                    lines[start],
                    *_rewrite(lines[start + 1 : end], was, value, note, "  ", nested),
                ]
                continue
        dumped = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=None, width=120)
        out[start:end] = [*head, *(indent + line for line in dumped.splitlines(keepends=True))]
    return out


def _is_key(line: str, indent: str) -> bool:
    """Whether ``line`` starts a mapping key at exactly ``indent``."""
    rest = line[len(indent) :] if line.startswith(indent) else ""
    return rest[:1] not in ("", " ", "\t", "#", "\n", "-") and ":" in rest
