"""The `logging` section: format and history retention, with clear errors."""

from __future__ import annotations

import pytest
import yaml
from test_decide import CLASSIC

from ha.config import parse_config
from ha.errors import ConfigError


def data(**logging: object) -> dict:
    loaded = yaml.safe_load(CLASSIC.read_text())
    for section in ("monitor", "replication"):
        loaded[section].pop("password_file")
        loaded[section]["password"] = "secret"
    if logging:
        loaded["logging"] = logging
    return loaded


def test_defaults_and_values() -> None:
    assert parse_config(data(), "m.yml").logging.format == "iso"
    config = parse_config(data(format="classic", history_keep_days=7, history_max_bytes=65536), "m.yml")
    assert (config.logging.format, config.logging.history_keep_days, config.logging.history_max_bytes) == (
        "classic",
        7.0,
        65536,
    )


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("format", "xml", "m.yml: logging.format: expected iso or classic or json, got 'xml'"),
        ("history_keep_days", 0, "m.yml: logging.history_keep_days: expected days > 0, got 0"),
        ("history_max_bytes", 10, "m.yml: logging.history_max_bytes: expected bytes >= 4096, got 10"),
    ],
)
def test_bad_values_name_file_and_key(key: str, value: object, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data(**{key: value}), "m.yml")
    assert caught.value.problems == [words]
