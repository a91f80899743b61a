#!/usr/bin/env bash
# Install what the tests need (apt: mariadb-server haproxy; pip: the project with its test and lint
# extras), check lint, formatting and types (any finding fails), then run the tests.
source "$(dirname "$0")/env.sh"
$PY -m ruff check .
$PY -m ruff format --check .
$PY -m mypy ha
exec $PY -m pytest "$@"
