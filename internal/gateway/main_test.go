package gateway

import (
	"fmt"
	"os"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

// TestMain fails the run if a user actor, grace timer or registration loop
// outlives the test that started its gateway.
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
