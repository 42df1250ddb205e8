package iceleg

import (
	"bytes"
	"errors"
	"fargo.dev/fargo/internal/testlog"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	"github.com/pion/rtp"
)

// TestMain fails the run if goroutines outlive the tests: a leg owns an
// ICE agent, a mux, a DTLS conn and our own goroutines, and Close must end
// all of them.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Run(m, 10*time.Second))
}

var (
	certOnce sync.Once
	certVal  *Certificate
	certErr  error
)

// testCert is the process certificate, as production has one.
func testCert(t testing.TB) *Certificate {
	t.Helper()
	certOnce.Do(func() { certVal, certErr = NewCertificate() })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certVal
}

// testLog is a debug logger whose output is printed if the test fails.
func testLog(t testing.TB, name string) *slog.Logger {
	buf := &testlog.Buffer{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("ICELEG_LOG") != "" {
			t.Logf("log of %s:\n%s", name, buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("leg", name)
}

// listen binds a loopback UDP socket.
func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var loopback = netip.MustParseAddr("127.0.0.1")

// newTestLeg makes a leg on a fresh loopback socket, closed at cleanup.
func newTestLeg(t testing.TB, name string, controlling bool, timeout time.Duration) *Leg {
	t.Helper()
	l, err := New(Config{
		Conn:             listen(t),
		Announce:         loopback,
		Certificate:      testCert(t),
		Controlling:      controlling,
		HandshakeTimeout: timeout,
		Log:              testLog(t, name),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// connectPair makes two legs talking to each other the way a Jingle
// session sets them up: a offers (controlling, actpass), b answers
// (controlled, active, so b is the DTLS client). One candidate goes before
// SetRemote, the other after (trickle).
func connectPair(t testing.TB) (a, b *Leg) {
	t.Helper()
	a = newTestLeg(t, "offerer", true, 10*time.Second)
	b = newTestLeg(t, "answerer", false, 10*time.Second)
	for _, c := range a.Candidates() {
		if err := b.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	au, ap := a.Credentials()
	bu, bp := b.Credentials()
	offerSetup := a.LocalSetup("")
	answerSetup := b.LocalSetup(offerSetup)
	if err := b.SetRemote(RemoteICE{Ufrag: au, Pwd: ap, Fingerprint: a.Fingerprint(), Setup: offerSetup}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemote(RemoteICE{Ufrag: bu, Pwd: bp, Fingerprint: b.Fingerprint(), Setup: answerSetup}); err != nil {
		t.Fatal(err)
	}
	for _, c := range b.Candidates() {
		if err := a.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, a)
	waitReady(t, b)
	return a, b
}

func waitReady(t testing.TB, l *Leg) {
	t.Helper()
	select {
	case <-l.Ready():
	case <-l.failed:
		t.Fatalf("handshake failed: %v", l.failErr)
	case <-time.After(15 * time.Second):
		t.Fatal("leg not ready after 15s")
	}
}

// g711 builds a 172-byte PCMU packet (12-byte header, 20 ms of audio)
// whose payload encodes seq, so that the receiver can check it.
func g711(ssrc uint32, seq uint16) []byte {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(seq) + byte(i)
	}
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// checkG711 verifies a payload g711 built.
func checkG711(payload []byte, seq uint16) error {
	if len(payload) != 160 {
		return errors.New("payload is not 160 bytes")
	}
	for i, x := range payload {
		if x != byte(seq)+byte(i) {
			return errors.New("payload corrupted")
		}
	}
	return nil
}

// readResult is one ReadPacket outcome.
type readResult struct {
	pkt  []byte
	rtcp bool
	err  error
}

// reader runs ReadPacket in a loop until it fails, delivering copies.
func reader(l *Leg) (<-chan readResult, <-chan struct{}) {
	out := make(chan readResult, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, isRTCP, err := l.ReadPacket(buf)
			if err != nil {
				select {
				case out <- readResult{err: err}:
				default: // nobody is looking any more
				}
				return
			}
			select {
			case out <- readResult{pkt: bytes.Clone(buf[:n]), rtcp: isRTCP}:
			default: // the test stopped looking
			}
		}
	}()
	return out, done
}

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// readErr runs one ReadPacket and returns its error, failing the test if
// it does not return within d (Close at cleanup then unblocks it).
func readErr(t testing.TB, l *Leg, d time.Duration) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, _, err := l.ReadPacket(make([]byte, 1500))
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		t.Fatalf("ReadPacket did not return within %v", d)
		return nil
	}
}
