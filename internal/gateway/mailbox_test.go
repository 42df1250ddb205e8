package gateway

import (
	"sync"
	"testing"
	"time"

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
