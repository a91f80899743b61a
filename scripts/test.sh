#!/usr/bin/env bash
# Install what the tests need (apt: MariaDB and HAProxy binaries, nftables and iproute2 for the
# network-namespace lab; pip: the project with its test and lint extras, in .venv), check lint,
# formatting and types (any finding fails), then run the tests. Extra arguments go to pytest, e.g.
# `-m fresh_root` for the clean Debian 12 root check.
source "$(dirname "$0")/env.sh"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy ha
exec "$PY" -m pytest "$@"
