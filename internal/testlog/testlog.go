// Package testlog is a log sink for tests: slog handlers write to it from
// many goroutines while the test reads what was logged.
//
// Tier 0: standard library only; imported only by tests.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects log output from many goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count is how many times s was logged.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }
