// Package leakcheck finds goroutines that outlive a package's tests. A
// package whose code starts goroutines calls it from TestMain, so every
// Link, UA, actor or fake server must be torn down by the test that made it.
//
// Tier 0: it imports only the standard library (runtime, no I/O) and is
// imported only by tests.
package leakcheck

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Count is the number of goroutines, minus the signal watcher the fuzzing
// engine starts once and never stops.
func Count() int {
	n := runtime.NumGoroutine()
	for _, g := range strings.Split(stacks(), "\n\n") {
		if strings.Contains(g, "os/signal.signal_recv") {
			n--
		}
	}
	return n
}

// Settle waits up to within for the goroutine count to fall back to base
// and otherwise returns an error with every goroutine's stack. Polling is
// the only way to observe goroutines exit.
func Settle(base int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		n := Count()
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d goroutines running, %d before the tests\n%s", n, base, stacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// Runner is what TestMain gets (*testing.M).
type Runner interface{ Run() int }

// Run runs the tests and turns a passing run into a failing one if
// goroutines outlive it, printing their stacks. TestMain does
// os.Exit(leakcheck.Run(m, 5*time.Second)).
func Run(m Runner, within time.Duration) int {
	base := Count()
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := Settle(base, within); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}
