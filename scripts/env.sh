# Sourced by demo.sh and test.sh: installs what mysqlha needs on Debian 12 and sets $PY.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null || missing+=(mariadb-server)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || missing+=(haproxy)
# the netns lab (tests/lab.py): ip from iproute2, nft to cut one link
[ -x /usr/sbin/nft ] || command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /bin/ip ] || missing+=(iproute2)
command -v etcd >/dev/null || missing+=(etcd-server)  # the coordination tests run a real 3-member etcd
PY=python3
# Use the interpreter's own pip unless Debian marks it externally managed (PEP 668): then a venv.
if ! $PY -m pip --version >/dev/null 2>&1 ||
   [ -e "$($PY -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  $PY -m venv --help >/dev/null 2>&1 && $PY -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
  USE_VENV=1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${USE_VENV:-0}" = 1 ]; then
  [ -x .venv/bin/python ] || $PY -m venv .venv
  PY=.venv/bin/python
fi
root_flag=(); [ "$(id -u)" -eq 0 ] && [ "${USE_VENV:-0}" != 1 ] && root_flag=(--root-user-action=ignore)
$PY -m pip install -q --disable-pip-version-check "${root_flag[@]}" -e ".[test]"
