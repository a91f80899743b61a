"""ha.yamlload: the data safe_load gives, the line of every key, and keys given twice."""

from __future__ import annotations

import pytest
import yaml

from ha.yamlload import load_located

TEXT = """\
nodes:
  a: {host: x, port: 1, port: 2}
  b:
    port: 3
lists:
  - {name: one}
  - name: two
    name: again
nodes:
  c: {}
"""


def test_data_is_what_safe_load_gives() -> None:
    assert load_located(TEXT).data == yaml.safe_load(TEXT)


def test_every_key_has_its_line_and_the_first_one_counts() -> None:
    lines = load_located(TEXT).lines
    assert (lines["nodes"], lines["nodes.a"], lines["nodes.a.port"], lines["nodes.b.port"]) == (1, 2, 2, 4)
    assert lines["lists[1].name"] == 7


def test_keys_given_twice_in_flow_block_and_sequence_mappings() -> None:
    assert load_located(TEXT).duplicates == (("nodes.a.port", 2, 2), ("lists[1].name", 8, 7), ("nodes", 9, 1))


@pytest.mark.parametrize("text", ["", "# only a comment\n", "just text"])
def test_documents_without_mappings(text: str) -> None:
    located = load_located(text)
    assert located.data == yaml.safe_load(text) and located.duplicates == ()


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &b {port: 1}\nnode:\n  <<: *b\n  <<: *b\n  port: 2\n"
    located = load_located(text)
    assert located.data["node"] == {"port": 2} and located.duplicates == ()


def test_invalid_yaml_raises_as_safe_load_does() -> None:
    with pytest.raises(yaml.YAMLError):
        load_located("nodes: [unclosed\n")


def test_a_recursive_alias_does_not_loop() -> None:
    located = load_located("a: &x\n  b: *x\n")
    assert located.lines == {"a": 1, "a.b": 2} and located.duplicates == ()


def test_nested_aliases_are_walked_once() -> None:
    levels = ["l0: &l0 [x, x]"] + [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]" for i in range(1, 40)]
    located = load_located("\n".join(levels) + "\n")
    assert len(located.lines) == 40
