package e2e

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/testkit"
)

// Ports of the echo test: 21900–21999.
const (
	echoKamailio = 21900
	echoSIP      = 21910
	echoBaresip  = 21920 // also +1, +2 and RTP 27920–27929
)

// TestSIPEcho runs `fargo echo-sip` registered at Kamailio as
// echo@sip.example.org; baresip calls it through Kamailio with a 1000 Hz
// tone and must record its own tone coming back.
func TestSIPEcho(t *testing.T) {
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: echoKamailio})
	pw := filepath.Join(t.TempDir(), "echo.pw")
	if err := os.WriteFile(pw, []byte(kam.Users["echo"].Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(fargoBin, "echo-sip", "--listen", "127.0.0.1:"+strconv.Itoa(echoSIP),
		"--register-aor", "echo@"+kam.Domain, "--registrar", kam.Addr, "--password-file", pw,
		"--max-call", "30s", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("fargo echo-sip did not stop on SIGTERM")
			return nil
		}
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = stop()
		}
		if t.Failed() {
			t.Logf("fargo echo-sip log:\n%s", logs.String())
		}
	})

	if _, err := kam.WaitContacts(ctxT(t, 10*time.Second), "echo", func(cs []testkit.Contact) bool {
		return len(cs) == 1 && strings.Contains(cs[0].URI, "echo@127.0.0.1:"+strconv.Itoa(echoSIP))
	}); err != nil {
		t.Fatal(err)
	}

	wav := filepath.Join(t.TempDir(), "tone.wav")
	if err := rtpprobe.WriteWAV(wav, rtpprobe.Tone(1000, 4*time.Second, 8000), 8000); err != nil {
		t.Fatal(err)
	}
	recv, blog, err := testkit.BaresipCall(t, testkit.BaresipConfig{Name: "carol-echo", User: "carol", Password: "carolpw",
		SIPPort: echoBaresip, Proxy: kam.Addr, Domain: kam.Domain}, "sip:echo@"+kam.Domain, 8, wav)
	if err != nil {
		t.Fatalf("baresip call: %v\n%s", err, blog)
	}
	pcm, rate, err := rtpprobe.ReadWAV(recv)
	if err != nil {
		t.Fatal(err)
	}
	if got := rtpprobe.DominantFrequency(pcm, rate); math.Abs(got-1000) > 25 {
		t.Fatalf("baresip heard %.0f Hz from the echo, want its own 1000 Hz (%d samples)", got, len(pcm))
	}

	// Stopping unregisters: the echo's binding disappears.
	stopped = true
	if err := stop(); err != nil {
		t.Fatalf("fargo echo-sip exit: %v", err)
	}
	if _, err := kam.WaitContacts(ctxT(t, 5*time.Second), "echo", func(cs []testkit.Contact) bool { return len(cs) == 0 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "SIP echo call") {
		t.Errorf("the echo logged no call:\n%s", logs.String())
	}
}
