package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"fargo.dev/fargo/internal/testkit"
)

// Ports of the kernel fast path scenario (22600–22899; the relay's own
// UDP range is 22800–22899).
const (
	kernelC2S, kernelComponent, kernelHTTP, kernelHTTPS = 22622, 22647, 22680, 22681
	kernelKamailio, kernelSIP, kernelMetrics            = 22660, 22670, 22690
	kernelBaresip, kernelBaresipCaller                  = 22700, 22710
)

// TestKernelRelayedCalls relays a raw-UDP client's calls with baresip (plain
// RTP both sides, so the kernel fast path takes them once both sides have
// latched) and checks the tones both ways and that the kernel, not the
// process, carried them. CI runs as root: the fast path must come up
// (kernel_forwarding = "on" makes the gateway fail otherwise).
func TestKernelRelayedCalls(t *testing.T) {
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("the kernel fast path needs root (CAP_BPF, CAP_NET_ADMIN)")
	}
	ce := startCallEnv(t, callSetup{
		prosody:      testkit.ProsodyConfig{C2SPort: kernelC2S, ComponentPort: kernelComponent, HTTPPort: kernelHTTP, HTTPSPort: kernelHTTPS},
		kamailioPort: kernelKamailio, sipPort: kernelSIP, metricsPort: kernelMetrics,
		extraTOML: "\n[media]\nmode = \"relay\"\nbind = \"127.0.0.1\"\nport_min = 22800\nport_max = 22899\n" +
			"learn_window = \"200ms\"\nkernel_forwarding = \"on\"\n",
		phone:         testkit.PhoneOptions{JMI: true, RawUDP: true},
		baresipCallee: kernelBaresip, baresipCaller: kernelBaresipCaller,
	})
	e := ce.env
	var forwarded int
	for _, s := range []struct {
		name string
		fn   func(*testing.T, *callEnv)
	}{
		{"a raw-UDP client calls a plain RTP phone; the kernel relays it", stepCallToBaresip},
		{"a plain RTP phone calls the raw-UDP client; the kernel relays it", stepCallFromBaresip},
	} {
		if !t.Run(s.name, func(t *testing.T) {
			s.fn(t, ce)
			// Most of each call's tone went through the kernel: 3 s at
			// 50 packets/s each way, less the learning window.
			n := kernelPackets(t, e)
			t.Logf("the kernel forwarded %d packets of the call", n-forwarded)
			if n-forwarded < 150 {
				t.Fatalf("the kernel forwarded %d packets of the call, want most of its ~300\n%s", n-forwarded, tailLines(e.gw.logs.String(), 30))
			}
			forwarded = n
		}) {
			return
		}
	}
	// Both calls ended: nothing is left relayed, in the kernel or not.
	deadline := time.Now().Add(10 * time.Second)
	for e.gw.metric(t, "fargo_media_relayed_calls") != "0" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range []string{"fargo_media_relayed_calls", "fargo_media_kernel_calls"} {
		if got := e.gw.metric(t, name); got != "0" {
			t.Errorf("%s = %q after the calls", name, got)
		}
	}
}

func kernelPackets(t *testing.T, e *env) int {
	t.Helper()
	n, err := strconv.Atoi(e.gw.metric(t, "fargo_media_kernel_packets_total"))
	if err != nil {
		t.Fatalf("fargo_media_kernel_packets_total: %v", err)
	}
	return n
}
