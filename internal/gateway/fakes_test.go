package gateway

import (
	"context"
	"encoding/xml"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// fakeSender records what the gateway sends.
type fakeSender struct{ ch chan *stanza.Stanza }

func (f *fakeSender) Send(_ context.Context, s *stanza.Stanza) error {
	f.ch <- s
	return nil
}

// fakeSIP answers REGISTERs by password and records registration loops.
type fakeSIP struct {
	mu        sync.Mutex
	password  map[string]string // AOR -> valid password; missing AOR: timeout
	registers []registerCall
	loops     []*fakeLoop
}

type registerCall struct {
	aor     string
	expires time.Duration
	binding Binding
}

func (f *fakeSIP) Register(ctx context.Context, a store.Account, b Binding, expires time.Duration) (time.Duration, Binding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registers = append(f.registers, registerCall{a.SIPAddress, expires, b})
	if err := f.check(a); err != nil {
		return 0, b, err
	}
	if b.CallID == "" {
		b.CallID = "call-" + a.SIPAddress
	}
	b.CSeq++
	return expires, b, nil
}

func (f *fakeSIP) check(a store.Account) error {
	pw, ok := f.password[a.SIPAddress]
	switch {
	case !ok:
		return &SIPError{Kind: SIPTimeout, Text: "no answer from SIP registrar (timeout)"}
	case pw != a.Password:
		return &SIPError{Kind: SIPAuthFailed, Code: 403, Text: "SIP registrar answered 403 Forbidden"}
	}
	return nil
}

func (f *fakeSIP) NewRegistration(a store.Account, b Binding, onState func(RegEvent)) Registration {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := &fakeLoop{sip: f, account: a, binding: b, onState: onState}
	f.loops = append(f.loops, l)
	return l
}

func (f *fakeSIP) calls() []registerCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]registerCall(nil), f.registers...)
}

func (f *fakeSIP) allLoops() []*fakeLoop {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeLoop(nil), f.loops...)
}

// fakeLoop reports registered or failed at once, like a fast registrar.
type fakeLoop struct {
	sip     *fakeSIP
	account store.Account
	binding Binding
	onState func(RegEvent)

	mu                               sync.Mutex
	started, updates, unregs, closes int
	failUnregister                   bool
}

func (l *fakeLoop) report() {
	l.sip.mu.Lock()
	err := l.sip.check(l.account)
	l.sip.mu.Unlock()
	l.binding.CSeq++
	if err != nil {
		l.onState(RegEvent{Phase: PhaseFailed, Err: err, Binding: l.binding, RetryAt: time.Now().Add(time.Minute)})
		return
	}
	l.onState(RegEvent{Phase: PhaseRegistered, ExpiresAt: time.Now().Add(time.Hour), Binding: l.binding})
}

func (l *fakeLoop) Start() {
	l.mu.Lock()
	l.started++
	l.mu.Unlock()
	go l.report()
}

func (l *fakeLoop) Update(a store.Account) {
	l.mu.Lock()
	l.updates++
	l.account = a
	l.mu.Unlock()
	go l.report()
}

// Unregister reports its outcome through onState from the caller's
// goroutine, as the real loop does; failUnregister makes it a failure.
func (l *fakeLoop) Unregister(context.Context) error {
	l.mu.Lock()
	l.unregs++
	fail := l.failUnregister
	l.mu.Unlock()
	if fail {
		err := &SIPError{Kind: SIPTimeout, Text: "no answer from SIP registrar (timeout)"}
		l.onState(RegEvent{Phase: PhaseFailed, Err: err, Binding: l.binding})
		return err
	}
	l.onState(RegEvent{Phase: PhaseUnregistered, Binding: l.binding})
	return nil
}

func (l *fakeLoop) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closes++
}

func (l *fakeLoop) counts() (started, updates, unregs, closes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started, l.updates, l.unregs, l.closes
}

// memStore is an in-memory store.Store for this package's unit tests.
// accountReads counts Account and AccountByToken calls: the lookups the
// gateway must not make per call.
type memStore struct {
	mu           sync.Mutex
	accts        map[string]store.Account
	regs         map[string]store.Registration
	accountReads atomic.Int64
}

func newMemStore() *memStore {
	return &memStore{accts: map[string]store.Account{}, regs: map[string]store.Registration{}}
}

