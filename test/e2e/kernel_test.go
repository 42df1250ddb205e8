package e2e

import (
	"strconv"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
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
	srv := testkit.StartProsody(t, testkit.ProsodyConfig{C2SPort: kernelC2S, ComponentPort: kernelComponent, HTTPPort: kernelHTTP, HTTPSPort: kernelHTTPS})
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: kernelKamailio})
	kam.AddUser(t, "caller", "callerpw")
	e := &env{parent: t, srv: srv, kam: kam}
	e.gwc = gatewayConfig{server: srv, sipPort: kernelSIP, httpPort: kernelMetrics, dataDir: t.TempDir(), grace: 20 * time.Second,
		extraTOML: "\n[media]\nmode = \"relay\"\nbind = \"127.0.0.1\"\nport_min = 22800\nport_max = 22899\n" +
			"learn_window = \"200ms\"\nkernel_forwarding = \"on\"\n"}
	e.gw = startGateway(t, e.gwc)

	ce := &callEnv{env: e, domain: srv.ComponentDomain}
	ce.contactFor = func(user string) string { return user + `\40` + kam.Domain + "@" + srv.ComponentDomain }
	ce.alice = e.login(t, "alice")
	e.register(t, ce.alice, "alice", "alicepw")
	e.waitContacts(t, "alice", "alice REGISTERed", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	phone, err := testkit.NewPhone(ce.alice, testkit.PhoneOptions{JMI: true, RawUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	ce.phone = phone

	var forwarded int
	for _, s := range []struct {
		name string
		fn   func(*testing.T, *callEnv)
	}{
		{"a raw-UDP client calls a plain RTP phone; the kernel relays it", stepKernelCallOut},
		{"a plain RTP phone calls the raw-UDP client; the kernel relays it", stepKernelCallIn},
	} {
		if !t.Run(s.name, func(t *testing.T) {
			s.fn(t, ce)
			// Most of each call's tone went through the kernel: 3 s at
			// 50 packets/s each way, less the learning window.
			n := kernelPackets(t, e)
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

func stepKernelCallOut(t *testing.T, e *callEnv) {
	bob := testkit.StartBaresip(t, testkit.BaresipConfig{Name: "bob", User: "bob", Password: "bobpw", Mode: "record", SIPPort: kernelBaresip, Proxy: e.kam.Addr, Domain: e.kam.Domain})
	rtp := rtpPeer(t)
	call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor("bob"), rtp.Addr())
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 20*time.Second)); err != nil {
		t.Fatalf("not answered: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	remote, ok := call.Remote()
	if !ok {
		t.Fatal("session-accept without a raw-UDP candidate")
	}
	if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, payloadType(t, call), 1000, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard baresip", rtp.Received(), 440)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertRecorded(t, bob, 1000)
}

func stepKernelCallIn(t *testing.T, e *callEnv) {
	done := callFromBaresip(t, e, kernelBaresipCaller, 1000, 4*time.Second, 8)
	in, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("no incoming call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := in.Proceed(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitSessionInitiate(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	rtp := rtpPeer(t)
	if err := in.Accept(ctxT(t, 5*time.Second), rtp.Addr()); err != nil {
		t.Fatal(err)
	}
	remote, _ := in.Remote()
	if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, payloadType(t, in), 600, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := in.WaitEnded(ctxT(t, 20*time.Second))
	if err != nil || r == nil || r.Condition != jingle.Success {
		t.Fatalf("end of call: %+v %v", r, err)
	}
	assertTone(t, "the client heard baresip's caller", rtp.Received(), 1000)
	assertCallerHeard(t, <-done, 600)
}
