"""The shipped proxy and program files are exactly what the topology renders."""

from __future__ import annotations

import configparser
import os
import shutil
from pathlib import Path

from ha.config import load_config
from ha.render import SBIN, absolute_program, rendered_files

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "mysqlha render --config conf/mysqlha.yml --installed-config /etc/mysqlha/mysqlha.yml --out DIR"
# The shipped files show where README installs the programs (/opt/mysqlha, a venv) and Debian puts haproxy.
SBIN_AND_PATH = f"{os.environ.get('PATH', '')}:{SBIN}"
SHIPPED_MYSQLHA = "/opt/mysqlha/bin/mysqlha"  # README "Installing for real", step 1


def debian_paths(command: str) -> str:
    program, _, rest = command.partition(" ")
    return f"/usr/sbin/{program} {rest}" if program == "haproxy" else command


def test_shipped_files_match_the_classic_topology() -> None:
    config = load_config(ROOT / "conf" / "mysqlha.yml", read_secrets=False)
    for relative, text in rendered_files(config, "/etc/mysqlha/mysqlha.yml", SHIPPED_MYSQLHA, debian_paths).items():
        shipped = (
            ROOT / relative.replace("haproxy/", "conf/haproxy/", 1)
            if relative.startswith("haproxy/")
            else ROOT / relative
        )
        assert shipped.read_text() == text, f"{shipped} is stale: regenerate with `{REGENERATE}`"


def test_program_files_parse_and_only_the_normal_set_autostarts() -> None:
    config = load_config(ROOT / "conf" / "mysqlha.yml", read_secrets=False)
    for name in ("haproxy.conf", "mysql-proxy.conf"):
        parser = configparser.RawConfigParser()
        parser.read(ROOT / "supervisord.conf.d" / name)
        programs = {s.split(":", 1)[1]: parser[s] for s in parser.sections()}
        assert set(programs) == set(config.proxies.programs), name
        started = {n for n, section in programs.items() if section["autostart"] == "true"}
        assert started == set(config.proxies.normal), name


def test_haproxy_refuses_shared_ports_and_checks_multi_backend_readers() -> None:
    config = load_config(ROOT / "conf" / "mysqlha.yml", read_secrets=False)
    files = rendered_files(config, "/etc/mysqlha/mysqlha.yml")
    for program in config.proxies.programs.values():
        text = files[f"haproxy/{program.name}.cfg"]
        assert "noreuseport" in text and "mode tcp" in text
        assert "option mysql-check user haproxy_check" in text and text.count(" check inter 1s") == len(
            program.backends
        )
        assert f"bind {program.listen}" in text


def test_programs_supervisord_starts_have_absolute_paths() -> None:
    """supervisord's PATH has no sbin for an ordinary user: every command starts with an absolute path."""
    config = load_config(ROOT / "conf" / "mysqlha.yml", read_secrets=False)
    files = rendered_files(config, "/etc/mysqlha/mysqlha.yml")
    for name in ("haproxy.conf", "mysqlcheck.conf"):
        parser = configparser.RawConfigParser()
        parser.read_string(files[f"supervisord.conf.d/{name}"])
        for section in parser.sections():
            program = parser[section]["command"].split()[0]
            if name == "haproxy.conf" and shutil.which("haproxy", path=SBIN_AND_PATH) is None:
                continue  # not installed here: the name stays as written
            assert program.startswith("/") and os.access(program, os.X_OK), (name, program)


def test_absolute_program_keeps_paths_and_unknown_names() -> None:
    assert absolute_program("/opt/haproxy/bin/haproxy -db -f x.cfg") == "/opt/haproxy/bin/haproxy -db -f x.cfg"
    assert absolute_program("no-such-program-mysqlha -x") == "no-such-program-mysqlha -x"
    assert absolute_program("sh -c true") == f"{shutil.which('sh')} -c true"
