package testkit

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordTB records how requirePeer ends a test instead of ending it.
type recordTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordTB) Helper()                           {}
func (r *recordTB) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recordTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRequirePeerSkipsOnlyOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &recordTB{TB: t}
	requirePeer(r, "nothing", "no-such-program-fargo")
	if r.fatal != "" || !strings.Contains(r.skipped, "no-such-program-fargo not installed") {
		t.Fatalf("outside CI: skipped=%q fatal=%q, want a skip naming the program", r.skipped, r.fatal)
	}

	t.Setenv("CI", "true")
	r = &recordTB{TB: t}
	requirePeer(r, "nothing", "no-such-program-fargo")
	if !strings.Contains(r.fatal, "never skips in CI") {
		t.Fatalf("in CI: fatal=%q, want a failure", r.fatal)
	}
}

func TestPortFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if TCPPortFree(port) {
		t.Fatalf("TCP port %d reported free while we listen on it", port)
	}
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uport := u.LocalAddr().(*net.UDPAddr).Port
	if UDPPortFree(uport) {
		t.Fatalf("UDP port %d reported free while bound", uport)
	}
	_ = u.Close()
	if !UDPPortFree(uport) {
		t.Fatalf("UDP port %d reported taken after close", uport)
	}
}

func TestScriptsDirFound(t *testing.T) {
	dir, err := scriptsDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"lib.sh", "prosody.sh", "ejabberd.sh", "kamailio.sh", "kamailio.cfg", "install.sh",
		"baresip.sh", "sipp.sh", "sipp/register.xml", "sipp/uas-answer.xml", "sipp/uas-busy.xml", "sipp/uas-decline.xml",
		"sipp/uas-unavailable.xml", "sipp/uas-noanswer.xml", "sipp/uas-nocodec.xml", "sipp/uas-hold-dtmf.xml",
		"sipp/uac-busy.xml", "sipp/uac-decline.xml", "sipp/uac-unavailable.xml", "sipp/uac-cancel.xml",
		"sipp/uac-nocodec.xml", "sipp/uac-answer-hold-dtmf.xml"} {
		if fi, err := os.Stat(filepath.Join(dir, s)); err != nil || fi.Size() == 0 {
			t.Errorf("%s/%s is empty or missing (%v)", dir, s, err)
		}
	}
}
