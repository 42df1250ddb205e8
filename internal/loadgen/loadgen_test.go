package loadgen

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i)*time.Millisecond)
	}
	p := summarize(v)
	if p.N != 100 || p.P50 != 50 || p.P95 != 95 || p.P99 != 99 || p.Max != 100 {
		t.Fatalf("%+v", p)
	}
	if (summarize(nil) != Percentiles{}) {
		t.Fatal("empty")
	}
}

func TestUserIndex(t *testing.T) {
	for name, want := range map[string]int{"b000042": 42, "b12": -1, "x000001": -1, "b00000x": -1} {
		if got := userIndex("b", name); got != want {
			t.Errorf("%s: %d, want %d", name, got, want)
		}
	}
	if got := uriUser(`"B" <sip:b000007@sip.example.org>;tag=1`); got != "b000007" {
		t.Errorf("uriUser: %q", got)
	}
}

func TestUASReply(t *testing.T) {
	inv := "INVITE sip:uas@127.0.0.1:5090 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb\r\nRecord-Route: <sip:127.0.0.1:5060;lr>\r\n" +
		"From: <sip:b000001@sip.example.org>;tag=f\r\nTo: <sip:uas@sip.example.org>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"
	m, ok := parseSIP([]byte(inv))
	if !ok || len(m.vias) != 2 || len(m.rrs) != 1 {
		t.Fatalf("parse: %+v", m)
	}
	a := &uas{port: 5090}
	got := string(a.reply(m, "200 OK", true, sdpAnswer))
	for _, want := range []string{"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP 127.0.0.1:5070",
		"Record-Route: <sip:127.0.0.1:5060;lr>", "To: <sip:uas@sip.example.org>;tag=u", "Contact: <sip:uas@127.0.0.1:5090>",
		"Content-Length: " + strconv.Itoa(len(sdpAnswer)) + "\r\n\r\nv=0"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply lacks %q:\n%s", want, got)
		}
	}
	if again := string(a.reply(m, "200 OK", true, sdpAnswer)); again != got {
		t.Error("the To tag must not change between retransmissions")
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := treeCPU(pid); err != nil {
		t.Fatal(err)
	}
	if hwm, rss := procMemKiB(pid); hwm <= 0 || rss <= 0 {
		t.Fatalf("hwm %d rss %d", hwm, rss)
	}
	if readHostCPU().total == 0 {
		t.Fatal("no host CPU")
	}
}

