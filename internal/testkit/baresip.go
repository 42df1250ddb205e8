package testkit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Modes of a baresip user agent (BaresipConfig.Mode).
const (
	// BaresipRecord answers every call at once and sends a 440 Hz sine.
	BaresipRecord = "record"
	// BaresipIdle registers and leaves incoming calls ringing: answer
	// with Cmd("/accept"). It sends the same sine once in a call.
	BaresipIdle = "idle"
)

// baresipTone is the sine both modes send (BARESIP_TONE's default).
const baresipTone = 440

// BaresipConfig describes a baresip 1.0 user agent registered at a lab
// registrar (scripts/peers/baresip.sh). Every call it takes part in is
// recorded to WAV files, 8 kHz mono with G.711.
type BaresipConfig struct {
	Name     string // instance name (its directory); default User
	User     string // registers as User@Domain
	Password string
	Mode     string // BaresipRecord (default) or BaresipIdle
	// SIPPort is SIP over UDP and TCP on 127.0.0.1; baresip also takes
	// TLS on SIPPort+1, and by default the console on SIPPort+2 and RTP
	// on 27000+SIPPort%1000 and the 9 ports above: give user agents SIP
	// ports 10 apart.
	SIPPort  int
	Proxy    string // registrar and outbound proxy, "127.0.0.1:port"
	Domain   string // default SIPDomain
	ConsPort int    // console (UDP and TCP); default SIPPort+2
	RTPPort  int    // first of 10 RTP/RTCP ports; default 27000+SIPPort%1000
	// MediaEnc is the account's media encryption: "" plain RTP/AVP (the
	// default), BaresipSDES or BaresipSDESMandatory.
	MediaEnc string
}

// Media encryptions of a baresip user agent (BaresipConfig.MediaEnc): SDES
// (RFC 4568, a=crypto) from baresip's srtp module.
const (
	// BaresipSDES offers and accepts SDES on RTP/AVP and falls back to
	// plain RTP when the other side has no a=crypto (best effort).
	BaresipSDES = "srtp"
	// BaresipSDESMandatory offers RTP/SAVP and takes nothing else.
	BaresipSDESMandatory = "srtp-mand"
)

// Baresip is a running baresip user agent.
type Baresip struct {
	Name     string
	Address  string // sip:user@domain
	SIPPort  int
	ConsPort int
	Dir      string // $LAB_RUN/baresip/NAME: config, accounts, baresip.log, rec/

	p     *peer
	cmdMu sync.Mutex // one console exchange at a time
}

// resolve fills in the defaults and checks the ports; env is what
// baresip.sh needs on top of LAB_RUN.
func (cfg BaresipConfig) resolve(t testing.TB) (BaresipConfig, []string) {
	t.Helper()
	if cfg.User == "" || cfg.Password == "" {
		t.Fatalf("baresip: User and Password are required")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.User
	}
	if cfg.Mode == "" {
		cfg.Mode = BaresipRecord
	}
	if cfg.Mode != BaresipRecord && cfg.Mode != BaresipIdle {
		t.Fatalf("baresip: mode %q: want %q or %q", cfg.Mode, BaresipRecord, BaresipIdle)
	}
	if cfg.Domain == "" {
		cfg.Domain = SIPDomain
	}
	if cfg.MediaEnc != "" && cfg.MediaEnc != BaresipSDES && cfg.MediaEnc != BaresipSDESMandatory {
		t.Fatalf("baresip: media encryption %q: want none, %q or %q", cfg.MediaEnc, BaresipSDES, BaresipSDESMandatory)
	}
	if cfg.ConsPort == 0 {
		cfg.ConsPort = cfg.SIPPort + 2
	}
	if cfg.RTPPort == 0 {
		cfg.RTPPort = min(27000+cfg.SIPPort%1000, 27990)
	}
	checkSIPPeer(t, "baresip", cfg.Proxy, cfg.SIPPort, cfg.SIPPort+1, cfg.ConsPort, cfg.RTPPort, cfg.RTPPort+9)
	env := []string{
		"SIP_PROXY=" + cfg.Proxy,
		"BARESIP_DOMAIN=" + cfg.Domain,
		"BARESIP_SIP_PORT=" + strconv.Itoa(cfg.SIPPort),
		"BARESIP_CONS_PORT=" + strconv.Itoa(cfg.ConsPort),
		fmt.Sprintf("BARESIP_RTP_PORTS=%d-%d", cfg.RTPPort, cfg.RTPPort+9),
		"BARESIP_TONE=" + strconv.Itoa(baresipTone),
		"BARESIP_MEDIAENC=" + cfg.MediaEnc,
	}
	return cfg, env
}

