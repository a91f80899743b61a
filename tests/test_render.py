"""The shipped proxy and program files are exactly what the topology renders."""

from __future__ import annotations

import configparser
from pathlib import Path

from ha.config import load_config
from ha.render import rendered_files

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "mysqlha render --config conf/mysqlha.yml --installed-config /etc/mysqlha/mysqlha.yml --out DIR"


def test_shipped_files_match_the_classic_topology() -> None:
    config = load_config(ROOT / "conf" / "mysqlha.yml", read_secrets=False)
    for relative, text in rendered_files(config, "/etc/mysqlha/mysqlha.yml").items():
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
