# Sourced by demo.sh (MYSQLHA_FOR=demo) and test.sh (MYSQLHA_FOR=test) on Debian 12: checks the
# sandbox's ports (demo.sh), installs only what is missing, and sets $PY and $MYSQLHA. One progress
# line per phase, on stdout. What each installs, and why:
#   demo.sh  apt: mariadb-server-core mariadb-client-core (mariadbd, mariadb-install-db, mariadb,
#                 my_print_defaults: the sandbox's four servers; not mariadb-server, whose service
#                 takes 3306), haproxy (the proxy programs), python3-venv (./.venv: Debian's Python
#                 is externally managed); pip: this package, editable, into ./.venv (PyMySQL,
#                 supervisor, PyYAML: all `sandbox up` and the daemon import).
#   test.sh  the same, plus apt: nftables and iproute2 (the network-namespace lab, tests/lab.py),
#                 etcd-server (the coordination tests run a real 3-member etcd); pip: the test
#                 extra (pytest, prometheus-client, jsonschema, ruff, mypy, type stubs, and
#                 setuptools for the in-process sdist build of tests/test_packaging.py).
# haproxy's and etcd-server's packages enable and start a service of their own (etcd on
# localhost:2379/2380, at every boot): they are installed with a temporary policy-rc.d that
# refuses starts (only when the machine has none; removed after), and their units are disabled
# (`systemctl disable --now` when systemd runs), so no packaged server is left running or enabled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONUNBUFFERED=1 # Python's lines stay in order with ours when piped

trap 'printf "mysqlha: %s failed (exit %s) at scripts/env.sh line %s\n" "$BASH_COMMAND" $? $LINENO >&2' ERR
say() { printf 'mysqlha: %s\n' "$*"; }
die() {
  printf 'mysqlha: %s\n' "$*" >&2
  exit 1
}

# -- ports ---------------------------------------------------------------------------------
# A listener on 127.0.0.1, 0.0.0.0 or :: at PORT (from /proc: no python or iproute2 needed).
listen_inodes() {
  local hex
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v port="$hex" '
    $4 == "0A" {
      split($2, local_address, ":")
      address = local_address[1]
      if (local_address[2] == port && (address == "0100007F" || address ~ /^0+$/ ||
          address == "0000000000000000FFFF00000100007F")) print $10
    }'
}

