"""The newcomer's path: scripts/ check ports before anything slow, skip pip on a rerun, hint at --config."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import needs_servers

from ha import cli
from ha.errors import MysqlhaError
from ha.invocation import me
from ha.sandbox.cluster import Sandbox, busy_ports_message, free_base_port
from ha.sandbox.mariadb import binary, supervisord_hint

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def listener() -> Iterator[tuple[int, int]]:
    """A base port whose node port base+1 this test process listens on."""
    base = free_base_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", base + 1))
        sock.listen()
        yield base, base + 1


def test_demo_names_the_port_holder_before_installing_anything(listener: tuple[int, int]) -> None:
    base, port = listener
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh"), "--base-port", str(base)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result
    assert f"127.0.0.1:{port} (" in result.stderr and f"pid {os.getpid()})" in result.stderr, result.stderr
    assert "Pass --base-port " in result.stderr and "demo.sh passes its options on" in result.stderr
    assert "[2/4]" not in result.stdout, "the port check must come before the installs"


@needs_servers
def test_sandbox_up_names_the_port_holder_and_a_free_base(listener: tuple[int, int], tmp_path: Path) -> None:
    base, port = listener
    box = Sandbox(tmp_path / "box", log=lambda line: None)
    with pytest.raises(MysqlhaError) as info:
        box.up(base_port=base)
    message = str(info.value)
    assert f"127.0.0.1:{port} (" in message and f"pid {os.getpid()})" in message, message
    suggested = int(message.split("Pass --base-port ", 1)[1].split()[0])
    assert suggested % 100 == 0 and suggested != base
    assert not box.running()


def test_a_missing_config_says_what_to_pass(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "mysqlha.yml").write_text("")
    env = {**os.environ, "MYSQLHA_CONFIG": str(tmp_path / "none.yml")}
    result = subprocess.run(
        [sys.executable, "-m", "ha", "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert f"no configuration at {tmp_path / 'none.yml'}" in result.stderr
    assert "--config sandbox/mysqlha.yml" in result.stderr, result.stderr


@needs_servers
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "python").exists(), reason="no .venv: scripts/ did not run here")
def test_a_rerun_with_nothing_to_install_skips_pip() -> None:
    for _ in range(2):  # the first run may install (and writes the stamp); the second must not
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "test.sh"), "--version"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result
    assert "pip skipped" in result.stdout and "pip install" not in result.stdout, result.stdout
    assert result.stdout.count("mysqlha: [") == 4, "one progress line per phase"


@needs_servers
def test_a_failed_up_says_so_before_its_error_when_piped(tmp_path: Path) -> None:
    """stdout and stderr in one pipe: the cleanup line comes before the final error, and nothing is left."""
    template = (REPO / "conf" / "mysqlha.yml").read_text()
    broken = template.replace("command: haproxy -db -f {config_dir}/{program}.cfg", "command: /bin/false {program}")
    assert broken != template
    (tmp_path / "topology.yml").write_text(broken)
    box = Sandbox(tmp_path / "box", log=lambda line: None)
    up = ["up", "--base-port", str(free_base_port()), "--topology", str(tmp_path / "topology.yml"), "--no-daemon"]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ha", "sandbox", "--dir", str(box.directory), *up],
            env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # as a user's shell has it
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
            check=False,
        )
        lines = result.stdout.splitlines()
        assert result.returncode == 1, result.stdout
        assert lines[-1].startswith("mysqlha: ") and "sandbox up failed; stopping what was started" in lines[:-1]
        assert not box.running()
    finally:
        if box.config_path.exists():
            box.down()


def test_printed_install_hints_paste_on_debian() -> None:
    """Only the MariaDB binaries (not mariadb-server, whose service takes 3306); supervisor via a venv's pip."""
    with pytest.raises(MysqlhaError) as info:
        binary("no-such-mariadbd")
    assert "apt-get install -y mariadb-server-core mariadb-client-core" in str(info.value)
    hint = supervisord_hint()
    assert "pip install" not in hint or hint.startswith(f"{sys.executable} -m pip install"), hint
    assert "scripts/demo.sh" in hint or sys.prefix != sys.base_prefix


def test_port_and_rerun_hints_name_a_mysqlha_that_runs(listener: tuple[int, int]) -> None:
    """`mysqlha` bare only when PATH finds this same one, else the absolute path (cli.me)."""
    _base, port = listener
    message = busy_ports_message([("127.0.0.1", port)])
    assert f"`{me()} sandbox up --base-port " in message, message
    assert cli.me is me
    command = me().split()[0]
    assert command == "mysqlha" or os.path.isabs(command), command
