#!/usr/bin/env bash
# Install what the tests need (apt: what demo.sh installs, plus nftables and iproute2 for the
# network-namespace lab and etcd-server for the real 3-member etcd, its service disabled; pip: the
# project with its test extra, in .venv: pytest, ruff, mypy, ...; see scripts/env.sh), check lint,
# formatting and types (any finding fails), then run the tests. Extra arguments go to pytest, e.g.
# `-m fresh_root` for the clean Debian 12 root check.
MYSQLHA_FOR=test
source "$(dirname "$0")/env.sh"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy ha
exec "$PY" -m pytest "$@"
