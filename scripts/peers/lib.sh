# shellcheck shell=bash
# Common helpers for the peer scripts in this directory. Source it from a peer script:
#   . "$(dirname "$0")/lib.sh"
# Every peer listens on 127.0.0.1 only. Runtime state (rendered configs, data, logs, pid
# files) goes to $LAB_RUN/<peer> (default /tmp/fargo-peers/<peer>) and is rendered anew on
# each start; nothing is written to /etc except what dpkg itself installs.
# The scripts run as root: they chown the run dir to the peer's system user and drop to it.

# shellcheck disable=SC2034 # used by the peer scripts that source this file
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_RUN="${LAB_RUN:-/tmp/fargo-peers}"
LAB_RUN="${LAB_RUN%/}"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# show_logs FILE... : the tail of each existing, non-empty log on stderr.
show_logs() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 30 "$f" >&2
  done
}

# die_with_logs MESSAGE FILE... : a peer that does not come up must say why in the output the
# caller (often a Go test) shows.
die_with_logs() {
  local msg=$1
  shift
  show_logs "$@"
  die "$msg"
}

# abort_start PIDFILE NAME MESSAGE LOG... : a start that failed after launching must not leave
# a half-started peer behind on the shared machine. The logs are shown before the stop adds
# its shutdown noise to them.
abort_start() {
  local pf=$1 name=$2 msg=$3
  shift 3
  show_logs "$@"
  stop_pid "$pf" "$name" || true
  die "$msg"
}

now_ms() { date +%s%3N; }

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (it installs packages, chowns the run dir and drops to the peer's user)"
}

# A package postinst must never start a system daemon on the shared ports:
# Debian's invoke-rc.d asks /usr/sbin/policy-rc.d, and exit 101 means "denied".
ensure_no_autostart() {
  if [ ! -x /usr/sbin/policy-rc.d ] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
    log "installing /usr/sbin/policy-rc.d (exit 101) so postinst scripts start no daemons"
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
}

# apt_install PKG... : idempotent and non-interactive; `apt-get update` only when the package
# lists are missing (a fresh image), no recommends, keep existing config files.
apt_install() {
  require_root
  ensure_no_autostart
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    # lists may be stored compressed (…_Packages.lz4), hence the trailing glob
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then
      log "apt-get update (no package lists yet)"
      apt-get update >&2 || die "apt-get update failed"
    fi
    log "apt-get install ${missing[*]}"
    apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
  fi
  for p in "$@"; do
    dpkg-query -W -f='  ${Package} ${Version}\n' "$p" >&2
  done
}

# port_busy PROTO PORT : true if anyone listens on PORT (any address), per the socket table.
# (Captured, not piped into grep -q: with pipefail an early-exiting grep can fail the pipe.)
port_busy() {
  local proto=$1 port=$2 flag=-Hlnt
  [ "$proto" = udp ] && flag=-Hlnu
  [ -n "$(ss "$flag" "sport = :$port")" ]
}