func (m *memStore) Account(_ context.Context, j string) (store.Account, error) {
	m.accountReads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accts[j]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (m *memStore) AccountByToken(_ context.Context, tok string) (store.Account, error) {
	m.accountReads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accts {
		if a.ContactToken == tok {
			return a, nil
		}
	}
	return store.Account{}, store.ErrNotFound
}

func (m *memStore) PutAccount(_ context.Context, a store.Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accts[a.JID] = a
	return nil
}

func (m *memStore) DeleteAccount(_ context.Context, j string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accts[j]; !ok {
		return store.ErrNotFound
	}
	delete(m.accts, j)
	delete(m.regs, j)
	return nil
}

func (m *memStore) Accounts(context.Context) ([]store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Account
	for _, a := range m.accts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, nil
}

func (m *memStore) Registration(_ context.Context, j string) (store.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accts[j]; !ok {
		return store.Registration{}, store.ErrNotFound
	}
	r, ok := m.regs[j]
	if !ok {
		return store.Registration{JID: j, State: store.RegStateNone}, nil
	}
	return r, nil
}

func (m *memStore) PutRegistration(_ context.Context, r store.Registration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accts[r.JID]; !ok {
		return store.ErrNotFound
	}
	m.regs[r.JID] = r
	return nil
}

func (m *memStore) Close() error { return nil }

// harness runs a gateway over fakes.
type harness struct {
	t       testing.TB
	pending []*stanza.Stanza
	gw      *Gateway
	out     *fakeSender
	sip     *fakeSIP
	store   *memStore
}

const gwDomain = "sip.example.test"

func newHarness(t testing.TB, mutate ...func(*Config)) *harness {
	t.Helper()
	cfg := Config{Domain: gwDomain, Version: "test", PresenceGrace: 200 * time.Millisecond, ValidateTimeout: time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	h := &harness{t: t, out: &fakeSender{ch: make(chan *stanza.Stanza, 256)},
		sip:   &fakeSIP{password: map[string]string{"alice@sip.example.org": "alicepw", "bob@sip.example.org": "bobpw"}},
		store: newMemStore()}
	h.gw = New(cfg, h.out, h.sip, h.store, slog.New(slog.DiscardHandler))
	if err := h.gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		h.gw.Shutdown(ctx)
	})
	return h
}

// in feeds a raw stanza to the gateway as the link would.
func (h *harness) in(raw string) {
	h.t.Helper()
	var s stanza.Stanza
	if err := xml.Unmarshal([]byte(raw), &s); err != nil {
		h.t.Fatalf("test stanza: %v", err)
	}
	h.gw.HandleStanza(context.Background(), &s)
}

// expect waits for a sent stanza matching pred, skipping others.
func (h *harness) expect(desc string, pred func(*stanza.Stanza) bool) *stanza.Stanza {
	h.t.Helper()
	for i, s := range h.pending {
		if pred(s) {
			h.pending = append(h.pending[:i:i], h.pending[i+1:]...)
			return s
		}
	}
	timeout := time.After(3 * time.Second)
	for {
		select {
		case s := <-h.out.ch:
			if pred(s) {
				return s
			}
			h.pending = append(h.pending, s)
		case <-timeout:
			var seen []string
			for _, s := range h.pending {
				b, _ := s.Marshal()
				seen = append(seen, string(b))
			}
			h.t.Fatalf("timed out waiting for %s; unconsumed:\n%s", desc, strings.Join(seen, "\n"))
			return nil
		}
	}
}

// reply waits for the answer to the iq with id.
func (h *harness) reply(id string) *stanza.Stanza {
	h.t.Helper()
	return h.expect("reply to "+id, func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindIQ && s.ID == id })
}

func (h *harness) expectError(id string, cond stanza.Condition) *stanza.Error {
	h.t.Helper()
	s := h.expect("error reply to "+id, func(s *stanza.Stanza) bool { return s.ID == id })
	e := stanza.ParseError(s)
	if s.Type != "error" || e == nil || e.Condition != cond {
		b, _ := s.Marshal()
		h.t.Fatalf("reply to %s: want error %s, got %s", id, cond, b)
	}
	return e
}

func isPresence(typ, to string) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == typ && s.To == to
	}
}

// eventually polls cond.
func eventually(t testing.TB, desc string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", desc)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testAccount(j, aor string) store.Account {
	return store.Account{JID: j, SIPAddress: aor, Password: "pw", Transport: store.TransportUDP, ContactToken: "tok-" + j}
}
