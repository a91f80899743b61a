"""Checks of this host's files: password file modes, inline passwords, executables of hooks and fencing.

The file checks run when a config file is loaded with its secrets (the daemon, check-config, a
reload); ``render`` on a build host and ``parse_config`` of a mapping skip them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ha.validation import Reader

if TYPE_CHECKING:
    from ha.config import Config

SECRET_SECTIONS = ("monitor", "replication", "supervisor")
# words a shell runs without looking for a file
SHELL_WORDS = frozenset(
    "! . : [ [[ alias break cd command continue echo eval exec exit export false for if kill printf pwd read "
    "return set shift test times trap true type ulimit umask unset wait while until case { ( time".split()
)


def host_check(reader: Reader, data: dict[str, Any], config: Config, on_host: bool) -> None:
    """Inline passwords; with ``on_host``, password file modes and the commands the daemon will run."""
    for section in SECRET_SECTIONS:
        spec = data.get(section)
        if not isinstance(spec, dict):
            continue
        if spec.get("password") is not None and spec.get("password_file") is not None:
            reader.problem(f"{section}.password", "give password or password_file, not both")
        elif spec.get("password") is not None:
            reader.warn(
                f"{section}.password",
                "inline password: whoever reads this file has it; put it in a file of mode 600 and name it "
                "in password_file",
            )
        if on_host and isinstance(spec.get("password_file"), str):
            check_secret_mode(reader, f"{section}.password_file", spec["password_file"])
    if not on_host:
        return
    if config.failover.state_file:
        check_state_dir(reader, config.failover.state_file)
    for key, command in (
        ("failover.fence_command", config.failover.fence_command),
        ("hooks.on_event", config.hooks.on_event),
        ("hooks.pre_failover", config.hooks.pre_failover),
    ):
        if command:
            check_command_runs(reader, key, command)


def check_secret_mode(reader: Reader, key: str, file_name: str) -> None:
    try:
        mode = Path(file_name).stat().st_mode
    except OSError:
        return  # the loader already said it cannot be read
    if stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
        reader.problem(
            key,
            f"{file_name} is readable by group or others (mode {stat.S_IMODE(mode):04o}): run `chmod 600 {file_name}`",
        )


def check_state_dir(reader: Reader, state_file: str) -> None:
    """The state is saved after every failover step: its directory must exist (and take a file)."""
    directory = Path(state_file).parent
    if not directory.is_dir():
        reader.problem("failover.state_file", f"directory {directory} does not exist: run `mkdir -p {directory}`")
    elif not os.access(directory, os.W_OK | os.X_OK):
        reader.warn(
            "failover.state_file",
            f"{directory} is not writable by this user (uid {os.getuid()}): the daemon's user must be able to "
            "write there, or the first failover step cannot be saved",
        )


def first_word(command: str) -> str | None:
    """The program a shell command line runs first, or None when the shell itself does the work."""
    words = shlex.split(command, comments=True)
    while words and "=" in words[0] and not words[0].startswith(("=", "/")):
        words.pop(0)  # VAR=value prefixes
    if not words:
        return None
    word = words[0].lstrip("({")
    for separator in (";", "&", "|", ">", "<"):
        word = word.split(separator, 1)[0]
    if not word or word in SHELL_WORDS or "$" in word or "`" in word:
        return None
    return word


def check_command_runs(reader: Reader, key: str, command: str) -> None:
    """The program of ``command`` exists and may be executed (else every failover would stop there)."""
    try:
        word = first_word(command)
    except ValueError as exc:
        reader.problem(key, f"cannot read the command line: {exc}")
        return
    if word is None:
        return
    if "/" in word:
        path = Path(word)
        if not path.exists():
            reader.problem(key, f"{word} does not exist")
        elif not path.is_file():
            reader.problem(key, f"{word} is not a file")
        elif not os.access(path, os.X_OK):
            reader.problem(key, f"{word} is not executable: run `chmod +x {word}`")
    elif shutil.which(word) is None:
        reader.problem(key, f"{word} not found on PATH ({os.environ.get('PATH', '')})")
