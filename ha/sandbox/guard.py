"""`sandbox down --remove` deletes a directory only when it is a sandbox `sandbox up` built."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from ha.errors import MysqlhaError

MARKERS = ("mysqlha.yml", "supervisord.conf", "secrets", "nodes")


def why_not_a_sandbox(directory: str | os.PathLike[str]) -> str | None:
    """Why ``directory`` must not be removed as a sandbox, or None when it is one."""
    path = Path(directory)
    if path.is_symlink():
        return f"{path} is a symlink"
    if not path.is_dir():
        return f"{path} is not a directory"
    resolved = path.resolve()
    if resolved in (Path("/"), Path.home().resolve(), Path.cwd().resolve()) or len(resolved.parts) < 3:
        return f"{resolved} is a system, home or current directory"
    missing = [name for name in MARKERS if not (path / name).exists()]
    if missing:
        return f"{path} lacks {', '.join(missing)}, which `mysqlha sandbox up` writes"
    try:
        data = yaml.safe_load((path / "mysqlha.yml").read_text())
        state_file = Path(data["failover"]["state_file"]).resolve()
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return f"{path / 'mysqlha.yml'} is not a sandbox config (no failover.state_file)"
    if state_file.parent != resolved:
        return f"{path / 'mysqlha.yml'} keeps its state in {state_file.parent}, not in the sandbox"
    return None


def remove_sandbox(directory: str | os.PathLike[str]) -> None:
    """Delete a sandbox directory; MysqlhaError naming the reason when it is not one."""
    reason = why_not_a_sandbox(directory)
    if reason is not None:
        raise MysqlhaError(f"not removing {directory}: {reason}; delete it by hand if you mean it")
    shutil.rmtree(directory)
