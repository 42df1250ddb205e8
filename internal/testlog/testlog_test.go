package testlog

import (
	"fmt"
	"sync"
	"testing"
)

func TestBufferFromManyGoroutines(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	wg.Wait()
	if n := b.Count("line "); n != 8 {
		t.Fatalf("Count = %d, want 8:\n%s", n, b.String())
	}
}
