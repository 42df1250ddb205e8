package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestSettleReportsALeakAndAcceptsItsEnd(t *testing.T) {
	base := Count()
	stop := make(chan struct{})
	go func() { <-stop }()
	err := Settle(base, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "goroutine leak") {
		t.Fatalf("leak not reported: %v", err)
	}
	close(stop)
	if err := Settle(base, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

type fakeM struct {
	code int
	leak bool
	stop chan struct{}
}

func (f *fakeM) Run() int {
	if f.leak {
		go func() { <-f.stop }()
	}
	return f.code
}

func TestRun(t *testing.T) {
	if got := Run(&fakeM{code: 0}, time.Second); got != 0 {
		t.Fatalf("clean run: %d", got)
	}
	if got := Run(&fakeM{code: 3}, time.Second); got != 3 {
		t.Fatalf("failing run: %d", got)
	}
	m := &fakeM{leak: true, stop: make(chan struct{})}
	if got := Run(m, 50*time.Millisecond); got != 1 {
		t.Fatalf("leaking run: %d", got)
	}
	// The baseline is taken while the leaked goroutine still runs: counted
	// after close, it may already be gone and the baseline one too low.
	base := Count() - 1
	close(m.stop)
	if err := Settle(base, time.Second); err != nil {
		t.Fatal(err)
	}
}