func TestSIPpStats(t *testing.T) {
	dir := t.TempDir()
	stat := "StartTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C)\n" + "x;5;4;0\n" + "y;10;9;1\n"
	if err := os.WriteFile(filepath.Join(dir, "stat.csv"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	rtt := "Date_ms;response_time_ms;rtd_no\n1.0;2.500000;1\n2.0;1.500000;1\n"
	if err := os.WriteFile(filepath.Join(dir, "uac_1_rtt.csv"), []byte(rtt), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := readSIPpStats(dir); r.Created != 10 || r.Successful != 9 || r.Failed != 1 {
		t.Fatalf("%+v", r)
	}
	if p := readSIPpRTT(dir); p.N != 2 || p.Max != 2.5 {
		t.Fatalf("%+v", p)
	}
}

func TestResultWrite(t *testing.T) {
	dir := t.TempDir()
	res := newResult(Config{Name: "x", Rates: []float64{10, 20}}.withDefaults(), nil)
	res.Steps = []StepResult{
		{OfferedRate: 10, Success: 1, Out: OutResult{Setup: Percentiles{N: 1, P50: 1, P99: 2}}},
		{OfferedRate: 20, Success: 0.5, Out: OutResult{Setup: Percentiles{N: 1, P50: 3, P99: 9}}},
	}
	if err := res.write(dir, "x"); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "x.svg"))
	if err != nil || strings.Count(string(svg), "<polyline") != 3 {
		t.Fatalf("%v\n%s", err, svg)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{XMPPAddr: "127.0.0.1:5222", Registrar: "127.0.0.1:5060", Users: 10, Rates: []float64{5}}.withDefaults()
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "UAS port") {
		t.Fatalf("want the missing ports named, got %v", err)
	}
	c.UASPort, c.SIPpPort = 5090, 5100
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayLatencyDelta(t *testing.T) {
	scrape := func(lines ...string) (bucketCounts, map[string][2]float64) {
		b, s := bucketCounts{}, map[string][2]float64{}
		for _, l := range lines {
			parseLatencyLine(l, b, s)
		}
		return b, s
	}
	b0, s0 := scrape(
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.001"} 10`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.002"} 10`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="+Inf"} 10`,
		`fargo_gateway_call_setup_latency_seconds_sum{phase="x"} 0.005`,
		`fargo_gateway_call_setup_latency_seconds_count{phase="x"} 10`,
	)
	b1, s1 := scrape(
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.001"} 108`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.002"} 109`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="+Inf"} 110`,
		`fargo_gateway_call_setup_latency_seconds_sum{phase="x"} 0.105`,
		`fargo_gateway_call_setup_latency_seconds_count{phase="x"} 110`,
		`fargo_other_bucket{phase="x",le="0.001"} 5`,
	)
	got := gatewayLatencyDelta(b0, b1, s0, s1)["x"]
	if got.N != 100 || got.P50AtMostMS != 1 || got.P99AtMostMS != 2 || got.WithinTwoMS != 0.99 || math.Abs(got.MeanMS-1) > 1e-9 {
		t.Fatalf("%+v", got)
	}
	b2, s2 := scrape(`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.001"} 108`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="0.002"} 109`,
		`fargo_gateway_call_setup_latency_seconds_bucket{phase="x",le="+Inf"} 130`)
	if g := gatewayLatencyDelta(b0, b2, s0, s2)["x"]; g.P99AtMostMS != -1 {
		t.Fatalf("beyond the last bound: %+v", g)
	}
}

// TestUASRetransmits200UntilACK: a 200 whose ACK does not come is sent
// again at T1 (RFC 3261 §13.3.1.4), and no more once the ACK arrives.
func TestUASRetransmits200UntilACK(t *testing.T) {
	r := &runner{epoch: time.Now()}
	r.step.Store(newStep(1))
	a, err := listenUAS(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.port = a.pc.LocalAddr().(*net.UDPAddr).Port
	go a.serve()
	defer a.close()
	caller, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	msg := func(method string) []byte {
		return []byte(method + " sip:uas@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + caller.LocalAddr().String() + ";branch=z9hG4bKr\r\n" +
			"From: <sip:x@sip.example.org>;tag=f\r\nTo: <sip:uas@sip.example.org>\r\nCall-ID: rt1\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n")
	}
	recv := func(within time.Duration) (string, error) {
		buf := make([]byte, 4096)
		_ = caller.SetReadDeadline(time.Now().Add(within))
		n, _, err := caller.ReadFrom(buf)
		return string(buf[:n]), err
	}
	if _, err := caller.WriteTo(msg("INVITE"), a.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var first []string
	for range 2 {
		got, err := recv(2 * time.Second)
		if err != nil {
			t.Fatalf("no answer to the INVITE: %v", err)
		}
		first = append(first, strings.SplitN(got, "\r\n", 2)[0])
	}
	if first[0] != "SIP/2.0 180 Ringing" || first[1] != "SIP/2.0 200 OK" {
		t.Fatalf("answers %q", first)
	}
	sent := time.Now()
	got, err := recv(2 * time.Second)
	if err != nil || !strings.HasPrefix(got, "SIP/2.0 200 OK") {
		t.Fatalf("no 200 retransmission without an ACK: %q %v", got, err)
	}
	if d := time.Since(sent); d < sipT1/2 {
		t.Fatalf("200 repeated after %v, before T1", d)
	}
	if n := r.cur().uasRetransmits.Load(); n != 1 {
		t.Fatalf("retransmissions counted: %d", n)
	}
	if _, err := caller.WriteTo(msg("ACK"), a.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if got, err := recv(3 * sipT1); err == nil {
		t.Fatalf("200 repeated after the ACK: %q", got)
	}
}
