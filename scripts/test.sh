#!/usr/bin/env bash
# Install what the tests need (apt: mariadb-server haproxy; pip: the project) and run them.
source "$(dirname "$0")/env.sh"
exec $PY -m pytest "$@"
