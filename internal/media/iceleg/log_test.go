package iceleg

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps the records at or above Warn.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.Level >= slog.LevelWarn || strings.Contains(rec.Message, "redacted") {
		r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	}
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func TestPionLogLevels(t *testing.T) {
	rec := &recorder{}
	l := pionLogs{log: slog.New(rec)}.NewLogger("ice")
	l.Errorf("Failed to read UDP packet: %v", "read udp 127.0.0.1:1: use of closed network connection")
	l.Info("Setting new connection state: Checking")
	l.Tracef("ping %d", 1)
	l.Warn("Failed to ping without candidate pairs. Connection is not possible yet.")
	l.Errorf("real trouble %d", 42)
	l.Debugf("Started agent: isControlling? %t, remoteUfrag: %q, remotePwd: %q", true, "u", "s3cretpwd")
	got := rec.all()
	want := []string{"ERROR real trouble 42", "DEBUG Started agent: isControlling? true, remoteUfrag: \"u\", remotePwd: [redacted]"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records ≥ Warn:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestQuietSession: a whole session, set-up to Close, logs nothing at
// Warn or above (what an operator would see).
func TestQuietSession(t *testing.T) {
	recA, recB := &recorder{}, &recorder{}
	mk := func(rec *recorder, controlling bool) *Leg {
		l, err := New(Config{Conn: listen(t), Announce: loopback, Certificate: testCert(t),
			Controlling: controlling, Log: slog.New(rec)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := mk(recA, true), mk(recB, false)
	au, ap := a.Credentials()
	bu, bp := b.Credentials()
	if err := b.SetRemote(RemoteICE{Ufrag: au, Pwd: ap, Fingerprint: a.Fingerprint(), Setup: SetupActpass}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemote(RemoteICE{Ufrag: bu, Pwd: bp, Fingerprint: b.Fingerprint(), Setup: SetupActive}); err != nil {
		t.Fatal(err)
	}
	_ = a.AddRemoteCandidate(b.Candidates()[0])
	_ = b.AddRemoteCandidate(a.Candidates()[0])
	waitReady(t, a)
	waitReady(t, b)
	if err := a.WriteRTP(g711(1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ReadPacket(make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	time.Sleep(50 * time.Millisecond) // b sees a's close_notify and dead socket
	_ = b.Close()
	time.Sleep(50 * time.Millisecond) // pion's mux readers notice their sockets closed
	for _, m := range append(recA.all(), recB.all()...) {
		if !strings.Contains(m, "redacted") {
			t.Errorf("logged during a normal session: %s", m)
		}
	}
}
