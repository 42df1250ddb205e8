package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
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

// TestSmokeFargo runs the tool's core briefly at small N against the fargo
// relay in its own process, plus the direct baseline, and checks that
// packets flow both ways and the report is produced. It asserts nothing
// about speed: benchmarks and docs/performance.md do that.
func TestSmokeFargo(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "relay.json")
	o := options{
		calls:          []int{20},
		duration:       1500 * time.Millisecond,
		ramp:           500 * time.Millisecond,
		targets:        []string{"direct", "fargo"},
		senders:        2,
		receivers:      2,
		rxInterval:     time.Millisecond,
		fargoPorts:     smokePorts,
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
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want 2 (direct, fargo)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		// Every one of the 40 streams (20 calls, both ways) delivered
		// packets in the window.
		if r.Sent == 0 || r.Received == 0 || r.StreamsSilent != 0 {
			t.Errorf("%s: sent %d, received %d, %d silent streams: packets do not flow", r.Target, r.Sent, r.Received, r.StreamsSilent)
		}
	}
	fargo := rep.Runs[1]
	if fargo.Target != "fargo" || fargo.RelayPID == 0 || fargo.RelayPID == os.Getpid() {
		t.Errorf("fargo run: target %q, relay pid %d: the relay must be a process of its own", fargo.Target, fargo.RelayPID)
	}
	if fargo.RelayOwnCount == nil || *fargo.RelayOwnCount == 0 {
		t.Errorf("fargo run: the relay's own packet count is %v", fargo.RelayOwnCount)
	}
	if fargo.AddedP50US == nil {
		t.Error("fargo run: no latency added over the direct baseline")
	}

	var table bytes.Buffer
	if err := printTable(&table, rep.Runs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "fargo") || !strings.Contains(table.String(), "relay µs/pkt") {
		t.Errorf("table:\n%s", table.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	if len(back.Runs) != 2 || back.Runs[1].Received != fargo.Received {
		t.Errorf("results JSON does not hold the runs: %s", b)
	}
	t.Logf("\n%s", table.String())
}

// testWriter sends the tool's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