// newBaresipPeer prepares the script run for cfg (ports checked at start).
func newBaresipPeer(t testing.TB, cfg BaresipConfig, env []string) *peer {
	t.Helper()
	p := newPeer(t, "baresip", env, []int{cfg.SIPPort, cfg.SIPPort + 1, cfg.ConsPort}, []int{cfg.SIPPort, cfg.ConsPort},
		filepath.Join("baresip", cfg.Name, "baresip.log"))
	p.stopCmd = []string{"stop", cfg.Name}
	return p
}

// StartBaresip starts a baresip user agent that registers as
// cfg.User@cfg.Domain through cfg.Proxy, and stops it when the test ends.
func StartBaresip(t testing.TB, cfg BaresipConfig) *Baresip {
	t.Helper()
	requirePeer(t, "baresip", "baresip", "setpriv", "ss")
	cfg, env := cfg.resolve(t)
	p := newBaresipPeer(t, cfg, env)
	p.startCmd = []string{"start", cfg.Name, cfg.User, cfg.Password, cfg.Mode, strconv.Itoa(cfg.SIPPort)}
	b := &Baresip{
		Name:     cfg.Name,
		Address:  "sip:" + cfg.User + "@" + cfg.Domain,
		SIPPort:  cfg.SIPPort,
		ConsPort: cfg.ConsPort,
		Dir:      filepath.Join(p.runDir(), cfg.Name),
		p:        p,
	}
	p.start(t)
	return b
}

// AttachBaresip returns a handle on a user agent started outside a test
// (scripts/peers/baresip.sh start NAME …, as the demo does), with its
// runtime directory and console port: Cmd, Dial, Hangup, Recordings and
// WaitRecording work; nothing stops it.
func AttachBaresip(name, dir string, consPort int) *Baresip {
	return &Baresip{Name: name, Dir: dir, ConsPort: consPort}
}

// consQuiet is how long Cmd waits for more output after the last datagram;
// consTimeout bounds the wait for the first one.
const (
	consQuiet   = 300 * time.Millisecond
	consTimeout = 2 * time.Second
)

