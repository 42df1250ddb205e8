package xmpp

import (
	"fmt"
	"os"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests: every Link, fake
// server and connection must be torn down by the test that made it.
func TestMain(m *testing.M) {
	base := leakcheck.Count()
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Settle(base, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
