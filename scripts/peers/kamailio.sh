#!/bin/bash
# Kamailio 5.6 (Debian `kamailio` + `kamailio-sqlite-modules`) as the lab SIP registrar/proxy
# for the end-to-end tests.
#   kamailio.sh install | start | stop | restart | status | ul [brief] | adduser USER PASS | logs [N]
# Env (defaults):
#   KAM_DOMAIN=sip.example.org  KAM_PORT=5060 (UDP and TCP on 127.0.0.1)
#   KAM_USERS="alice:alicepw bob:bobpw echo:echopw carol:carolpw"
#   KAM_ALGORITHM=MD5 (or SHA-256: digest algorithm of the 401/407 challenges; qop=auth either way)
#   KAM_AUTH=1 (0: no digest auth at all)  KAM_DEBUG=0 (1: log every request)
#   LAB_RUN=/tmp/fargo-peers
# Runtime dir $LAB_RUN/kamailio: kamailio.cfg (rendered from ./kamailio.cfg), kamailio.sqlite
# (subscriber table, plain-text passwords), RPC sockets, kamailio.log. Registrations live in
# memory only: a restart forgets them, like a real registrar losing its location table.
# RPC: kamcmd -s unix:$LAB_RUN/kamailio/kamailio_ctl ul.dump
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DOMAIN=${KAM_DOMAIN:-sip.example.org}
PORT=${KAM_PORT:-5060}
USERS=${KAM_USERS:-"alice:alicepw bob:bobpw echo:echopw carol:carolpw"}
ALGORITHM=${KAM_ALGORITHM:-MD5}
RUN=$LAB_RUN/kamailio
PIDF=$RUN/lab.pid
DB=$RUN/kamailio.sqlite
CTL=unix:$RUN/kamailio_ctl

case $ALGORITHM in
MD5) HASH=md5sum ;;
SHA-256) HASH=sha256sum ;;
*) die "KAM_ALGORITHM must be MD5 or SHA-256, not '$ALGORITHM'" ;;
esac

install() {
  apt_install kamailio kamailio-sqlite-modules sqlite3 sip-tester iproute2 procps
}

# modules live under the multiarch dir (/usr/lib/x86_64-linux-gnu/… on amd64)
module_path() {
  local d
  for d in /usr/lib/*/kamailio/modules /usr/lib/kamailio/modules; do
    [ -f "$d/tm.so" ] && {
      echo "$d/"
      return 0
    }
  done
  die "kamailio modules not found (is the kamailio package installed?)"
}

# sql_user USER PASS : one subscriber row; auth_db computes HA1 from the plain password
# (calculate_ha1), the ha1 columns are filled only because the schema has them.
sql_user() {
  local u=$1 p=$2 ha1 ha1b
  ha1=$(printf '%s' "$u:$DOMAIN:$p" | $HASH | cut -d' ' -f1)
  ha1b=$(printf '%s' "$u@$DOMAIN:$DOMAIN:$p" | $HASH | cut -d' ' -f1)
  echo "INSERT OR REPLACE INTO subscriber (username,domain,password,ha1,ha1b) VALUES ('$u','$DOMAIN','$p','$ha1','$ha1b');"
}

configure() {
  mkdir -p "$RUN"
  local mpath u
  mpath=$(module_path)
  sed -e "s|__DOMAIN__|$DOMAIN|g" -e "s|__PORT__|$PORT|g" -e "s|__RUN__|$RUN|g" \
    -e "s|__MPATH__|$mpath|g" -e "s|__ALGORITHM__|$ALGORITHM|g" \
    "$PEERS_DIR/kamailio.cfg" >"$RUN/kamailio.cfg"
  rm -f "$DB"
  {
    cat /usr/share/kamailio/db_sqlite/standard-create.sql /usr/share/kamailio/db_sqlite/auth_db-create.sql
    echo "BEGIN;"
    for u in $USERS; do sql_user "${u%%:*}" "${u#*:}"; done
    echo "COMMIT;"
  } | sqlite3 "$DB" || die "sqlite schema/users failed"
  chown -R kamailio:kamailio "$RUN"
}

kam_args() {
  local a=(-f "$RUN/kamailio.cfg" -DD -E -Y "$RUN" -P "$RUN/kamailio.pid" -u kamailio -g kamailio -m 64 -M 8)
  [ "${KAM_AUTH:-1}" = 1 ] && a+=(-A WITH_AUTH)
  [ "${KAM_DEBUG:-0}" = 1 ] && a+=(-A WITH_DEBUG)
  printf '%s\n' "${a[@]}"
}

# ready = listening on UDP and TCP and answering RPC (all children forked)
ready() {
  port_busy udp "$PORT" && tcp_open 127.0.0.1 "$PORT" && kamcmd -s "$CTL" core.uptime >/dev/null 2>&1
}

start() {
  require_root
  if running "$PIDF"; then
    log "kamailio already running pid $(cat "$PIDF")"
    return 0
  fi
  require_free "udp:$PORT" "tcp:$PORT"
  local t0 args
  t0=$(now_ms)
  configure
  mapfile -t args < <(kam_args)
  kamailio -c "${args[@]}" >"$RUN/check.log" 2>&1 || die_with_logs "kamailio -c: config check failed" "$RUN/check.log"
  rm -f "$PIDF"
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'echo $$ >"$0"; exec kamailio "$@"' "$PIDF" "${args[@]}" >"$RUN/kamailio.log" 2>&1 </dev/null &
  wait_pidfile "$PIDF" 10 || die_with_logs "kamailio launcher wrote no pid" "$RUN/kamailio.log"
  await_ready "$PIDF" kamailio 15 ready "$RUN/kamailio.log"
  log "kamailio up: pid $(cat "$PIDF"), ready in $(($(now_ms) - t0)) ms; SIP udp+tcp 127.0.0.1:$PORT domain $DOMAIN auth=${KAM_AUTH:-1} algorithm=$ALGORITHM; rpc: kamcmd -s $CTL"
}

stop() { stop_pid "$PIDF" kamailio; }

status_details() {
  kamcmd -s "$CTL" stats.get_statistics usrloc: | grep -E 'registered_users|location-contacts' || true
}

# ul [brief] : the location table; the full form has every field of each contact
ul() {
  running "$PIDF" || die "kamailio is not running"
  if [ "${1:-}" = brief ]; then
    kamcmd -s "$CTL" ul.dump brief
  else
    kamcmd -s "$CTL" ul.dump
  fi
}

# auth_db reads the subscriber table per request: a new user works without a restart
adduser() {
  [ $# = 2 ] || die "usage: $0 adduser USER PASS"
  [ -f "$DB" ] || die "no database $DB (start kamailio first)"
  sql_user "$1" "$2" | sqlite3 "$DB" || die "adding $1 failed"
  log "added $1@$DOMAIN"
}

case "${1:-}" in
install) install ;;
start) start ;;
stop) stop ;;
restart)
  stop
  start
  ;;
status) peer_status "$PIDF" status_details ;;
ul) ul "${2:-}" ;;
adduser)
  shift
  adduser "$@"
  ;;
logs) tail -n "${2:-50}" "$RUN/kamailio.log" ;;
*)
  echo "usage: $0 install|start|stop|restart|status|ul [brief]|adduser USER PASS|logs [N]" >&2
  exit 2
  ;;
esac
