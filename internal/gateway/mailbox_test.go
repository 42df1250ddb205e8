package gateway

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"fargo.dev/fargo/internal/leakcheck"
)

func TestMailboxRunsInOrderAndGoesIdle(t *testing.T) {
	var wg sync.WaitGroup
	base := leakcheck.Count()
	m := newMailbox(&wg, 4)
	var got []int
	for i := range 100 {
		m.postNow(func() { got = append(got, i) })
	}
	wg.Wait()
	for i, v := range got {
		if v != i {
			t.Fatalf("out of order at %d: %v", i, got)
		}
	}
	if len(got) != 100 {
		t.Fatalf("ran %d of 100", len(got))
	}
	if err := leakcheck.Settle(base, time.Second); err != nil {
		t.Fatalf("an idle mailbox keeps a goroutine: %v", err)
	}
}

func TestMailboxPostWaitsWhenFull(t *testing.T) {
	var wg sync.WaitGroup
	m := newMailbox(&wg, 2)
	release := make(chan struct{})
	m.post(func() { <-release }) // running, not queued
	m.post(func() {})
	m.post(func() {})
	posted := make(chan struct{})
	go func() { m.post(func() {}); close(posted) }()
	select {
	case <-posted:
		t.Fatal("post did not wait with a full mailbox")
	case <-time.After(50 * time.Millisecond):
	}
	if !m.postNow(func() {}) {
		t.Fatal("postNow refused")
	}
	close(release)
	<-posted
	m.close() // rather than wait out the linger
	wg.Wait()
}

func TestMailboxCloseDropsAndWakes(t *testing.T) {
	var wg sync.WaitGroup
	m := newMailbox(&wg, 1)
	release := make(chan struct{})
	m.post(func() { <-release })
	m.post(func() {})
	result := make(chan bool)
	go func() { result <- m.post(func() { t.Error("ran after close") }) }()
	time.Sleep(20 * time.Millisecond)
	m.close()
	if <-result {
		t.Fatal("post after close reported success")
	}
	if m.postNow(func() { t.Error("ran after close") }) {
		t.Fatal("postNow after close reported success")
	}
	close(release)
	wg.Wait()
}

// lingering reports whether m's drain goroutine waits for work.
func lingering(m *mailbox) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running && m.wake != nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMailboxLingersThenExits(t *testing.T) {
	var wg sync.WaitGroup
	base := leakcheck.Count()
	m := newMailbox(&wg, 4)
	ran := make(chan int, 3)
	m.post(func() { ran <- 1 })
	<-ran
	waitFor(t, "the first linger", func() bool { return lingering(m) })
	// The next bursts run on the same goroutine: no second one appears.
	for i := 2; i <= 3; i++ {
		m.post(func() { ran <- i })
		if got := <-ran; got != i {
			t.Fatalf("ran %d, want %d", got, i)
		}
		waitFor(t, "a linger after a wake-up", func() bool { return lingering(m) })
		// Counted by stack, not in total: other tests' goroutines may
		// still be ending while this one runs.
		if n := drainGoroutines(); n != 1 {
			t.Fatalf("%d drain goroutines while lingering, want 1", n)
		}
	}
	began := time.Now()
	wg.Wait()
	if d := time.Since(began); d < mailboxLinger/2 {
		t.Fatalf("the drain goroutine exited after %v, before lingering", d)
	}
	if m.running || m.wake != nil || m.queue != nil {
		t.Fatalf("idle mailbox kept state: running %v wake %v queue %v", m.running, m.wake != nil, m.queue)
	}
	if err := leakcheck.Settle(base, time.Second); err != nil {
		t.Fatal(err)
	}
	// After it exited a post starts a goroutine again.
	m.post(func() { ran <- 4 })
	if <-ran != 4 {
		t.Fatal("post after the linger did not run")
	}
	m.close()
	wg.Wait()
}

func TestMailboxCloseEndsLingerAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	m := newMailbox(&wg, 4)
	m.post(func() {})
	waitFor(t, "the linger", func() bool { return lingering(m) })
	began := time.Now()
	m.close()
	wg.Wait()
	if d := time.Since(began); d > mailboxLinger/2 {
		t.Fatalf("close left the drain goroutine lingering for %v", d)
	}
	if m.post(func() { t.Error("ran after close") }) {
		t.Fatal("post after close reported success")
	}
}

// TestMailboxOrderAcrossLingers posts from several goroutines with pauses,
// so posts meet the drain goroutine working, lingering and being woken:
// each poster's closures run in its order, one at a time.
func TestMailboxOrderAcrossLingers(t *testing.T) {
	var wg sync.WaitGroup
	m := newMailbox(&wg, 3)
	const posters, each = 4, 200
	next := make([]int, posters) // touched only by the closures
	running := 0
	var posting sync.WaitGroup
	for p := range posters {
		posting.Go(func() {
			for i := range each {
				m.post(func() {
					running++
					if running != 1 || next[p] != i {
						t.Errorf("poster %d: closure %d ran as %d with %d running", p, i, next[p], running)
					}
					next[p]++
					running--
				})
				if i%16 == p {
					time.Sleep(time.Duration(p) * 200 * time.Microsecond)
				}
			}
		})
	}
	posting.Wait()
	m.close()
	wg.Wait()
	for p, n := range next {
		if n != each {
			t.Errorf("poster %d: %d of %d ran", p, n, each)
		}
	}
}

// An idle user keeps its mailbox: the linger's state must not push it out
// of its 64-byte size class.
func TestMailboxStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(mailbox{}); n > 64 {
		t.Fatalf("mailbox is %d bytes, more than 64", n)
	}
}

// drainGoroutines counts the goroutines running a mailbox's drain loop.
func drainGoroutines() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "gateway.(*mailbox).drain(")
}
