#!/usr/bin/env bash
# Fargo phone demo (the longer one; scripts/demo.sh runs `fargo demo`):
# starts a local XMPP server (Prosody), SIP registrar and proxy (Kamailio)
# and SIP phone (baresip, auto-answering, sends a 440 Hz tone and records
# what it hears) on loopback, and the gateway. Then an XMPP user,
# alice, registers her SIP account with the gateway and comes online (the
# gateway REGISTERs her), calls the SIP phone through the gateway and is
# called back by it, with audio both ways and a transcript of the
# signalling. A second device of hers that behaves like Conversations (ICE +
# DTLS-SRTP only) calls the SIP echo service (fargo echo-sip, registered as
# echo@sip.example.org) through the gateway's media relay and hears herself.
# Then she goes offline (the gateway un-REGISTERs her). Installs what it
# needs; safe to run again. Everything is stopped at the end.
#
# Ports (127.0.0.1): XMPP c2s 7222, component 7347, SIP registrar 7060,
# gateway SIP 7070, gateway /metrics and /healthz 7090, baresip SIP 7600,
# console 7602, RTP 7610-7619, SIP echo 7080, media relay 7700-7799.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/install-go.sh

export LAB_RUN=/tmp/fargo-demo
export PROSODY_C2S_PORT=7222 PROSODY_COMPONENT_PORT=7347 PROSODY_HTTP_PORT=7280 PROSODY_HTTPS_PORT=7281
export KAM_PORT=7060
export SIP_PROXY=127.0.0.1:7060 BARESIP_SIP_PORT=7600 BARESIP_CONS_PORT=7602 BARESIP_RTP_PORTS=7610-7619 BARESIP_TONE=440
DATA=$LAB_RUN/fargo
PIDF=$LAB_RUN/fargo.pid
ECHO_PIDF=$LAB_RUN/echo.pid

stop_all() {
  if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then
    kill -TERM "$(cat "$PIDF")"; wait "$(cat "$PIDF")" 2>/dev/null || true
  fi
  rm -f "$PIDF"
  if [ -f "$ECHO_PIDF" ] && kill -0 "$(cat "$ECHO_PIDF")" 2>/dev/null; then
    kill -TERM "$(cat "$ECHO_PIDF")"; wait "$(cat "$ECHO_PIDF")" 2>/dev/null || true
  fi
  rm -f "$ECHO_PIDF"
  scripts/peers/baresip.sh stop bob >/dev/null 2>&1 || true
  scripts/peers/kamailio.sh stop >/dev/null 2>&1 || true
  scripts/peers/prosody.sh stop >/dev/null 2>&1 || true
}
stop_all   # leftovers of an interrupted earlier run
trap stop_all EXIT

echo "== installing Prosody, Kamailio and baresip (apt-get, once)"
command -v curl >/dev/null || { [ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ] || apt-get update; apt-get install -y --no-install-recommends curl; }
scripts/peers/prosody.sh install >/dev/null
scripts/peers/kamailio.sh install >/dev/null
scripts/peers/baresip.sh install >/dev/null
echo "== building fargo"
go build -o bin/fargo ./cmd/fargo
go build -o bin/fargo-demo ./test/demo

echo "== starting Prosody (example.test, component sip.example.test) and Kamailio (sip.example.org)"
scripts/peers/prosody.sh start
scripts/peers/kamailio.sh start
echo "== starting the SIP phone bob@sip.example.org (baresip: answers by itself, sends 440 Hz, records)"
scripts/peers/baresip.sh start bob bob bobpw record

rm -rf "$DATA"; mkdir -p "$DATA"
cat > "$DATA/fargo.toml" <<TOML
[component]
domain = "sip.example.test"
server = "127.0.0.1:7347"
secret = "sipsecret"
[sip]
listen = "127.0.0.1:7070"
[store]
data_dir = "$DATA"
[http]
listen = "127.0.0.1:7090"
[media]
mode = "auto"
bind = "127.0.0.1"
port_min = 7700
port_max = 7799
TOML
echo "== starting the gateway: bin/fargo serve --config $DATA/fargo.toml (log: $DATA/fargo.log)"
bin/fargo serve --config "$DATA/fargo.toml" > "$DATA/fargo.log" 2>&1 &
echo $! > "$PIDF"
for _ in $(seq 100); do
  curl -fsS http://127.0.0.1:7090/healthz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS http://127.0.0.1:7090/healthz || { cat "$DATA/fargo.log"; exit 1; }
echo
echo "== starting the SIP echo service: bin/fargo echo-sip, registered as echo@sip.example.org (log: $DATA/echo.log)"
echo echopw > "$DATA/echo.pw"
bin/fargo echo-sip --listen 127.0.0.1:7080 --register-aor echo@sip.example.org --registrar 127.0.0.1:7060 \
  --password-file "$DATA/echo.pw" > "$DATA/echo.log" 2>&1 &
echo $! > "$ECHO_PIDF"
for _ in $(seq 50); do
  scripts/peers/kamailio.sh ul brief 2>/dev/null | grep -q "AoR: echo" && break
  sleep 0.1
done
bin/fargo-demo -c2s 127.0.0.1:7222 -registrar 127.0.0.1:7060 -ul "scripts/peers/kamailio.sh ul brief" \
  -phone bob@sip.example.org -phone-dir "$LAB_RUN/baresip/bob" -phone-console 7602 -phone-sip-port 7600
echo
echo "== gateway metrics (excerpt)"
curl -fsS http://127.0.0.1:7090/metrics | grep -E '^fargo_(sip|xmpp_connected|gateway_(users|calls)|media_(relayed|packets_total|dtls))' || true
