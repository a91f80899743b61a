"""The mistakes operators make (issue 11's table), one test per row: each is an error naming file, line, key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from test_config import PATH, SECRET, SHIPPED, del_key, mutated, problems_of, set_key, shipped

from ha.config import load_config, parse_config
from ha.errors import ConfigError
from ha.identity import addresses
from ha.schema import json_schema

SCHEMA_FILE = SHIPPED.with_name("mysqlha.schema.json")


def one_problem(data: dict[str, Any]) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


def with_secrets(tmp_path: Path, data: dict[str, Any], mode: int = 0o600) -> dict[str, Any]:
    """``data`` with its passwords in files of ``mode`` (as a real install has them)."""
    for section in ("monitor", "replication"):
        secret = tmp_path / f"{section}.password"
        secret.write_text(f"{SECRET}\n")
        secret.chmod(mode)
        data[section].pop("password", None)
        data[section]["password_file"] = str(secret)
    data["failover"]["state_file"] = str(tmp_path / "state" / "state.json")
    (tmp_path / "state").mkdir(exist_ok=True)
    return data


def load_text(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "mysqlha.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


# --- row 1: a typo in a key ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "typo", "meant"),
    [("monitor", "intervall", "interval"), ("failover", "ask_replica", "ask_replicas"),
     ("failover", "allow_async_promotions", "allow_async_promotion")],
)  # fmt: skip
def test_a_typo_in_a_key_is_an_error_with_did_you_mean(section: str, typo: str, meant: str) -> None:
    problem = one_problem(mutated(set_key(f"{section}.{typo}", 1)))
    assert problem == f"{PATH}: {section}.{typo}: unknown key; did you mean {meant!r}?"


def renamed(dotted: str, new: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = dotted.split(".")

    def mutate(data: dict[str, Any]) -> None:
        for key in parents:
            data = data[key]
        data[new] = data.pop(last)

    return mutate


@pytest.mark.parametrize(
    ("key", "typo"),
    [("proxies.programs.mysql-proxy-slave1.backends", "backend"),
     ("proxies.programs.mysql-proxy-slave1.listen", "lisen"), ("monitor.user", "usr"),
     ("failover.state_file", "state_fil"), ("proxies.master_down.start", "strat"),
     ("nodes.slave3.source", "sorce"), ("nodes.master1.role", "rol"), ("monitor", "monitors")],
)  # fmt: skip
def test_a_typo_of_a_required_key_is_one_problem_not_also_a_missing_key(key: str, typo: str) -> None:
    meant = key.rpartition(".")[2]
    where = key.rpartition(".")[0]
    shown = f"{where}.{typo}" if where else typo
    assert one_problem(mutated(renamed(key, typo))) == f"{PATH}: {shown}: unknown key; did you mean {meant!r}?"


def test_a_near_miss_beside_the_real_key_does_not_hide_its_problems() -> None:
    problems = problems_of(
        mutated(
            set_key("proxies.programs.mysql-proxy-slave1.backend", ["slave3"]),
            set_key("proxies.programs.mysql-proxy-slave1.backends", ["ghost"]),
        )
    )
    assert len(problems) == 2 and "backends: expected a non-empty list" in problems[1], problems


def test_a_missing_role_is_one_problem() -> None:
    assert one_problem(mutated(del_key("nodes.master1.role"))).endswith(
        "nodes.master1.role: missing; expected master or candidate or replica"
    )


def test_an_unknown_key_far_from_any_lists_the_known_ones() -> None:
    problem = one_problem(mutated(set_key("nodes.slave3.colour", "blue")))
    assert problem.startswith(f"{PATH}: nodes.slave3.colour: unknown key; expected one of host, port, role, source")


def test_an_unknown_section_is_an_error() -> None:
    assert one_problem(mutated(set_key("monitors", {}))) == f"{PATH}: monitors: unknown key; did you mean 'monitor'?"


# --- row 2: a key given twice --------------------------------------------------------------------


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text()
    text = text.replace("nodes:\n", "nodes:\n  master1: {host: 127.0.0.1, port: 3399, role: master}\n", 1)
    text += "\nmonitor:\n  user: other\n"
    lines = text.splitlines()
    second_master = [i for i, line in enumerate(lines, 1) if line.startswith("  master1:")][1]
    first_monitor, second_monitor = [i for i, line in enumerate(lines, 1) if line.startswith("monitor:")]
    problems = load_text(tmp_path, text)
    path = tmp_path / "mysqlha.yml"
    assert problems[0] == (
        f"{path}:{second_master}: nodes.master1: given twice (first at line {second_master - 1}); "
        "the last one would silently win"
    ), problems
    assert any(
        p.startswith(f"{path}:{second_monitor}: monitor: given twice (first at line {first_monitor})") for p in problems
    ), problems


# --- semantic errors carry the line of their key -------------------------------------------------


def test_a_semantic_error_gives_the_line_of_its_key(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace("failures: 5 ", "failures: 0 ")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "failures: 0" in row)
    problems = load_text(tmp_path, text)
    assert any(p.startswith(f"{tmp_path / 'mysqlha.yml'}:{line}: monitor.failures: expected") for p in problems)


# --- row 3: two nodes on one host:port; two normal programs on one port ---------------------------


def test_two_nodes_on_one_host_and_port() -> None:
    problem = one_problem(mutated(set_key("nodes.slave3.port", 3306)))
    assert problem == (
        f"{PATH}: nodes.slave3.port: 127.0.0.1:3306 is also nodes.master1; every node needs its own host:port"
    )


def test_two_nodes_on_one_ip_address_written_two_ways() -> None:
    mutations = (set_key("nodes.master1.host", "::1"), set_key("nodes.slave3.host", "0:0:0:0:0:0:0:1"))
    problem = one_problem(mutated(*mutations, set_key("nodes.slave3.port", 3306)))
    assert problem == (
        f"{PATH}: nodes.slave3.port: 0:0:0:0:0:0:0:1:3306 is the same server as nodes.master1 (::1:3306); "
        "every node needs its own host:port"
    )


@pytest.mark.skipif("127.0.0.1" not in addresses("localhost"), reason="localhost does not resolve to 127.0.0.1")
def test_a_node_named_by_host_name_and_one_by_its_address_are_one_server() -> None:
    problem = one_problem(mutated(set_key("nodes.master2.host", "localhost"), set_key("nodes.master2.port", 3306)))
    assert problem == (
        f"{PATH}: nodes.master2.port: localhost:3306 is the same server as nodes.master1 (127.0.0.1:3306); "
        "every node needs its own host:port"
    )


@pytest.mark.skipif("127.0.0.1" not in addresses("localhost"), reason="localhost does not resolve to 127.0.0.1")
def test_check_config_offline_refuses_localhost_beside_127_0_0_1(tmp_path: Path) -> None:
    data = with_secrets(
        tmp_path, mutated(set_key("nodes.master2.host", "localhost"), set_key("nodes.master2.port", 3306))
    )
    path = write_yaml(tmp_path, data)
    command = [sys.executable, "-m", "ha", "check-config", "--offline", "--config", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nodes.master2.port: localhost:3306 is the same server as nodes.master1 (127.0.0.1:3306)" in result.stderr


def test_names_that_do_not_resolve_are_compared_as_text() -> None:
    hosts = {name: f"{name}.db.invalid" for name in ("master1", "master2", "slave3", "slave4")}
    same_port = [set_key(f"nodes.{name}.host", host) for name, host in hosts.items()]
    same_port += [set_key(f"nodes.{name}.port", 3306) for name in hosts]
    parse_config(mutated(*same_port), PATH)  # four hosts, one port each: fine
    problem = one_problem(mutated(*same_port, set_key("nodes.slave3.host", "MASTER1.db.invalid")))
    assert problem.startswith(f"{PATH}: nodes.slave3.port: MASTER1.db.invalid:3306 is the same server as nodes.master1")


def test_two_normal_programs_on_one_listen_port() -> None:
    problem = one_problem(mutated(set_key("proxies.programs.mysql-proxy-master2.listen", "127.0.0.1:3031")))
    assert problem.startswith(f"{PATH}: proxies.normal: mysql-proxy-master2 and mysql-proxy-master1 both listen")


def test_a_wildcard_listen_conflicts_with_a_specific_one() -> None:
    problem = one_problem(mutated(set_key("proxies.programs.mysql-proxy-master2.listen", "0.0.0.0:3031")))
    assert "both listen" in problem


@pytest.mark.skipif("127.0.0.1" not in addresses("localhost"), reason="localhost does not resolve to 127.0.0.1")
def test_a_proxy_on_localhost_and_one_on_127_0_0_1_clash() -> None:
    problem = one_problem(mutated(set_key("proxies.programs.mysql-proxy-master2.listen", "localhost:3031")))
    assert problem == (
        f"{PATH}: proxies.normal: mysql-proxy-master2 and mysql-proxy-master1 both listen on 127.0.0.1:3031; "
        "the second never binds"
    )


@pytest.mark.parametrize("listen", ["0.0.0.0:3031", "[::]:3031", "[0:0::0]:3031"])
def test_every_spelling_of_a_wildcard_clashes(listen: str) -> None:
    assert "both listen" in one_problem(mutated(set_key("proxies.programs.mysql-proxy-master2.listen", listen)))


def test_proxies_on_other_loopback_addresses_do_not_clash() -> None:
    parse_config(mutated(set_key("proxies.programs.mysql-proxy-master2.listen", "127.0.0.2:3031")), PATH)


# --- row 4: a failover set that starts a program on a port the set does not stop ------------------


def test_a_failover_set_starting_on_a_port_it_does_not_stop() -> None:
    stop = ["mysql-proxy-master1", "mysql-proxy-slave1", "mysql-proxy-slave2"]  # mysql-proxy-master2 keeps 3032
    problem = one_problem(mutated(set_key("proxies.master_down.stop", stop)))
    assert problem == (
        f"{PATH}: proxies.master_down.start: mysql-proxy-master-failover2 listens on 127.0.0.1:3032, still served "
        "by mysql-proxy-master2: add mysql-proxy-master2 to proxies.master_down.stop"
    )


# --- row 5: the normal set holding a failover program; a failover proxy to the failed node; self-source


def test_the_normal_set_containing_a_failover_program() -> None:
    normal = ["mysql-proxy-master1", "mysql-proxy-master2", "mysql-proxy-slave1", "mysql-proxy-slave-failover3"]
    problem = one_problem(mutated(set_key("proxies.normal", normal)))
    assert problem == (
        f"{PATH}: proxies.normal: mysql-proxy-slave-failover3 is started by proxies.candidate_down.start; "
        "a failover program must not serve normally"
    ), "one line, with the real fix; not also a clash in normal and an 'add it to master_down.stop'"


def test_a_read_failover_proxy_routing_to_the_failed_master() -> None:
    problem = one_problem(mutated(set_key("proxies.programs.mysql-proxy-slave-failover1.backends", ["master1"])))
    assert problem == (
        f"{PATH}: proxies.programs.mysql-proxy-slave-failover1.backends: routes to master1, "
        "the node that failed when proxies.master_down.start starts it"
    )


def test_a_case_2_proxy_routing_to_the_failed_candidate() -> None:
    problem = one_problem(mutated(set_key("proxies.programs.mysql-proxy-slave-failover3.backends", ["master2"])))
    assert "routes to master2, the node that failed when proxies.candidate_down.start starts it" in problem


def test_a_node_replicating_from_itself() -> None:
    problem = one_problem(mutated(set_key("nodes.slave4.source", "slave4")))
    assert problem == f"{PATH}: nodes.slave4.source: a node cannot replicate from itself"


def test_a_replication_loop() -> None:
    problems = problems_of(mutated(set_key("nodes.slave3.source", "slave4"), set_key("nodes.slave4.source", "slave3")))
    assert any("replication loop slave3 -> slave4 -> slave3" in p for p in problems), problems


# --- row 6: unsafe names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["slave 3", "slave3\n    server evil 10.0.0.1:3306", "../../etc/x"])
def test_an_unsafe_node_name(name: str) -> None:
    def rename(data: dict[str, Any]) -> None:
        data["nodes"][name] = data["nodes"].pop("slave3")
        for program in data["proxies"]["programs"].values():
            program["backends"] = [name if b == "slave3" else b for b in program["backends"]]

    problem = one_problem(mutated(rename))
    assert f"unsafe name {name!r}; expected letters, digits, '_', '.' and '-' only" in problem
    assert "\n" not in problem


def test_an_unsafe_name_gives_its_own_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace("  slave3:  {", '  "slave 3":  {', 1).replace("slave3]", '"slave 3"]')
    text = text.replace("[master2, slave3, slave4]", '[master2, "slave 3", slave4]')
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith('  "slave 3"'))
    problems = load_text(tmp_path, text)
    assert [p for p in problems if "unsafe name" in p] == [
        f"{tmp_path / 'mysqlha.yml'}:{line}: nodes.'slave 3': unsafe name 'slave 3'; expected letters, digits, "
        "'_', '.' and '-' only (it is written into HAProxy configs and file paths)"
    ], problems


def test_an_unsafe_program_name() -> None:
    def rename(data: dict[str, Any]) -> None:
        programs = data["proxies"]["programs"]
        programs["../../x"] = programs.pop("mysql-proxy-slave-failover4")
        data["proxies"]["candidate_down"]["start"] = ["mysql-proxy-slave-failover3", "../../x"]

    assert "unsafe name '../../x'" in one_problem(mutated(rename))


def test_a_host_that_would_inject_a_line() -> None:
    problem = one_problem(mutated(set_key("nodes.slave3.host", "10.0.0.3:1\n    server evil")))
    assert problem.startswith(f"{PATH}: nodes.slave3.host: expected a host name or an IP address")


# --- row 7: an unknown placeholder in proxies.command ---------------------------------------------


def test_an_unknown_placeholder_in_the_proxy_command() -> None:
    problem = one_problem(mutated(set_key("proxies.command", "haproxy -f {cfgdir}/{program}.cfg")))
    assert problem == (
        f"{PATH}: proxies.command: unknown placeholder {{cfgdir}}; expected {{program}}, {{config_dir}}, {{listen}}"
    )


def test_render_with_an_unknown_placeholder_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, mutated(set_key("proxies.command", "haproxy -f {cfgdir}/{program}.cfg")))
    command = [sys.executable, "-m", "ha", "render", "--config", str(path), "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "proxies.command: unknown placeholder {cfgdir}" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing written"


def test_a_stray_brace_in_the_proxy_command() -> None:
    assert "proxies.command" in one_problem(mutated(set_key("proxies.command", "haproxy -f {program.cfg")))


@pytest.mark.parametrize(
    ("field", "says"),
    [("{program.x}", "placeholder {program.x}: attributes and indexes are not supported"),
     ("{program[0]}", "placeholder {program[0]}: attributes and indexes are not supported"),
     ("{program!z}", "placeholder {program!z}: conversions (!) and format specs (:) are not supported"),
     ("{program!r}", "placeholder {program!r}: conversions (!) and format specs (:) are not supported"),
     ("{listen:>30}", "placeholder {listen:>30}: conversions (!) and format specs (:) are not supported"),
     ("{}", "unknown placeholder {}"), ("{0}", "unknown placeholder {0}")],
)  # fmt: skip
def test_a_placeholder_with_more_than_its_name_is_an_error(field: str, says: str) -> None:
    """Each of these passed the check and then crashed render (or rendered garbage)."""
    problem = one_problem(mutated(set_key("proxies.command", f"haproxy -f {{config_dir}}/{field}.cfg")))
    assert problem.startswith(f"{PATH}: proxies.command: {says}"), problem
    assert "expected {program}, {config_dir}, {listen}" in problem


@pytest.mark.parametrize("field", ["{program.x}", "{program!z}", "{program[0]}"])
def test_render_with_a_bad_placeholder_exits_2_without_a_traceback(tmp_path: Path, field: str) -> None:
    path = write_yaml(tmp_path, mutated(set_key("proxies.command", f"haproxy -f {{config_dir}}/{field}.cfg")))
    command = [sys.executable, "-m", "ha", "render", "--config", str(path), "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"proxies.command: placeholder {field}" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing written"


# --- row 8: a password file readable by everyone; an inline password -------------------------------


def test_a_password_file_readable_by_others_is_an_error_with_the_chmod(tmp_path: Path) -> None:
    data = with_secrets(tmp_path, shipped(), mode=0o644)
    with pytest.raises(ConfigError) as info:
        load_config(write_yaml(tmp_path, data))
    secret = tmp_path / "monitor.password"
    expected = f"monitor.password_file: {secret} is readable by group or others (mode 0644): run `chmod 600 {secret}`"
    assert any(p.endswith(expected) for p in info.value.problems), info.value.problems
    assert SECRET not in str(info.value)


def test_password_files_of_mode_600_are_fine_and_draw_no_warning(tmp_path: Path) -> None:
    config = load_config(write_yaml(tmp_path, with_secrets(tmp_path, shipped())))
    assert config.warnings == ()


def test_an_inline_password_draws_a_warning() -> None:
    config = parse_config(shipped(), PATH)
    assert f"{PATH}: monitor.password: inline password: whoever reads this file has it" in config.warnings[0]
    assert len(config.warnings) == 2 and SECRET not in "".join(config.warnings)


def test_a_password_and_a_password_file_together() -> None:
    problem = one_problem(mutated(set_key("monitor.password_file", "/nonexistent")))
    assert problem == f"{PATH}: monitor.password: give password or password_file, not both"


# --- row 9: fence_command or a hook that does not exist or is not executable -----------------------


def test_a_fence_command_that_does_not_exist(tmp_path: Path) -> None:
    data = with_secrets(tmp_path, mutated(set_key("failover.fence_command", f'{tmp_path}/fence "$MYSQLHA_NODE"')))
    problems = load_problems(tmp_path, data)
    assert len(problems) == 1 and problems[0].endswith(f"failover.fence_command: {tmp_path}/fence does not exist")


def test_a_hook_that_is_not_executable(tmp_path: Path) -> None:
    hook = tmp_path / "notify"
    hook.write_text("#!/bin/sh\n")
    data = with_secrets(tmp_path, mutated(set_key("hooks.pre_failover", str(hook))))
    problems = load_problems(tmp_path, data)
    assert len(problems) == 1
    assert problems[0].endswith(f"hooks.pre_failover: {hook} is not executable: run `chmod +x {hook}`")


def test_a_hook_not_on_path(tmp_path: Path) -> None:
    data = with_secrets(tmp_path, mutated(set_key("hooks.on_event", "mysqlha-notify-nowhere --all")))
    problems = load_problems(tmp_path, data)
    assert len(problems) == 1 and "hooks.on_event: mysqlha-notify-nowhere not found on PATH" in problems[0]


@pytest.mark.parametrize(
    "command", ["echo hi >> /tmp/x", "exit 3", "FOO=1 env", "sh -c 'exit 0'", "(cd /tmp && ls)", '"$HOOK" now']
)
def test_shell_commands_and_programs_on_path_are_fine(tmp_path: Path, command: str) -> None:
    load_config(write_yaml(tmp_path, with_secrets(tmp_path, mutated(set_key("hooks.on_event", command)))))


def test_a_state_file_in_a_missing_directory(tmp_path: Path) -> None:
    data = with_secrets(tmp_path, shipped())
    data["failover"]["state_file"] = str(tmp_path / "absent" / "state.json")
    problems = load_problems(tmp_path, data)
    assert len(problems) == 1
    assert problems[0].endswith(f"failover.state_file: directory {tmp_path / 'absent'} does not exist: "
                                f"run `mkdir -p {tmp_path / 'absent'}`")  # fmt: skip


def test_executables_are_not_checked_when_rendering_on_a_build_host(tmp_path: Path) -> None:
    data = mutated(set_key("failover.fence_command", "/nonexistent/fence"))
    load_config(write_yaml(tmp_path, data), read_secrets=False)


# --- row 10: timings that make one lost packet a failover -------------------------------------------


def test_timings_below_their_floor_are_errors_naming_floor_and_why() -> None:
    data = mutated(
        set_key("monitor.interval", 0.05),
        set_key("monitor.failures", 1),
        set_key("monitor.connect_timeout", 0.01),
        set_key("monitor.read_timeout", 0.01),
    )
    problems = problems_of(data)
    assert len(problems) == 3, problems
    assert problems[0].startswith(f"{PATH}: monitor.interval: 0.05 s is below the floor of 0.2 s: every check")
    assert problems[1].startswith(f"{PATH}: monitor.connect_timeout: 0.01 s is below the floor of 0.1 s: ")
    assert problems[2].startswith(f"{PATH}: monitor.read_timeout: 0.01 s is below the floor of 0.1 s: ")


def test_a_blip_window_draws_a_warning_naming_it() -> None:
    config = parse_config(mutated(set_key("monitor.interval", 0.5), set_key("monitor.failures", 1)), PATH)
    warning = next(w for w in config.warnings if "monitor.failures" in w)
    assert "the window failures x recheck_interval is 0.5 s" in warning


def test_the_default_window_draws_no_warning() -> None:
    assert not [w for w in parse_config(shipped(), PATH).warnings if "window" in w]


# --- the JSON Schema --------------------------------------------------------------------------------


def test_the_shipped_schema_file_is_generated_from_the_loader_definitions() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), "regenerate: mysqlha schema > conf/mysqlha.schema.json"


def test_the_shipped_config_validates_against_the_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.validate(yaml.safe_load(SHIPPED.read_text()), json_schema())


@pytest.mark.parametrize(
    "mutation",
    [set_key("monitor.intervall", 1), set_key("nodes.slave3.port", "abc"), del_key("failover.state_file"),
     set_key("monitor.interval", 0.05), set_key("nodes.slave3.role", "boss")],
)  # fmt: skip
def test_the_schema_rejects_what_the_loader_rejects(mutation: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(mutated(mutation), json_schema())


def write_yaml(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "mysqlha.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load_problems(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write_yaml(tmp_path, data))
    return info.value.problems


def test_recheck_interval_defaults_to_interval_and_sets_the_window() -> None:
    classic = parse_config(shipped(), PATH).monitor
    assert (classic.recheck, classic.window) == (classic.interval, classic.failures * classic.interval)
    fast = parse_config(
        mutated(
            set_key("monitor.interval", 1), set_key("monitor.failures", 3), set_key("monitor.recheck_interval", 0.2)
        ),
        PATH,
    )
    assert fast.monitor.window == pytest.approx(0.6)
    warning = next(w for w in fast.warnings if "monitor.failures" in w)
    assert "3 failed check(s) 0.2 s apart" in warning


def test_recheck_interval_is_between_its_floor_and_the_interval() -> None:
    slow = problems_of(mutated(set_key("monitor.interval", 1), set_key("monitor.recheck_interval", 2)))
    assert slow == [
        f"{PATH}: monitor.recheck_interval: expected at most interval (1 s), got 2 s: " + slow[0].split(": ", 3)[3]
    ]
    fast = problems_of(mutated(set_key("monitor.recheck_interval", 0.01)))
    assert fast[0].startswith(f"{PATH}: monitor.recheck_interval: 0.01 s is below the floor of 0.1 s")


# --- README ------------------------------------------------------------------------------------------


def test_the_readme_lists_the_grants_the_preflight_checks() -> None:
    """README's two grant lists are the privileges ha/preflight.py asks for, flavor by flavor."""
    from ha.preflight import STATEMENTS

    text = " ".join((SHIPPED.parent.parent / "README.md").read_text().split())
    for flavor, intro in (("mariadb", "The monitoring user needs, on MariaDB 10.11: `"), ("mysql", "On MySQL: `")):
        listed = text.split(intro, 1)[1].split("`", 1)[0]
        wanted = {privilege for needs in STATEMENTS.values() for privilege in needs[flavor][1]}
        assert {p.strip() for p in listed.split(",")} == wanted, (flavor, listed)