# require_free PROTO:PORT... : refuse to start on a taken port (the machine is shared);
# every port can be moved with the peer's env vars.
require_free() {
  local spec bad=0 port
  for spec in "$@"; do
    port=${spec#*:}
    if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
      die "invalid port '$port' ($spec)"
    fi
  done
  for spec in "$@"; do
    if port_busy "${spec%%:*}" "${spec#*:}"; then
      log "port $spec already in use:"
      ss -Hlntup "sport = :${spec#*:}" >&2 || true
      bad=1
    fi
  done
  [ $bad = 0 ] || die "ports busy; choose other ports via the env vars documented in the script"
}

# check_name NAME : an instance name is a directory below the peer's run dir.
check_name() {
  if ! [[ "${1:-}" =~ ^[A-Za-z0-9_.-]+$ ]]; then
    die "invalid name '${1:-}' (letters, digits, _ . -)"
  fi
}

# check_port PORT : a number in 1..65535.
check_port() {
  if ! [[ "${1:-}" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
    die "invalid port '${1:-}'"
  fi
}

# check_proxy ADDR : the SIP proxy every request goes to must be a loopback IP literal.
check_proxy() {
  if ! [[ "$1" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$ ]]; then
    die "SIP_PROXY must be 127.x.y.z:PORT, not '$1'"
  fi
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_alive PID : true if PID runs. An exited daemon stays a zombie until init reaps it, which
# takes over a second in some sandboxes; a zombie holds no sockets, so it counts as gone.
pid_alive() {
  local stat
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the state follows "(comm) ", and comm may contain spaces
  [ "${stat%% *}" != Z ]
}

# ours PID : true if the process was started from this LAB_RUN (every peer's command line names
# a file in it). A stale pid file must not make us signal a stranger that reused the pid.
ours() {
  local cmd
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *"$LAB_RUN/"* ]]
}

# running PIDFILE : true if the pid recorded there is alive and ours.
running() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  pid_alive "$pid" && ours "$pid"
}

# wait_pidfile PIDFILE [TIMEOUT_S] : the launcher writes the pid just before exec.
wait_pidfile() {
  local pf=$1 t=${2:-10} i=0
  until [ -s "$pf" ]; do
    i=$((i + 1))
    [ $i -gt $((t * 10)) ] && return 1
    sleep 0.1
  done
}

# wait_until PIDFILE TIMEOUT_S CMD... : poll CMD every 0.1 s while the recorded pid lives.
# Returns 1 on timeout, 2 as soon as the process died (no point in waiting further).
wait_until() {
  local pf=$1 t=$2 i=0
  shift 2
  until "$@"; do
    running "$pf" || return 2
    i=$((i + 1))
    [ $i -gt $((t * 10)) ] && return 1
    sleep 0.1
  done
}

# wait_exit PID TENTHS : wait up to TENTHS tenths of a second for PID to exit; false if it
# still runs then.
wait_exit() {
  local i
  for ((i = 0; i < $2; i++)); do
    pid_alive "$1" || return 0
    sleep 0.1
  done
  ! pid_alive "$1"
}

# stop_pid PIDFILE NAME : SIGTERM the recorded pid, wait up to 10 s, then SIGKILL.
# Only the pid this script recorded is signalled; a missing pidfile is not an error.
stop_pid() {
  local pf=$1 name=$2 pid
  if [ ! -s "$pf" ]; then
    log "$name: not running (no pidfile $pf)"
    rm -f "$pf"
    return 0
  fi
  pid=$(cat "$pf")
  if pid_alive "$pid" && ! ours "$pid"; then
    log "$name: pid $pid belongs to another process now (stale pid file), not signalling it"
  elif pid_alive "$pid"; then
    log "stopping $name pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 100; then
      log "$name did not exit within 10 s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "$name: pid $pid not running"
  fi
  rm -f "$pf"
}

# show_listen PID... : the listening sockets of these processes (for status output).
show_listen() {
  local re
  re=$(printf '%s|' "$@")
  ss -Hlntup | grep -E "pid=(${re%|})," >&2 || true
}

# await_ready PIDFILE NAME TIMEOUT_S CHECK LOG... : wait until a launched peer passes CHECK. A
# peer that exits meanwhile, or is not ready in time, is stopped and its logs are shown.
await_ready() {
  local pf=$1 name=$2 secs=$3 check=$4 rc=0
  shift 4
  wait_until "$pf" "$secs" "$check" || rc=$?
  case $rc in
  0) ;;
  2) abort_start "$pf" "$name" "$name exited during startup" "$@" ;;
  *) abort_start "$pf" "$name" "$name was not ready within $secs s" "$@" ;;
  esac
}

# peer_status PIDFILE [CMD...] : "running pid N" and CMD's details, or "stopped" (exit 1).
peer_status() {
  local pf=$1
  shift
  if ! running "$pf"; then
    echo "stopped"
    return 1
  fi
  echo "running pid $(cat "$pf")"
  [ $# -eq 0 ] || "$@"
}
