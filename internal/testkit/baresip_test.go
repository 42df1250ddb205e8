package testkit

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/rtpprobe"
)

func TestCleanConsole(t *testing.T) {
	raw := "/\r/r\r/re\r/reg\r/regi\r/regin\r/reginf\r/reginfo\n\n--- User Agents (1) ---\n> sip:carol@sip.example.org \x1b[32mOK \x1b[;m kamailio-lab Expires 600s\n"
	want := "--- User Agents (1) ---\n> sip:carol@sip.example.org OK  kamailio-lab Expires 600s"
	if got := cleanConsole(raw, "/reginfo"); got != want {
		t.Fatalf("cleanConsole = %q, want %q", got, want)
	}
}

func TestWAVComplete(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done.wav")
	if err := rtpprobe.WriteWAV(done, make([]int16, 800), 8000); err != nil {
		t.Fatal(err)
	}
	if size, ok := wavComplete(done); !ok || size != 44+1600 {
		t.Fatalf("finished file: %d, %v", size, ok)
	}
	// libsndfile's header while the call lasts: sizes of an empty file
	b, _ := os.ReadFile(done)
	binary.LittleEndian.PutUint32(b[4:], 36)
	binary.LittleEndian.PutUint32(b[40:], 0)
	growing := filepath.Join(dir, "growing.wav")
	if err := os.WriteFile(growing, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := wavComplete(growing); ok {
		t.Fatal("a file with an unfinished header counts as complete")
	}
	if _, ok := wavComplete(filepath.Join(dir, "missing.wav")); ok {
		t.Fatal("a missing file counts as complete")
	}
}

// TestBaresipPeer: a baresip caller sends a 1 kHz tone through a real
// Kamailio to a recording baresip, which answers with its 440 Hz sine;
// each side must have received the other's tone. Then an idle baresip
// driven through its console calls the recorder and hangs up.
func TestBaresipPeer(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioConfig{Port: 26000})
	ctx := ctxFor(t, 2*time.Minute)
	bob := StartBaresip(t, BaresipConfig{User: "bob", Password: "bobpw", Mode: BaresipRecord, SIPPort: 26010, Proxy: kam.Addr})
	if _, err := kam.WaitContacts(ctx, "bob", func(cs []Contact) bool { return len(cs) == 1 }); err != nil {
		t.Fatal(err)
	}

	wav := filepath.Join(t.TempDir(), "1khz.wav")
	if err := rtpprobe.WriteWAV(wav, rtpprobe.Tone(1000, 2*time.Second, 8000), 8000); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	got, log, err := BaresipCall(t, BaresipConfig{User: "alice", Password: "alicepw", SIPPort: 26020, Proxy: kam.Addr}, "bob", 15, wav)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	t.Logf("call with a 2 s tone took %v", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(log, "Call established") {
		t.Errorf("caller's log has no established call:\n%s", log)
	}
	checkTone(t, "alice received", got, 440)

	rec, err := bob.WaitRecording(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkTone(t, "bob received", rec, 1000)
	received, sent := bob.Recordings()
	if len(received) != 1 || len(sent) != 1 || received[0] != rec {
		t.Fatalf("bob's recordings: received %v, sent %v", received, sent)
	}
	checkTone(t, "bob sent", sent[0], 440)

	// an idle user agent, driven through its console
	carol := StartBaresip(t, BaresipConfig{User: "carol", Password: "carolpw", Mode: BaresipIdle, SIPPort: 26030, Proxy: kam.Addr})
	if out, err := carol.Cmd("/reginfo"); err != nil || !strings.Contains(out, "sip:carol@sip.example.org") || !strings.Contains(out, "OK") {
		t.Fatalf("/reginfo: %q, %v", out, err)
	}
	if err := carol.Dial(bob.Address); err != nil {
		t.Fatal(err)
	}
	waitLog(t, carol, "Call established")
	time.Sleep(time.Second) // a second of audio each way
	if err := carol.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, carol, "terminated")
	rec2, err := bob.WaitRecording(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec2 == rec {
		t.Fatalf("no new recording after carol's call: %s", rec2)
	}
	checkTone(t, "bob received from carol", rec2, 440)
	if received, _ := carol.Recordings(); len(received) != 1 {
		t.Errorf("carol's recordings: %v", received)
	}
}

// checkTone reads a recording and checks its length and pitch.
func checkTone(t *testing.T, what, path string, freq float64) {
	t.Helper()
	samples, rate, err := rtpprobe.ReadWAV(path)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	secs := float64(len(samples)) / float64(rate)
	got := rtpprobe.DominantFrequency(samples, rate)
	t.Logf("%s: %.2f s at %d Hz, dominant %.1f Hz (%s)", what, secs, rate, got, filepath.Base(path))
	if secs < 0.5 || got < freq-10 || got > freq+10 {
		t.Errorf("%s: %.2f s, dominant frequency %.1f Hz; want %.0f±10 Hz", what, secs, got, freq)
	}
}

// waitLog waits up to 10 s for text in the user agent's log.
func waitLog(t *testing.T, b *Baresip, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.Log(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s: no %q in the log:\n%s", b.Name, text, tail(filepath.Join(b.Dir, "baresip.log"), 40))
		}
		time.Sleep(pollInterval)
	}
}
