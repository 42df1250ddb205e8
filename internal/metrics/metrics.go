// Package metrics owns Fargo's Prometheus exposition: one private registry
// (no global default registry), Go and process collectors, and the gateway's
// own series read from the subsystems' Stats snapshots at scrape time.
//
// Tier 3. It imports the Prometheus client and the Stats types of the
// packages it reports on; nothing imports it but internal/app. Label values
// never carry JIDs, SIP URIs or Call-IDs (cardinality).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/xmpp"
)

const namespace = "fargo"

// New returns the /metrics handler over a fresh registry.
func New(link func() xmpp.Stats, gw func() gateway.Stats, relay func() media.Stats) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	counter := func(sub, name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help}, f)
	}
	gauge := func(sub, name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("xmpp", "connected", "1 while the component link to the XMPP server is up.", func() float64 { return b2f(link().Connected) }),
		counter("xmpp", "reconnects_total", "Component link reconnections.", func() float64 { return float64(link().Reconnects) }),
		counter("xmpp", "stanzas_received_total", "Stanzas read from the XMPP server.", func() float64 { return float64(link().StanzasIn) }),
		counter("xmpp", "stanzas_sent_total", "Stanzas written to the XMPP server.", func() float64 { return float64(link().StanzasOut) }),
		counter("xmpp", "stanzas_dropped_total", "Queued stanzas lost when the link dropped.", func() float64 { return float64(link().Dropped) }),
		counter("xmpp", "iq_timeouts_total", "IQ requests that got no answer in time.", func() float64 { return float64(link().IQTimeouts) }),
		gauge("xmpp", "send_queue_length", "Stanzas waiting in the outbound queue.", func() float64 { return float64(link().QueueLen) }),
		gauge("gateway", "users", "Users known to this instance (registered or in registration).", func() float64 { return float64(gw().Users) }),
		gauge("sip", "registrations", "Users whose SIP binding currently stands.", func() float64 { return float64(gw().SIPRegistered) }),
		counter("sip", "register_success_total", "Successful REGISTER refreshes and logins.", func() float64 { return float64(gw().RegisterOK) }),
		counter("sip", "register_failures_total", "Failed SIP logins (each failure state change).", func() float64 { return float64(gw().RegisterFailed) }),
		counter("gateway", "registration_refused_total", "XEP-0077/ad-hoc registrations refused because the SIP check failed.", func() float64 { return float64(gw().ValidationsFailed) }),
		counter("gateway", "commands_total", "Ad-hoc commands executed.", func() float64 { return float64(gw().Commands) }),
		gauge("gateway", "calls_active", "Calls in progress (ringing or answered), both directions.", func() float64 { return float64(gw().CallsActive) }),
		counter("gateway", "calls_started_total", "Calls started, XMPP → SIP and SIP → XMPP.", func() float64 { return float64(gw().CallsStarted) }),
		counter("gateway", "calls_answered_total", "Calls answered.", func() float64 { return float64(gw().CallsAnswered) }),
		counter("gateway", "calls_failed_total", "Calls that ended without an answer (busy, declined, no answer, cancelled, errors).", func() float64 { return float64(gw().CallsFailed) }),
		counter("gateway", "calls_refused_total", "Calls refused by a limit (calls.max_per_user, calls.max_total).", func() float64 { return float64(gw().CallsRefused) }),
		gauge("media", "relayed_calls", "Calls whose media goes through the relay now.", func() float64 { return float64(relay().SessionsActive) }),
		counter("media", "relayed_calls_total", "Calls relayed since start.", func() float64 { return float64(relay().SessionsTotal) }),
		counter("media", "relay_refused_total", "Calls refused because the relay was at media.max_relayed.", func() float64 { return float64(relay().SessionsRefused) }),
		counter("media", "packets_total", "RTP and RTCP packets relayed, both directions.", func() float64 { return float64(relay().Packets) }),
		counter("media", "bytes_total", "Bytes of RTP and RTCP relayed, both directions.", func() float64 { return float64(relay().Bytes) }),
		counter("media", "packets_lost_total", "RTP packets missing by sequence number on arrival at the relay.", func() float64 { return float64(relay().Lost) }),
		counter("media", "kernel_packets_total", "Of packets_total, those forwarded by the kernel fast path (media.kernel_forwarding).", func() float64 { return float64(relay().KernelPackets) }),
		gauge("media", "kernel_calls", "Relayed calls whose media the kernel forwards now.", func() float64 { return float64(relay().KernelSessions) }),
		counter("media", "packets_dropped_total", "Packets not relayed (no peer address yet, unknown source, bad SRTP).", func() float64 { return float64(relay().Dropped) }),
		counter("media", "dtls_failures_total", "ICE or DTLS handshakes with XMPP clients that failed.", func() float64 { return float64(relay().DTLSFailures) }),
		counter("media", "idle_timeouts_total", "Relayed calls ended because no media flowed.", func() float64 { return float64(relay().IdleTimeouts) }),
		counter("gateway", "stanza_errors_total", "Stanza errors the gateway sent.", func() float64 { return float64(gw().ErrorsSent) }),
		newLatencyCollector(gw),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
