package xmpp

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines outlive the tests: every Link, fake
// server and connection must be torn down by the test that made it.
func TestMain(m *testing.M) {
	base := goroutines()
	code := m.Run()
	if code == 0 {
		if err := settleGoroutines(base, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// settleGoroutines polls until the goroutine count is back to base; exiting
// goroutines need a moment to be reaped, there is no event to wait on.
func settleGoroutines(base int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		n := goroutines()
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("goroutine leak: %d goroutines running, %d before the tests\n%s", n, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutines is runtime.NumGoroutine minus the signal watcher that the
// fuzzing engine starts once and never stops.
func goroutines() int {
	n := runtime.NumGoroutine()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "os/signal.signal_recv") {
			n--
		}
	}
	return n
}
