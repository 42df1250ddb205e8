package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the fargo relay process: the tool
// starts its own executable with roleEnv set, and under go test that
// executable is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "relayd" {
		os.Exit(relaydMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Ports of this package's tests: 29400–29499 (the media package's tests
// use 28000–29099, the e2e and testkit tests 21xxx–27xxx).
const smokePorts = "29400-29499"

// kernelSmoke says whether the smoke test also runs fargo-kernel: as root
// (the in-kernel fast path needs CAP_BPF+CAP_NET_ADMIN), and always in CI,
// which runs the tests as root: there a relay that cannot load the fast
// path fails the test rather than skip it.
func kernelSmoke() bool {
	return os.Geteuid() == 0 || os.Getenv("CI") == "true"
}

// TestSmokeFargo runs the tool's core briefly at small N against the fargo
// relay in its own process, userspace and (as root) with the in-kernel
// fast path, plus the direct baseline, and checks that packets flow both
// ways and the report is produced. It asserts nothing about speed:
// benchmarks and docs/performance.md do that.
func TestSmokeFargo(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "relay.json")
	targets := []string{"direct", "fargo"}
	if kernelSmoke() {
		targets = append(targets, "fargo-kernel")
	}
	o := options{
		calls:      []int{20},
		duration:   1500 * time.Millisecond,
		ramp:       500 * time.Millisecond,
		targets:    targets,
		senders:    2,
		receivers:  2,
		rxInterval: time.Millisecond,
		fargoPorts: smokePorts,
		// Calls enter the kernel fast path once the learning window
		// (3 s by default) is over: well within the ramp here.
		fargoLearn:     200 * time.Millisecond,
		rtpenginePorts: smokePorts,
		jsonPath:       jsonPath,
		workDir:        filepath.Join(dir, "work"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rep, err := run(ctx, o, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != len(targets) {
		t.Fatalf("%d runs, want %d (%s)", len(rep.Runs), len(targets), strings.Join(targets, ", "))
	}
	for i, r := range rep.Runs {
		if r.Target != targets[i] {
			t.Errorf("run %d: target %q, want %q", i, r.Target, targets[i])
		}
		// Every one of the 40 streams (20 calls, both ways) delivered
		// packets in the window.
		if r.Sent == 0 || r.Received == 0 || r.StreamsSilent != 0 {
			t.Errorf("%s: sent %d, received %d, %d silent streams: packets do not flow", r.Target, r.Sent, r.Received, r.StreamsSilent)
		}
	}
	if rep.Runs[0].HostDeltaUSPerPkt != nil || rep.Runs[0].HostBusyCPUS <= 0 {
		t.Errorf("direct run: host Δ %v, host busy %v CPU-s: want none (it is the baseline) and some", rep.Runs[0].HostDeltaUSPerPkt, rep.Runs[0].HostBusyCPUS)
	}
	fargo := rep.Runs[1]
	checkFargo(t, fargo)
	if fargo.RelayKernelCount == nil || *fargo.RelayKernelCount != 0 {
		t.Errorf("fargo run: the relay's in-kernel packet count is %v, want 0 (userspace only)", fmtCount(fargo.RelayKernelCount))
	}
	t.Run("fargo-kernel", func(t *testing.T) {
		if !kernelSmoke() {
			t.Skip("fargo-kernel needs root (CAP_BPF+CAP_NET_ADMIN) for the in-kernel fast path; CI runs it")
		}
		k := rep.Runs[2]
		checkFargo(t, k)
		if k.RelayKernelCount == nil || *k.RelayKernelCount == 0 {
			t.Errorf("fargo-kernel run: the relay's in-kernel packet count is %s (of %s relayed): nothing went through the kernel fast path",
				fmtCount(k.RelayKernelCount), fmtCount(k.RelayOwnCount))
		}
		// As little loss as the other targets: the fast path must not
		// drop what userspace relays. A few packets of slack (0.1 point,
		// 3 of the ~3,000 sent) for a shared machine.
		worst := max(rep.Runs[0].LossPct, fargo.LossPct)
		if k.LossPct > worst+0.1 {
			t.Errorf("fargo-kernel run: %.4f%% lost (%d of %d, %d streams), the other targets at most %.4f%%",
				k.LossPct, k.Lost, k.Sent, k.StreamsLossy, worst)
		}
		if k.Duplicates != 0 {
			t.Errorf("fargo-kernel run: %d duplicates: a packet was relayed both in the kernel and in userspace", k.Duplicates)
		}
	})

	var table bytes.Buffer
	if err := printTable(&table, rep.Runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"relay µs/pkt", "host Δ µs/pkt", "other cores"}, targets...) {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table without %q:\n%s", want, table.String())
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	if len(back.Runs) != len(targets) || back.Runs[1].Received != fargo.Received {
		t.Errorf("results JSON does not hold the runs: %s", b)
	}
	for _, field := range []string{`"relay_kernel_packet_count"`, `"host_delta_us_per_packet"`, `"host_busy_cpu_s"`} {
		if !bytes.Contains(b, []byte(field)) {
			t.Errorf("results JSON without %s: %s", field, b)
		}
	}
	t.Logf("\n%s", table.String())
}

// checkFargo checks a fargo relay run (fargo or fargo-kernel) against the
// direct baseline before it.
func checkFargo(t *testing.T, r result) {
	t.Helper()
	if r.RelayPID == 0 || r.RelayPID == os.Getpid() {
		t.Errorf("%s run: relay pid %d: the relay must be a process of its own", r.Target, r.RelayPID)
	}
	if r.RelayOwnCount == nil || *r.RelayOwnCount == 0 {
		t.Errorf("%s run: the relay's own packet count is %s", r.Target, fmtCount(r.RelayOwnCount))
	}
	if r.AddedP50US == nil {
		t.Errorf("%s run: no latency added over the direct baseline", r.Target)
	}
	// Its value is noise at this N; that it is there is what counts.
	if r.HostDeltaUSPerPkt == nil {
		t.Errorf("%s run: no host CPU delta over the direct baseline", r.Target)
	}
}

func fmtCount(n *uint64) string {
	if n == nil {
		return "absent"
	}
	return strconv.FormatUint(*n, 10)
}

// testWriter sends the tool's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
