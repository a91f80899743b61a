#!/usr/bin/env bash
# The clean-root check: copy this checkout into a fresh Debian 12 root (debootstrap, cached under
# $MYSQLHA_DEBOOTSTRAP_CACHE, default /var/cache/mysqlha-debootstrap) and run README.md's "Try it"
# commands verbatim in it, first as root, then as an ordinary user (first without sudo: the
# one-line message; then with sudo). Checks every exit code and that `sandbox kill M1` ends in
# `failover finished!`. The root shares this host's network: demo.sh runs verbatim, on the classic
# ports, when they are free here, else (logged: which port is held, by whom) with a free --base-port.
# Then demo.sh once more (nothing to install: no apt, no pip) and every hint it prints, verbatim.
# The root has no policy-rc.d of its own: env.sh must keep haproxy's and etcd's packaged services
# from starting and leave them disabled, and this script fails if one is enabled or running;
# it fails too if demo.sh installed etcd-server or the test extra (only test.sh needs them).
# Every process of the root is stopped and /proc unmounted at the end, pass or fail.
#
#   sudo bash scripts/fresh-debian.sh [--only root|user] [--tests 'PYTEST ARGS'] [--keep]
#
# --tests passes arguments to `bash scripts/test.sh` (default none: the whole suite, as README says).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MYSQLHA_DEBOOTSTRAP_CACHE:-/var/cache/mysqlha-debootstrap}
MIRROR=${MYSQLHA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
USER_NAME=newcomer
only="" test_args="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --tests) test_args=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "fresh-debian.sh: unknown option $1 (expected --only root|user, --tests ARGS, --keep)" >&2; exit 2 ;;
  esac
done

log() { printf '[fresh-debian %s] %s\n' "$(date +%T)" "$*"; }
fail() {
  log "FAIL: $*"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount): sudo bash scripts/fresh-debian.sh"
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install -y debootstrap"

# -- the cached base root ------------------------------------------------------------------
base=$CACHE/bookworm
mkdir -p "$CACHE"
(
  flock 9
  if [ ! -e "$base/etc/debian_version" ]; then
    log "building the Debian 12 base root in $base (debootstrap, about 1-3 min, once)"
    rm -rf "$base.tmp"
    debootstrap bookworm "$base.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      fail "debootstrap failed; see $CACHE/debootstrap.log"
    mv "$base.tmp" "$base"
  fi
) 9>"$CACHE/.lock"
log "base root: $base (Debian $(cat "$base/etc/debian_version"))"

# -- one fresh root per run, stopped and removed by cleanup ----------------------------------
work="" root=""
stop_root() {
  [ -n "$root" ] || return 0
  local pids=() proc
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && pids+=("${proc#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${#pids[@]} process(es) left in the root: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 3
    kill -KILL "${pids[@]}" 2>/dev/null || true
    local pid waited=0
    for pid in "${pids[@]}"; do
      while [ -e "/proc/$pid" ] && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
    done
  fi
  mountpoint -q "$root/dev/pts" && { umount "$root/dev/pts" || umount -l "$root/dev/pts"; }
  mountpoint -q "$root/proc" && { umount "$root/proc" || umount -l "$root/proc"; }
  mountpoint -q "$root" && { umount "$root" || umount -l "$root"; }
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
  root="" work=""
}
trap 'stop_root' EXIT
trap 'exit 130' INT TERM

new_root() {
  work=$(mktemp -d /var/tmp/mysqlha-fresh.XXXXXX)
  root=$work/root
  mkdir -p "$work/upper" "$work/overlay-work" "$root"
  if ! mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/overlay-work" "$root" 2>/dev/null; then
    cp -a "$base/." "$root/"
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  grep -qw "$(hostname)" "$root/etc/hosts" 2>/dev/null || printf '127.0.1.1 %s\n' "$(hostname)" >>"$root/etc/hosts" # sudo asks
  printf '%s\n' "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >"$root/etc/apt/sources.list"
  # This host's network may intercept TLS (a lab's egress proxy): pip in the root trusts what the
  # host's pip trusts, and nothing else of the host's pip setup comes along.
  local cert=${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
  if [ -n "$cert" ] && [ -r "$cert" ]; then
    cp "$cert" "$root/etc/pip-host-ca.crt"
    printf '[global]\ncert = /etc/pip-host-ca.crt\n' >"$root/etc/pip.conf"
  fi
  mount -t proc proc "$root/proc"
  mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
}

copy_checkout() { # $1: home directory inside the root
  mkdir -p "$root$1/mysqlha"
  if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z -co --exclude-standard | (cd "$REPO" && tar --null -T - -cf -) | tar -C "$root$1/mysqlha" -xf -
  else
    tar -C "$REPO" --exclude=./.venv --exclude=./sandbox -cf - . | tar -C "$root$1/mysqlha" -xf -
  fi
}

as() { # $1: user; the rest: a command line, run from ~/mysqlha in a login shell (a login PATH)
  local who=$1
  shift
  chroot "$root" /usr/bin/env -i TERM=dumb LANG=C.UTF-8 /bin/su -l "$who" -c "cd ~/mysqlha && $*"
}

free_base_port() { # a base N in 10000-20000: below the tests' 20000-40000 and the ephemeral ports
  python3 - <<'EOF'
import random, socket
def free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
for _ in range(500):
    base = random.randrange(10000, 20000, 20)
    if all(free(base + o) for o in (*range(4), *range(10, 16))):
        print(base)
        break
EOF
}

CLASSIC_PORTS=(3306 3307 3308 3309 3031 3032 3041 3042) # what `sandbox up` binds without --base-port

demo_args="" # "" (README verbatim: the classic ports) or " --base-port N"
pick_demo_ports() { # $1: who. Verbatim when every classic port is free on this host (a fresh CI machine).
  local port holder
  demo_args=""
  for port in "${CLASSIC_PORTS[@]}"; do
    if ! python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
      holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(([^)]*' | head -1 || true)
      holder=${holder#users:((}
      demo_args=" --base-port $(free_base_port)"
      log "$1: 127.0.0.1:$port is held on this host (${holder:-holder unknown}): demo.sh gets$demo_args, not README's classic ports"
      return 0
    fi
  done
  log "$1: the classic ports (${CLASSIC_PORTS[*]}) are free here: demo.sh runs exactly as README says"
}

down_first() { # $1: who. A sandbox left by an earlier run in this root is stopped before the next starts.
  local rc
  set +e
  as "$1" "[ ! -e sandbox/mysqlha.yml ] || .venv/bin/mysqlha sandbox --dir sandbox down" 2>&1 | sed 's/^/    /'
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || fail "$1: \`mysqlha sandbox down\` before the next run exited $rc"
}

no_packaged_services() { # $1: who. After the last `sandbox down`: no haproxy/etcd service enabled, nothing left running.
  local links proc left=()
  links=$(cd "$root/etc" && ls -d systemd/system/*.wants/haproxy.service systemd/system/*.wants/etcd.service \
    rc[2-5].d/S[0-9][0-9]haproxy rc[2-5].d/S[0-9][0-9]etcd 2>/dev/null || true)
  [ -z "$links" ] || fail "$1: a packaged service is enabled in the root: $(echo $links)"
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && left+=("$(cat "$proc/comm" 2>/dev/null), pid ${proc#/proc/}")
  done
  [ ${#left[@]} -eq 0 ] || fail "$1: processes still running in the root after \`sandbox down\`: ${left[*]}"
  log "$1: no packaged service enabled (haproxy, etcd), no process left in the root"
}

# README's "Try it": the fenced blocks of that section, comments dropped.
mapfile -t COMMANDS < <(python3 - "$REPO/README.md" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("\n## Try it", 1)[1].split("\n## ", 1)[0]
for block in re.findall(r"```sh\n(.*?)```", section, re.S):
    for line in block.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line:
            print(line)
EOF
)
[ ${#COMMANDS[@]} -ge 4 ] || fail "README.md: found no commands in the Try it section"

run_readme() { # $1: user. Every command of README, verbatim (--base-port only when a classic port is held).
  local who=$1 line rc started took
  down_first "$who"
  pick_demo_ports "$who"
  for line in "${COMMANDS[@]}"; do
    case "$line" in
      "bash scripts/demo.sh"*) line="$line$demo_args" ;;                # README: "add --base-port" when taken
      "bash scripts/test.sh"*) line="$line${test_args:+ $test_args}" ;; # the whole suite unless --tests
    esac
    log "$who\$ $line"
    started=$(date +%s)
    set +e
    as "$who" "$line" 2>&1 | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    set -e
    took=$(($(date +%s) - started))
    case "$line" in "timeout "*" tail -f "*) [ "$rc" -eq 124 ] && rc=0 ;; esac # timeout ended it
    [ "$rc" -eq 0 ] || fail "$who: \`$line\` exited $rc"
    log "$who: exit 0 in ${took} s"
    case "$line" in
      "bash scripts/demo.sh"*) # the first command: nothing of test.sh's yet
        [ ! -e "$root/usr/bin/etcd" ] || fail "$who: demo.sh installed etcd-server (only test.sh needs it)"
        ! as "$who" "test -e .venv/bin/pytest" || fail "$who: demo.sh installed the test extra (only test.sh needs it)"
        log "$who: demo.sh installed neither etcd-server nor the test extra"
        ;;
      *"sandbox kill M1"*)
        local deadline=$(($(date +%s) + 180))
        until as "$who" "grep -q 'failover finished!' sandbox/logs/mysqlcheck.log"; do
          [ "$(date +%s)" -lt "$deadline" ] || fail "$who: no 'failover finished!' in sandbox/logs/mysqlcheck.log within 180 s"
          sleep 2
        done
        log "$who: the log says: $(as "$who" "grep 'failover finished!' sandbox/logs/mysqlcheck.log" | tail -1)"
        ;;
    esac
  done
}

run_hints() { # $1: user. demo.sh again (a rerun: no apt, no pip), then every hint it prints, verbatim.
  local who=$1 out rc line started
  down_first "$who"
  pick_demo_ports "$who"
  line="bash scripts/demo.sh$demo_args"
  log "$who\$ $line   (a rerun: nothing to install)"
  started=$(date +%s)
  set +e
  out=$(as "$who" "$line" 2>&1)
  rc=$?
  set -e
  printf '%s\n' "$out" | sed 's/^/    /'
  [ "$rc" -eq 0 ] || fail "$who: the rerun of demo.sh exited $rc"
  log "$who: the rerun of demo.sh: exit 0 in $(($(date +%s) - started)) s"
  printf '%s\n' "$out" | grep -q 'system packages: all there' || fail "$who: the rerun wanted system packages"
  printf '%s\n' "$out" | grep -q 'pip skipped' || fail "$who: the rerun ran pip"
  printf '%s\n' "$out" | grep -E '^(connect|daemon|status|programs|drills|stop): ' | sed -E 's/^[a-z]+: +//' >"$root/tmp/hints"
  [ "$(wc -l <"$root/tmp/hints")" -ge 6 ] || fail "$who: demo.sh printed fewer than 6 hints"
  while IFS= read -r line; do
    case "$line" in "tail -f "*) line="timeout 3 $line" ;; esac # the one hint that never ends by itself
    log "$who\$ $line"
    set +e
    as "$who" "$line" </dev/null 2>&1 | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    set -e
    case "$line" in
      "timeout 3 tail -f "*) [ "$rc" -eq 124 ] && rc=0 ;;
      *"supervisorctl -c "*" status") [ "$rc" -eq 3 ] && rc=0 ;; # 3: some programs stopped (the failover sets are)
    esac
    [ "$rc" -eq 0 ] || fail "$who: demo.sh's hint \`$line\` exited $rc"
  done <"$root/tmp/hints"
  no_packaged_services "$who"
}

total=$(date +%s)
if [ -z "$only" ] || [ "$only" = root ]; then
  log "== as root, in a fresh root"
  new_root
  copy_checkout /root
  run_readme root
  run_hints root
  stop_root
fi
if [ -z "$only" ] || [ "$only" = user ]; then
  log "== as the ordinary user $USER_NAME, in a fresh root"
  new_root
  chroot "$root" useradd -m -s /bin/bash "$USER_NAME"
  copy_checkout "/home/$USER_NAME"
  chroot "$root" chown -R "$USER_NAME:$USER_NAME" "/home/$USER_NAME/mysqlha"
  pick_demo_ports "$USER_NAME"
  line="bash scripts/demo.sh$demo_args"
  log "$USER_NAME\$ $line   (no sudo yet: expect one line naming what root must install)"
  set +e
  out=$(as "$USER_NAME" "$line" 2>&1)
  rc=$?
  set -e
  printf '%s\n' "$out" | sed 's/^/    /'
  [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c 'apt-get install -y')" -eq 1 ] ||
    fail "without sudo: expected a failure with one line naming the apt-get install, got exit $rc"
  log "installing sudo in the root ($USER_NAME may run anything with sudo, no password)"
  chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null"
  echo "$USER_NAME ALL=(ALL) NOPASSWD:ALL" >"$root/etc/sudoers.d/$USER_NAME"
  chmod 440 "$root/etc/sudoers.d/$USER_NAME"
  run_readme "$USER_NAME"
  run_hints "$USER_NAME"
  stop_root
fi
log "PASS: README's commands and demo.sh's hints ran verbatim as ${only:-root and $USER_NAME} in $(($(date +%s) - total)) s"