// Cmd sends one command to the user agent's console ("/dial sip:…",
// "/accept", "/hangup", "/reginfo", "/listcalls", …) and returns what
// baresip printed in reply, without the console's echo of the keystrokes.
func (b *Baresip) Cmd(cmd string) (string, error) {
	b.cmdMu.Lock()
	defer b.cmdMu.Unlock()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: b.ConsPort})
	if err != nil {
		return "", fmt.Errorf("baresip %s console: %w", b.Name, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return "", fmt.Errorf("baresip %s console: %w", b.Name, err)
	}
	var out bytes.Buffer
	buf := make([]byte, 65536)
	deadline := time.Now().Add(consTimeout)
	for {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && out.Len() > 0 {
				break
			}
			return "", fmt.Errorf("baresip %s console: no answer to %q: %w", b.Name, cmd, err)
		}
		out.Write(buf[:n])
		deadline = time.Now().Add(consQuiet)
	}
	return cleanConsole(out.String(), cmd), nil
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// cleanConsole drops the console's echo (each keystroke reprints the line:
// "\r/", "\r/d", … "\r/dial …") and colour codes.
func cleanConsole(s, cmd string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	var keep []string
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.HasPrefix(cmd, line) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// Dial calls uri ("sip:bob@sip.example.org") through the proxy.
func (b *Baresip) Dial(uri string) error {
	out, err := b.Cmd("/dial " + uri)
	if err != nil {
		return err
	}
	if strings.Contains(out, "ua_connect failed") {
		return fmt.Errorf("baresip %s: dial %s: %s", b.Name, uri, out)
	}
	return nil
}

// Hangup ends (or refuses) the current call.
func (b *Baresip) Hangup() error {
	_, err := b.Cmd("/hangup")
	return err
}

// Recordings lists the call recordings: what the user agent received
// (…-dec.wav) and what it sent (…-enc.wav), oldest first. Their names carry
// the second the call's audio started.
func (b *Baresip) Recordings() (received, sent []string) {
	return recordings(filepath.Join(b.Dir, "rec"))
}

func recordings(dir string) (received, sent []string) {
	received, _ = filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
	sent, _ = filepath.Glob(filepath.Join(dir, "dump-*-enc.wav"))
	slices.Sort(received)
	slices.Sort(sent)
	return received, sent
}

// WaitRecording waits until the newest received-audio recording belongs
// to a finished call (libsndfile has written its final header and the
// file no longer grows) and returns its path.
func (b *Baresip) WaitRecording(ctx context.Context) (string, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last string
	var lastSize int64 = -1
	for {
		received, _ := b.Recordings()
		if len(received) > 0 {
			newest := received[len(received)-1]
			size, complete := wavComplete(newest)
			if complete && newest == last && size == lastSize {
				return newest, nil
			}
			last, lastSize = newest, size
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("baresip %s: no finished recording in %s (newest %q): %w", b.Name, filepath.Join(b.Dir, "rec"), last, ctx.Err())
		case <-tick.C:
		}
	}
}

// wavComplete reports the size of a WAV file and whether its RIFF header
// accounts for all of it: libsndfile writes the sizes when it closes the
// file, at the end of the call.
func wavComplete(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return -1, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return -1, false
	}
	hdr := make([]byte, 12)
	if _, err := f.ReadAt(hdr, 0); err != nil || string(hdr[0:4]) != "RIFF" {
		return fi.Size(), false
	}
	riff := int64(binary.LittleEndian.Uint32(hdr[4:8]))
	return fi.Size(), fi.Size() > 44 && riff == fi.Size()-8
}

// Log returns baresip's log (with the SIP messages it sent and received).
func (b *Baresip) Log() string {
	out, err := os.ReadFile(filepath.Join(b.Dir, "baresip.log"))
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// BaresipCall runs a baresip caller in the foreground: it registers as
// cfg.User, calls target (a SIP URI, or a user of cfg.Domain), sends wav
// (8 kHz mono 16-bit PCM, e.g. from media.WriteWAV) and hangs up when the
// file ends; it gives up after seconds. It returns the recording of what
// it received and its log; err is set when the call was not established.
// cfg.Mode is not used.
func BaresipCall(t testing.TB, cfg BaresipConfig, target string, seconds int, wav string) (receivedWAV string, log string, err error) {
	t.Helper()
	requirePeer(t, "baresip", "baresip", "setpriv", "ss")
	cfg.Mode = BaresipRecord
	cfg, env := cfg.resolve(t)
	if seconds < 1 {
		t.Fatalf("baresip call: seconds must be at least 1")
	}
	abs, aerr := filepath.Abs(wav)
	if aerr != nil {
		t.Fatalf("baresip call: %v", aerr)
	}
	p := newBaresipPeer(t, cfg, env)
	p.requirePorts(t)
	dir := filepath.Join(p.runDir(), cfg.Name)
	out, err := p.run(context.Background(), "call", cfg.Name, cfg.User, cfg.Password, target, strconv.Itoa(seconds), abs)
	logBytes, _ := os.ReadFile(filepath.Join(dir, "baresip.log"))
	if received, _ := recordings(filepath.Join(dir, "rec")); len(received) > 0 {
		receivedWAV = received[len(received)-1]
	}
	if err != nil {
		return receivedWAV, string(logBytes), fmt.Errorf("baresip call %s -> %s: %w\n%s", cfg.User, target, err, out)
	}
	if receivedWAV == "" {
		return "", string(logBytes), fmt.Errorf("baresip call %s -> %s: no recording in %s", cfg.User, target, dir)
	}
	return receivedWAV, string(logBytes), nil
}
