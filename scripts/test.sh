#!/usr/bin/env bash
# Install what the tests need (apt: MariaDB and HAProxy binaries; pip: the project in .venv) and
# run them. Extra arguments go to pytest, e.g. `-m fresh_root` for the clean Debian 12 root check.
source "$(dirname "$0")/env.sh"
exec "$PY" -m pytest "$@"
