#!/usr/bin/env bash
# Install what mysqlha needs, then bring up the sandbox (four MariaDB servers, supervisord,
# HAProxy, the mysqlcheck daemon) in ./sandbox. Extra arguments go to `mysqlha sandbox up`,
# e.g. --base-port 13300 when the classic ports 3306-3309 are taken.
MYSQLHA_CHECK_PORTS=1
source "$(dirname "$0")/env.sh" "$@"
exec "$MYSQLHA" sandbox --dir sandbox up "$@"
