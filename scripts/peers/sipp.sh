#!/bin/bash
# SIPp 3.6 (Debian `sip-tester`) as scripted SIP endpoints for the end-to-end tests, through the
# lab Kamailio (or any registrar/proxy on loopback). Every scenario handles exactly one call
# (-m 1) and SIPp exits 0 only if the call followed it.
#   sipp.sh install
#   sipp.sh register USER PASS [LPORT]          REGISTER with digest from LPORT (register.xml)
#   sipp.sh uas SCENARIO USER PASS [LPORT [SIPP_ARGS...]]   REGISTER from LPORT, then run SCENARIO
#        there in the background (one call); `wait NAME` returns its exit code
#   sipp.sh uac SCENARIO USER PASS TARGET_USER [LPORT [SIPP_ARGS...]]
#        foreground: one call from USER to TARGET_USER@$SIPP_DOMAIN through $SIP_PROXY (digest on
#        407); exits with SIPp's code. SIPP_ARGS go to sipp as they are (e.g. -key NAME VALUE)
#   sipp.sh stop NAME | wait NAME [SECONDS] | status [NAME] | logs NAME [N]
# SCENARIO is a file, or the name of one in scripts/peers/sipp: uas-answer, uas-busy, uas-decline,
# uas-unavailable, uas-noanswer, uas-nocodec, uas-hold-dtmf, uac-busy, uac-decline,
# uac-unavailable, uac-cancel, uac-nocodec, uac-answer-hold-dtmf (.xml may be left out).
# NAME is $SIPP_NAME, else USER for uas, uac-USER for uac, reg-USER for register.
# Env (defaults):
#   SIP_PROXY=127.0.0.1:5060 (IP:port on 127.0.0.0/8)  SIPP_DOMAIN=sip.example.org
#   LPORT when not given: SIPP_REGISTER_PORT=26070, SIPP_UAS_PORT=26080, SIPP_UAC_PORT=26090
#   SIPP_MEDIA_PORT=27000+LPORT%1000 (SIPp binds it and +2 for video)  SIPP_CONTROL_PORT=LPORT+1
#   SIPP_TIMEOUT (s: uas 120, uac 60, register 10)  SIPP_PAUSE_MS=1000 (<pause/> of the scenarios)
#   SIPP_EXPIRES=3600  SIPP_RTP_ECHO=1 (uas: echo the RTP received on the media port)
#   LAB_RUN=/tmp/fargo-peers
# Runtime dir $LAB_RUN/sipp/NAME: messages.log (-trace_msg: every SIP message sent and received),
# errors.log (-trace_err), screen.log (SIPp's output with the final statistics), inf.csv (the
# injection file with the credentials), scenario.xml (a copy), lab.pid (uas) and rc (exit code,
# once SIPp ended).
# SIPp runs as nobody. Loopback only: -i/-mi/-ci 127.0.0.1 and the remote side is an IP literal.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PROXY=${SIP_PROXY:-127.0.0.1:5060}
DOMAIN=${SIPP_DOMAIN:-sip.example.org}
PAUSE_MS=${SIPP_PAUSE_MS:-1000}
RUN=$LAB_RUN/sipp
# SIPp needs no privilege: it runs as nobody (setpriv execs, so pids stay SIPp's)
DROP=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

install() { apt_install sip-tester iproute2; }

scenario_file() {
  local s=$1
  if [ -f "$s" ]; then
    realpath "$s"
  elif [ -f "$PEERS_DIR/sipp/${s%.xml}.xml" ]; then
    echo "$PEERS_DIR/sipp/${s%.xml}.xml"
  else
    die "no scenario '$s' (a file, or one of: $(cd "$PEERS_DIR/sipp" && echo *.xml))"
  fi
}

media_port() { echo "${SIPP_MEDIA_PORT:-$((27000 + $1 % 1000))}"; }
control_port() { echo "${SIPP_CONTROL_PORT:-$(($1 + 1))}"; }

