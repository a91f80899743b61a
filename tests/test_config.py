"""ha.config: the shipped file parses; every mistake is reported at once, by file and key; secrets stay secret."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ha.config import Config, load_config, parse_config
from ha.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "conf" / "mysqlha.yml"
SECRET = "Zq7-never-print-me-41c9"
PATH = "/etc/mysqlha/test.yml"

Mutation = Callable[[dict[str, Any]], None]


def shipped() -> dict[str, Any]:
    """conf/mysqlha.yml as a dict, with the passwords inline so no file outside tmp_path is read."""
    data = yaml.safe_load(SHIPPED.read_text())
    for section in ("monitor", "replication"):
        del data[section]["password_file"]
        data[section]["password"] = SECRET
    return data


def mutated(*mutations: Mutation) -> dict[str, Any]:
    data = shipped()
    for mutate in mutations:
        mutate(data)
    return data


def problems_of(data: Any, path: str = PATH) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, path)
    return info.value.problems


def write(tmp_path: Path, data: dict[str, Any], name: str = "mysqlha.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def set_key(dotted: str, value: Any) -> Mutation:
    *parents, last = dotted.split(".")

    def mutate(data: dict[str, Any]) -> None:
        for key in parents:
            data = data[key]
        data[last] = value

    return mutate


def del_key(dotted: str) -> Mutation:
    *parents, last = dotted.split(".")

    def mutate(data: dict[str, Any]) -> None:
        for key in parents:
            data = data[key]
        del data[last]

    return mutate


def second_master(data: dict[str, Any]) -> None:
    data["nodes"]["master3"] = {"host": "127.0.0.1", "port": 3310, "role": "master"}


# (mutation, key the problem names, words the problem contains): each mutation alone gives exactly one problem.
TOO_SHORT_INTERVAL = (set_key("monitor.interval", 0.4), "monitor.interval", "4 x interval")
MISTAKES: list[tuple[Mutation, str, str]] = [
    (set_key("nodes.master1.port", "abc"), "nodes.master1.port", "TCP port"),
    (set_key("nodes.master2.port", 70000), "nodes.master2.port", "TCP port"),
    (set_key("nodes.slave3.role", "boss"), "nodes.slave3.role", "master or candidate or replica"),
    (set_key("nodes.slave4.source", "ghost"), "nodes.slave4.source", "unknown node 'ghost'"),
    (del_key("nodes.slave3.source"), "nodes.slave3.source", "replicates from"),
    (second_master, "nodes", "exactly one node with role master, found 2"),
    (set_key("monitor.interval", -1), "monitor.interval", "got -1"),
    (set_key("monitor.failures", True), "monitor.failures", "whole number"),
    (del_key("monitor.user"), "monitor.user", "missing"),
    (del_key("failover.state_file"), "failover.state_file", "missing"),
    (set_key("failover.catchup_timeout", "soon"), "failover.catchup_timeout", "seconds > 0"),
    (set_key("supervisor.url", "ftp://x"), "supervisor.url", "got 'ftp://x'"),
    (set_key("proxies.normal", ["mysql-proxy-master1", "nope"]), "proxies.normal", "unknown program 'nope'"),
    (set_key("proxies.master_down.start", ["nope"]), "proxies.master_down.start", "unknown program 'nope'"),
    (
        set_key("proxies.programs.mysql-proxy-master1.listen", "x"),
        "proxies.programs.mysql-proxy-master1.listen",
        "host:port",
    ),
    (
        set_key("proxies.programs.mysql-proxy-slave1.backends", ["ghost"]),
        "proxies.programs.mysql-proxy-slave1.backends",
        "['ghost']",
    ),
]


def test_the_shipped_config_parses(tmp_path: Path) -> None:
    data = yaml.safe_load(SHIPPED.read_text())
    for section in ("monitor", "replication"):
        secret_file = tmp_path / f"{section}.password"
        secret_file.write_text(f"{SECRET}-{section}\n")
        secret_file.chmod(0o600)
        data[section]["password_file"] = str(secret_file)
    data["failover"]["state_file"] = str(tmp_path / "state.json")
    config = load_config(write(tmp_path, data))
    assert (config.master.name, config.candidate.name) == ("master1", "master2")
    assert [n.name for n in config.replicas_of("master2")] == ["slave4"]
    assert config.monitor.credentials.password == f"{SECRET}-monitor"
    assert config.replication is not None and config.replication.password == f"{SECRET}-replication"
    assert config.supervisor.url == "unix:///var/run/supervisor.sock"
    assert len(config.all_programs()) == 10
    assert config.proxies.programs["mysql-proxy-slave-failover3"].listen == "127.0.0.1:3041"
    assert config.proxies.candidate_down.start == ("mysql-proxy-slave-failover3", "mysql-proxy-slave-failover4")


def test_inline_passwords_parse() -> None:
    config = parse_config(shipped(), PATH)
    assert isinstance(config, Config) and config.path == PATH
    assert config.monitor.credentials.password == SECRET


@pytest.mark.parametrize(
    ("mutation", "key", "words"), [*MISTAKES, TOO_SHORT_INTERVAL], ids=lambda v: v if isinstance(v, str) else ""
)
def test_one_mistake_gives_one_problem_naming_file_and_key(mutation: Mutation, key: str, words: str) -> None:
    problems = problems_of(mutated(mutation))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{PATH}: {key}"), problems
    assert words in problems[0]


def test_every_mistake_is_reported_at_once() -> None:
    problems = problems_of(mutated(*(m[0] for m in MISTAKES)))
    assert all(p.startswith(f"{PATH}: ") for p in problems), problems
    for _, key, words in MISTAKES:
        assert any(p.startswith(f"{PATH}: {key}") and words in p for p in problems), (key, problems)
    assert len(problems) == len(MISTAKES), problems


@pytest.mark.parametrize("section", ["nodes", "monitor", "failover", "supervisor", "proxies"])
def test_a_missing_section_is_named(section: str) -> None:
    problems = problems_of(mutated(del_key(section)))
    assert any(p.startswith(f"{PATH}: {section}: expected a mapping") for p in problems), problems


@pytest.mark.parametrize("data", [None, [], "text"])
def test_a_top_level_that_is_not_a_mapping(data: Any) -> None:
    assert problems_of(data) == [f"{PATH}: expected a mapping at the top level, got {type(data).__name__}"]


def test_a_missing_file_gives_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [f"{path}: cannot read: No such file or directory"]


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("nodes: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"{path}: not valid YAML")


def test_invalid_yaml_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("nodes: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "\n" not in info.value.problems[0]
    assert "line 2" in info.value.problems[0]


def test_invalid_yaml_on_the_password_line_does_not_echo_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(f"monitor:\n  user: mysqlha\n  password: {SECRET}: oops\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("section", ["monitor", "replication", "supervisor"])
def test_an_unreadable_password_file_names_the_key(tmp_path: Path, section: str) -> None:
    data = shipped()
    data[section].pop("password", None)
    data[section]["password_file"] = str(tmp_path / "absent.password")
    problems = problems_of(data)
    assert len(problems) == 1 and problems[0].startswith(f"{PATH}: {section}.password_file: cannot read"), problems
    assert problems[0].endswith("No such file or directory")


def test_a_password_file_that_is_a_directory_names_the_key(tmp_path: Path) -> None:
    problems = problems_of(mutated(del_key("monitor.password"), set_key("monitor.password_file", str(tmp_path))))
    assert len(problems) == 1 and problems[0].startswith(f"{PATH}: monitor.password_file: cannot read")


def test_a_password_file_that_is_not_text_names_the_key(tmp_path: Path) -> None:
    secret_file = tmp_path / "binary.password"
    secret_file.write_bytes(b"\xff\xfe\x00")
    problems = problems_of(mutated(del_key("monitor.password"), set_key("monitor.password_file", str(secret_file))))
    assert len(problems) == 1 and problems[0].startswith(f"{PATH}: monitor.password_file:")


def test_a_missing_password_is_named() -> None:
    problems = problems_of(mutated(del_key("monitor.password")))
    assert problems == [f"{PATH}: monitor.password: missing; expected password or password_file"]


def test_a_password_file_gives_its_first_line(tmp_path: Path) -> None:
    secret_file = tmp_path / "monitor.password"
    secret_file.write_text(f"{SECRET}\nsecond line\n")
    secret_file.chmod(0o600)
    config = parse_config(
        mutated(del_key("monitor.password"), set_key("monitor.password_file", str(secret_file))), PATH
    )
    assert config.monitor.credentials.password == SECRET


def test_the_password_is_not_in_repr() -> None:
    data = mutated(set_key("supervisor.username", "mysqlha"), set_key("supervisor.password", SECRET))
    config = parse_config(data, PATH)
    assert config.supervisor.password == SECRET
    assert SECRET not in repr(config)
    assert SECRET not in repr(config.monitor) and SECRET not in repr(config.supervisor)


@pytest.mark.parametrize("password", [SECRET, 987654321, [SECRET]], ids=["string", "number", "list"])
def test_the_password_is_not_in_any_problem(password: Any) -> None:
    data = mutated(
        *(m[0] for m in MISTAKES),
        set_key("monitor.password", password),
        set_key("replication.password", password),
        set_key("supervisor.password", password),
    )
    with pytest.raises(ConfigError) as info:
        parse_config(data, PATH)
    text = "\n".join(info.value.problems) + str(info.value) + repr(info.value)
    assert str(SECRET) not in text and "987654321" not in text


def test_the_dict_is_not_modified_by_parsing() -> None:
    data = shipped()
    before = copy.deepcopy(data)
    parse_config(data, PATH)
    assert data == before


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://admin:hunter2@10.0.0.5:9001", "https:// is not supported"),
        ("https://10.0.0.5:9001", "https:// is not supported"),
        ("http://admin:hunter2@10.0.0.5:9001/RPC2", "credentials inside the URL are not accepted"),
    ],
)
def test_unsafe_supervisor_urls_are_rejected_without_printing_credentials(url: str, says: str) -> None:
    """Issue 9, defect 5: https was spoken as plain HTTP; a password in the URL was printed."""
    problems = problems_of(mutated(set_key("supervisor.url", url)))
    assert len(problems) == 1 and problems[0].startswith(f"{PATH}: supervisor.url: {says}"), problems
    assert "hunter2" not in problems[0] and "admin" not in problems[0]


def clear_text(data: dict[str, Any]) -> list[str]:
    """The clear-text warnings (password files are named, never read)."""
    return [w for w in parse_config(data, PATH, read_secrets=False).warnings if "supervisor.url" in w]


@pytest.mark.parametrize("secret", ["password", "password_file"])
def test_a_password_over_http_to_another_host_draws_a_warning(secret: str) -> None:
    data = mutated(
        set_key("supervisor.url", "http://10.0.0.5:9001"),
        set_key("supervisor.username", "mysqlha"),
        set_key(f"supervisor.{secret}", SECRET if secret == "password" else "/etc/mysqlha/supervisor.password"),
    )
    (warning,) = clear_text(data)
    assert warning.startswith(
        f"{PATH}: supervisor.url: http:// to a host that is not this one, with supervisor.{secret}"
    )
    assert "sends the password in clear" in warning and SECRET not in warning


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9001", "http://localhost:9001", "http://[::1]:9001", "unix:///run/supervisor.sock"]
)
def test_a_password_to_this_host_draws_no_clear_text_warning(url: str) -> None:
    data = mutated(set_key("supervisor.url", url), set_key("supervisor.password", SECRET))
    assert clear_text(data) == []


def test_http_to_another_host_without_a_password_draws_no_warning() -> None:
    assert clear_text(mutated(set_key("supervisor.url", "http://10.0.0.5:9001"))) == []


def test_a_missing_tls_ca_file_is_a_config_error(tmp_path: Path) -> None:
    """Issue 9, defect 4: verification needs a CA; a missing file stops the daemon at start."""
    absent = str(tmp_path / "absent-ca.pem")
    problems = problems_of(mutated(set_key("monitor.tls_ca", absent)))
    assert problems == [f"{PATH}: monitor.tls_ca: cannot read {absent}; expected a readable CA certificate file"]
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_config(mutated(set_key("monitor.tls_ca", str(ca))), PATH)
    assert config.monitor.tls_verify_cert and config.monitor.tls_verify_identity, "verification on by default"
    relaxed = mutated(set_key("monitor.tls_ca", str(ca)), set_key("monitor.tls_verify_identity", False))
    assert parse_config(relaxed, PATH).monitor.tls_verify_identity is False
    assert "true or false" in problems_of(mutated(set_key("monitor.tls_verify_cert", "yes")))[0]
