package xmpp

import (
	"os"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests that started them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 5*time.Second)) }