# "mariadbd, pid 812" for the process holding socket INODE, if this user may look.
holder_of() {
  local inode=$1 fd pid
  for fd in /proc/[0-9]*/fd/*; do
    if [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ]; then
      pid=${fd#/proc/}
      pid=${pid%%/*}
      printf '%s, pid %s' "$(cat "/proc/$pid/comm" 2>/dev/null)" "$pid"
      return
    fi
  done 2>/dev/null
  printf "a process of another user; \`sudo ss -ltnp 'sport = :%s'\` names it" "$2"
}

sandbox_ports() { # the classic layout, or the one `sandbox up --base-port N` uses
  if [ -z "${1:-}" ]; then
    echo 3306 3307 3308 3309 3031 3032 3041 3042
  else
    echo "$1" $(($1 + 1)) $(($1 + 2)) $(($1 + 3)) $(($1 + 10)) $(($1 + 11)) $(($1 + 12)) $(($1 + 13))
  fi
}

# Before anything slow: are the ports `sandbox up "$@"` will use free?
check_ports() {
  local base="" arg prev="" port inode busy=() ours=0
  for arg in "$@"; do
    case "$prev" in --base-port) base=$arg ;; --topology) return 0 ;; esac # a custom topology: `sandbox up` checks
    case "$arg" in --base-port=*) base=${arg#*=} ;; --topology=*) return 0 ;; esac
    prev=$arg
  done
  if [ -n "$base" ] && ! [[ "$base" =~ ^[0-9]+$ ]]; then die "--base-port expects a number, got '$base'"; fi
  for port in $(sandbox_ports "$base"); do
    for inode in $(listen_inodes "$port"); do
      holder=$(holder_of "$inode" "$port")
      busy+=("127.0.0.1:$port ($holder)")
      case "$holder" in *", pid "*) grep -qF "$PWD/sandbox" "/proc/${holder##* }/cmdline" 2>/dev/null && ours=1 ;; esac
      break
    done
  done
  [ ${#busy[@]} -eq 0 ] && return 0
  [ "$ours" = 1 ] && die "a sandbox is already running in ./sandbox: stop it with \`.venv/bin/mysqlha sandbox down\` first"
  local free=13300
  while [ "$free" -lt 30000 ]; do
    local taken=0
    for port in $(sandbox_ports "$free") $((free + 14)) $((free + 15)); do
      [ -z "$(listen_inodes "$port")" ] || taken=1
    done
    [ "$taken" = 0 ] && break
    free=$((free + 100))
  done
  die "ports in use: $(
    IFS=';'
    echo "${busy[*]}"
  ). Pass --base-port $free (nodes on $free-$((free + 3)), proxies on $((free + 10))-$((free + 13)); free now): \`bash scripts/demo.sh --base-port $free\` (demo.sh passes its options on to \`mysqlha sandbox up\`)"
}

if [ "${MYSQLHA_CHECK_PORTS:-0}" = 1 ]; then
  say "[1/4] checking the sandbox's ports"
  check_ports "$@"
else
  say "[1/4] ports: the tests pick free ones"
fi

# -- system packages -----------------------------------------------------------------------
purpose=${MYSQLHA_FOR:-test}
case "$purpose" in demo | test) ;; *) die "MYSQLHA_FOR is '$purpose': expected demo or test" ;; esac
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
# Only the binaries: the mariadb-server package would start its own server on 3306.
have mariadbd && have mariadb-install-db || missing+=(mariadb-server-core)
have mariadb && have my_print_defaults || missing+=(mariadb-client-core)
have haproxy || missing+=(haproxy)
have python3 || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
wanted="mariadbd, mariadb, haproxy, python3-venv"
if [ "$purpose" = test ]; then
  have nft || missing+=(nftables)     # the network-namespace lab (tests/lab.py) cuts one link with nft
  have ip || missing+=(iproute2)      # ... and builds its namespaces and veths with ip
  have etcd || missing+=(etcd-server) # the coordination tests run a real 3-member etcd
  wanted="$wanted, nft, ip, etcd"
fi
if [ ${#missing[@]} -eq 0 ]; then
  say "[2/4] system packages: all there ($wanted)"
else
  install="apt-get install -y ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    die "missing ${missing[*]}, and no sudo to install them: as root run \`apt-get update && $install\`, then run this again"
  fi
  say "[2/4] system packages: installing ${missing[*]} with ${as_root[*]:+sudo }apt-get (about 30-60 s)"
  services=() # the packages among them that enable and start a server of their own
  for package in "${missing[@]}"; do
    case "$package" in haproxy) services+=(haproxy) ;; etcd-server) services+=(etcd) ;; esac
  done
  policy=/usr/sbin/policy-rc.d ours=0
  if [ ${#services[@]} -gt 0 ]; then
    if [ -e "$policy" ] || [ -L "$policy" ]; then
      say "      ${services[*]}: packaged services disabled after the install (this machine's $policy left as it is)"
    else
      say "      ${services[*]}: packaged services not started (a temporary $policy refuses starts) and disabled"
      printf '#!/bin/sh\n# mysqlha scripts/env.sh: no packaged service starts during this install\nexit 101\n' |
        "${as_root[@]}" tee "$policy" >/dev/null
      "${as_root[@]}" chmod 755 "$policy"
      ours=1
      trap '"${as_root[@]}" rm -f "$policy"' EXIT # also when apt-get fails
    fi
  fi
  say "      apt-get update"
  "${as_root[@]}" apt-get update -qq ||
    die "apt-get update failed; as root run \`apt-get update && $install\`, then run this again"
  say "      $install"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install failed; as root run \`$install\`, then run this again"
  for service in "${services[@]}"; do # never left enabled (at boot) or running
    if [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl disable --now --quiet "$service.service" 2>/dev/null || true
    else
      [ "$ours" = 1 ] || "${as_root[@]}" /usr/sbin/invoke-rc.d "$service" stop >/dev/null 2>&1 || true
      if command -v systemctl >/dev/null 2>&1; then # no systemd running (a chroot): the unit's links
        "${as_root[@]}" systemctl disable --quiet "$service.service" 2>/dev/null || true
      fi
      "${as_root[@]}" /usr/sbin/update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  done
  if [ "$ours" = 1 ]; then
    "${as_root[@]}" rm -f "$policy"
    trap - EXIT
  fi
fi

# -- the Python package, in ./.venv (Debian's Python is externally managed) --------------
if [ -x .venv/bin/python ]; then
  say "[3/4] virtualenv: .venv (reused)"
else
  say "[3/4] virtualenv: creating .venv"
  python3 -m venv .venv
fi
PY=$PWD/.venv/bin/python
MYSQLHA=$PWD/.venv/bin/mysqlha
stamp=.venv/.mysqlha-installed # "<hash of the packaging> <checkout> <what pip installed>"
extra=$([ "$purpose" = test ] && echo ".[test]" || echo ".")
have_pkg="$(cat pyproject.toml $(ls setup.py setup.cfg 2>/dev/null || true) | sha256sum | cut -d' ' -f1) $PWD"
installed=$(cat "$stamp" 2>/dev/null || true)
# demo.sh needs the package alone: an install with the test extra serves it too
if [ -x "$MYSQLHA" ] && { [ "$installed" = "$have_pkg $extra" ] || [ "$extra:$installed" = ".:$have_pkg .[test]" ]; }; then
  say "[4/4] python package: up to date in .venv (editable; pip skipped)"
else
  say "[4/4] python package: pip install -e '$extra' into .venv (about 20 s the first time)"
  "$PY" -m pip install -q --disable-pip-version-check -e "$extra"
  echo "$have_pkg $extra" >"$stamp"
fi
