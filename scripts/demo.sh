#!/usr/bin/env bash
# Install what mysqlha needs, then bring up the sandbox (four MariaDB servers, supervisord,
# HAProxy, the mysqlcheck daemon) in ./sandbox. Extra arguments go to `sandbox up`,
# e.g. --base-port 13300 when the classic ports 3306-3309 are taken.
source "$(dirname "$0")/env.sh"
exec $PY -m ha sandbox --dir sandbox up "$@"
