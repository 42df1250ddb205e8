#!/usr/bin/env bash
# Media relay load benchmark (docs/performance.md, "Media relay"): N concurrent calls, each two
# UDP endpoints on 127.0.0.1 exchanging 172-byte RTP at 50 packets/s each way, offered in one run
# to: direct (no relay, the baseline), fargo's relay (internal/media in a process of its own,
# userspace), fargo-kernel (the same relay with its in-kernel eBPF fast path required,
# media.KernelOn) and rtpengine (Debian's rtpengine-daemon, userspace only) as the reference.
# Prints the comparison and writes bench/results/relay-<date>.json.
#
# fargo-kernel needs root (or CAP_BPF+CAP_NET_ADMIN) and Linux >= 6.6. Without them the relay
# cannot load its fast path and the tool stops before the first target with the relay's error
# (it never falls back to userspace); leave it out with TARGETS=direct,fargo,rtpengine.
#
# CPU per relayed packet, two figures: "relay µs/pkt" is the relay process's own CPU; "host Δ
# µs/pkt" is the whole machine's busy CPU less the direct run's at the same N, per relayed
# packet: everything the relay adds, wherever the kernel charges it (the relay process, softirq
# in the senders' context, ksoftirqd). Compare relays by the latter: fargo-kernel forwards in
# softirq charged mostly to the generator, so its relay-process figure alone would flatter it.
# "host Δ" needs direct in TARGETS.
#
#   bench/relay.sh                          N=1000, 30 s measured per target after a 5 s ramp-up
#   N=200 DURATION=10s bench/relay.sh       smaller and shorter
#   N=200,600,1000 bench/relay.sh           a sweep, every target at every N
#   PROFILE=1 bench/relay.sh                also a CPU profile of the fargo relays over the window
#                                           (bench/results/relay-<date>-fargo.pprof and
#                                           -fargo-kernel.pprof; it costs the relay a few % of CPU,
#                                           so keep it out of reported runs)
# Env (defaults): N (1000)  DURATION (30s)  RAMP (5s)  TARGETS (direct,fargo,fargo-kernel,rtpengine)
#   RESULTS (bench/results)  PROFILE (0)  RELAY_BENCH_ARGS (more flags: relay-bench -h)
#
# Ports: fargo relay 10000-14999 (fargo and fargo-kernel alike: they run one after the other),
# rtpengine 16000-20999 and its ng control 29722/udp (at most 1,250 calls; move them with
# -fargo-ports, -rtpengine-ports, -rtpengine-ng), the endpoints ephemeral ports. No test uses
# these: e2e 21xxx-23xxx, testkit 24xxx-27xxx, media tests 28000-29099, this tool's own test
# 29400-29499, the demo 7xxx, ejabberd 15xxx.
#
# Run it on an otherwise idle machine: the generator and the relay share its cores, and the
# report's "other cores" column shows how much something else took during each window.
# Everything it starts is stopped on every exit path: the tool stops its relays (and they die
# with it even if it is killed), and this script stops the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
# shellcheck source-path=SCRIPTDIR/.. source=scripts/peers/lib.sh
. scripts/peers/lib.sh

N=${N:-1000}
DURATION=${DURATION:-30s}
RAMP=${RAMP:-5s}
TARGETS=${TARGETS:-direct,fargo,fargo-kernel,rtpengine}
RESULTS=${RESULTS:-bench/results}
PROFILE=${PROFILE:-0}
NG_PORT=29722

WORK=$(mktemp -d /tmp/relay-bench-build.XXXXXX)
TOOL_PID=

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$TOOL_PID" ] && pid_alive "$TOOL_PID"; then
    log "stopping relay-bench (pid $TOOL_PID)"
    kill -TERM "$TOOL_PID" 2>/dev/null || true
    if ! wait_exit "$TOOL_PID" 150; then
      log "relay-bench did not exit within 15 s, SIGKILL (its relays die with it)"
      kill -KILL "$TOOL_PID" 2>/dev/null || true
    fi
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ",$TARGETS," == *,rtpengine,* ]]; then
  apt_install rtpengine-daemon
  require_free "udp:$NG_PORT"
fi

# 1,000 calls hold 2,000 sockets in the generator and 4,000 in each relay.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log "open files limit $(ulimit -n); load average $(cut -d' ' -f1-3 /proc/loadavg)"

log "building bench/relay"
go build -o "$WORK/relay-bench" ./bench/relay

mkdir -p "$RESULTS"
args=(-calls "$N" -duration "$DURATION" -ramp "$RAMP" -targets "$TARGETS" -results "$RESULTS"
  -rtpengine-ng "$NG_PORT")
if [ "$PROFILE" = 1 ]; then
  args+=(-cpuprofile "$RESULTS/relay-$(date -u +%Y-%m-%dT%H%M%S)-fargo.pprof")
fi
# shellcheck disable=SC2206 # extra flags are meant to split
args+=(${RELAY_BENCH_ARGS:-})

# In the background so that the traps run (and stop it) while it works.
"$WORK/relay-bench" "${args[@]}" &
TOOL_PID=$!
rc=0
wait "$TOOL_PID" || rc=$?
TOOL_PID=
exit "$rc"
