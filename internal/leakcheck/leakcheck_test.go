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