# prepare NAME USER PASS SCENARIO_FILE : a fresh run dir with the injection file
# (USER;DOMAIN;[authentication]) and a copy of the scenario that SIPp (as nobody) can read.
prepare() {
  local d=$RUN/$1
  check_name "$1"
  running "$d/lab.pid" && die "sipp $1 is running (stop it first)"
  rm -rf "$d"
  mkdir -p "$d"
  printf 'SEQUENTIAL\n%s;%s;[authentication username=%s password=%s]\n' "$2" "$DOMAIN" "$2" "$3" >"$d/inf.csv"
  cp "$4" "$d/scenario.xml"
  chown -R nobody:nogroup "$d"
}

# common_args DIR LPORT TIMEOUT : the options of every run (one call, loopback, traces in DIR).
common_args() {
  local d=$1 lp=$2
  printf '%s\n' -i 127.0.0.1 -mi 127.0.0.1 -ci 127.0.0.1 -p "$lp" -mp "$(media_port "$lp")" \
    -cp "$(control_port "$lp")" -t u1 -m 1 -l 1 -nostdin -d "$PAUSE_MS" \
    -timeout "${3}s" -timeout_error -trace_msg -message_file "$d/messages.log" \
    -trace_err -error_file "$d/errors.log"
}

# require_ports LPORT : SIP, control and media (audio and video) ports must be free.
require_ports() {
  local mp
  mp=$(media_port "$1")
  require_free "udp:$1" "udp:$(control_port "$1")" "udp:$mp" "udp:$((mp + 2))"
}

# counter DIR NAME : the cumulative value of a counter ("Successful call") on SIPp's last screen.
counter() {
  awk -F'|' -v name="$2" '$1 ~ "^ *" name " *$" {gsub(/ /, "", $3); v = $3} END {print v + 0}' "$1/screen.log" 2>/dev/null || echo 0
}

# summary DIR : SIPp's last statistics (successful/failed calls) and its errors.
summary() {
  echo "sipp: successful=$(counter "$1" "Successful call") failed=$(counter "$1" "Failed call")" >&2
  [ ! -s "$1/errors.log" ] || {
    echo "----- $1/errors.log -----" >&2
    tail -n 20 "$1/errors.log" >&2
  }
}

# run_scenario NAME USER PASS SCENARIO_FILE LPORT TIMEOUT_S [SIPP_ARGS...] : one SIPp run towards
# $PROXY in the foreground, in a fresh run dir; returns (and records in rc) SIPp's exit code.
run_scenario() {
  local name=$1 user=$2 pass=$3 sc=$4 lp=$5 secs=$6 d=$RUN/$1 args rc=0
  shift 6
  check_port "$lp"
  check_proxy "$PROXY"
  prepare "$name" "$user" "$pass" "$sc"
  require_ports "$lp"
  mapfile -t args < <(common_args "$d" "$lp" "$secs")
  (cd "$d" && exec "${DROP[@]}" sipp "$PROXY" -sf "$d/scenario.xml" -inf "$d/inf.csv" "${args[@]}" "$@") \
    >"$d/screen.log" 2>&1 </dev/null || rc=$?
  echo "$rc" >"$d/rc"
  summary "$d"
  return "$rc"
}

