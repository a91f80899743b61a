#!/usr/bin/env bash
# Install what the sandbox needs and nothing more (apt: mariadb-server-core, mariadb-client-core,
# haproxy with its packaged service disabled, python3-venv; pip: this package into ./.venv; see
# scripts/env.sh), then bring up the sandbox (four MariaDB servers, supervisord, HAProxy, the
# mysqlcheck daemon) in ./sandbox. Extra arguments go to `mysqlha sandbox up`, e.g.
# --base-port 13300 when the classic ports (3306-3309, 3031/3032, 3041/3042) are taken.
MYSQLHA_CHECK_PORTS=1
MYSQLHA_FOR=demo
source "$(dirname "$0")/env.sh" "$@"
exec "$MYSQLHA" sandbox --dir sandbox up "$@"