register() {
  require_root
  [ $# = 2 ] || [ $# = 3 ] || die "usage: $0 register USER PASS [LPORT]"
  local user=$1 lp=${3:-${SIPP_REGISTER_PORT:-26070}} rc=0 t0
  t0=$(now_ms)
  run_scenario "${SIPP_NAME:-reg-$1}" "$user" "$2" "$PEERS_DIR/sipp/register.xml" "$lp" "${SIPP_TIMEOUT:-10}" \
    -key expires "${SIPP_EXPIRES:-3600}" || rc=$?
  log "REGISTER $user@$DOMAIN from 127.0.0.1:$lp via $PROXY: sipp rc=$rc ($(($(now_ms) - t0)) ms)"
  return "$rc"
}

uas_listening() { port_busy udp "$UAS_PORT"; }

uas() {
  require_root
  [ $# -ge 3 ] || die "usage: $0 uas SCENARIO USER PASS [LPORT [SIPP_ARGS...]]"
  local sc user=$2 pass=$3 lp=${4:-${SIPP_UAS_PORT:-26080}} name=${SIPP_NAME:-$2} d args echo=()
  sc=$(scenario_file "$1")
  shift $(($# < 4 ? $# : 4))
  check_port "$lp"
  check_proxy "$PROXY"
  SIPP_NAME=reg-$name SIPP_TIMEOUT=10 register "$user" "$pass" "$lp" || die "registration of $user failed"
  prepare "$name" "$user" "$pass" "$sc"
  d=$RUN/$name
  require_ports "$lp"
  mapfile -t args < <(common_args "$d" "$lp" "${SIPP_TIMEOUT:-120}")
  [ "${SIPP_RTP_ECHO:-1}" = 1 ] && echo=(-rtp_echo)
  # the launcher records SIPp's pid, waits for it and records its exit code in rc
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'd=$0; cd "$d" && { "$@" >screen.log 2>&1 </dev/null & echo $! >lab.pid; wait $!; echo $? >rc; }' \
    "$d" "${DROP[@]}" sipp -sf "$d/scenario.xml" -inf "$d/inf.csv" "${echo[@]}" "${args[@]}" "$@" >/dev/null 2>&1 </dev/null &
  wait_pidfile "$d/lab.pid" 10 || die_with_logs "sipp launcher wrote no pid" "$d/screen.log"
  UAS_PORT=$lp await_ready "$d/lab.pid" "sipp $name" 10 uas_listening "$d/screen.log" "$d/errors.log"
  log "sipp $name: $(basename "$sc") for $user@$DOMAIN on 127.0.0.1:$lp, media $(media_port "$lp"), pid $(cat "$d/lab.pid")"
}

uac() {
  require_root
  [ $# -ge 4 ] || die "usage: $0 uac SCENARIO USER PASS TARGET_USER [LPORT [SIPP_ARGS...]]"
  local sc user=$2 pass=$3 target=$4 lp=${5:-${SIPP_UAC_PORT:-26090}} name=${SIPP_NAME:-uac-$2} rc=0 t0
  sc=$(scenario_file "$1")
  shift $(($# < 5 ? $# : 5))
  t0=$(now_ms)
  run_scenario "$name" "$user" "$pass" "$sc" "$lp" "${SIPP_TIMEOUT:-60}" -s "$target" "$@" || rc=$?
  log "sipp $name: $(basename "$sc") $user -> $target@$DOMAIN via $PROXY: rc=$rc ($(($(now_ms) - t0)) ms)"
  return "$rc"
}

stop() {
  check_name "${1:-}"
  stop_pid "$RUN/$1/lab.pid" "sipp $1"
}

# wait NAME [SECONDS] : until the background SIPp ended; exits with its code.
wait_rc() {
  check_name "${1:-}"
  local d=$RUN/$1 i
  for i in $(seq 1 $((${2:-60} * 10))); do
    [ -s "$d/rc" ] && break
    [ "$i" -gt 1 ] && sleep 0.1
  done
  [ -s "$d/rc" ] || die "sipp $1 still running after ${2:-60} s"
  summary "$d"
  # SIPp stopped by a signal exits 0 too: only a call that went through counts
  if [ "$(cat "$d/rc")" = 0 ] && [ "$(counter "$d" "Successful call")" -lt 1 ]; then
    return 1
  fi
  return "$(cat "$d/rc")"
}

status() {
  local d rc=1 n
  for d in "$RUN"/${1:-*}/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    if running "$d/lab.pid"; then
      echo "$n: running pid $(cat "$d/lab.pid")"
      show_listen "$(cat "$d/lab.pid")"
      rc=0
    elif [ -s "$d/rc" ]; then
      echo "$n: exited $(cat "$d/rc")"
    fi
  done
  return $rc
}

case "${1:-}" in
install) install ;;
register | uas | uac)
  cmd=$1
  shift
  "$cmd" "$@"
  ;;
stop) stop "${2:-}" ;;
wait) wait_rc "${2:-}" "${3:-60}" ;;
status) status "${2:-}" ;;
logs)
  check_name "${2:-}"
  tail -n "${3:-80}" "$RUN/$2/messages.log"
  ;;
*)
  echo "usage: $0 install|register USER PASS [LPORT]|uas SCENARIO USER PASS [LPORT [SIPP_ARGS...]]|uac SCENARIO USER PASS TARGET_USER [LPORT [SIPP_ARGS...]]|stop NAME|wait NAME [SECONDS]|status [NAME]|logs NAME [N]" >&2
  exit 2
  ;;
esac
