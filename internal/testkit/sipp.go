package testkit

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SIPpConfig describes one SIPp 3.6 run of a scenario from
// scripts/peers/sipp (scripts/peers/sipp.sh): it handles exactly one call
// and succeeds only if the call followed the scenario.
type SIPpConfig struct {
	// Scenario is the name of one in scripts/peers/sipp ("uas-busy",
	// "uac-cancel.xml") or the path of a scenario file.
	Scenario string
	User     string // registers (UAS) or calls (UAC) as User@Domain, digest auth with Password
	Password string
	// Port is SIPp's SIP port (UDP, 127.0.0.1); SIPp's control socket
	// takes Port+1.
	Port int
	// MediaPort is the RTP port of the SDP SIPp sends ([media_port]); SIPp
	// binds it and MediaPort+2. Default 27000+Port%1000.
	MediaPort int
	Proxy     string // registrar and proxy, "127.0.0.1:port"
	Domain    string // default SIPDomain
	// Target is the user a UAC scenario calls (sip:Target@Domain).
	Target string
	// Keys are -key NAME VALUE settings for the scenario's [NAME] keywords.
	Keys map[string]string
	// Pause is the length of the scenarios' <pause/> (default 1 s).
	Pause time.Duration
	// Timeout bounds SIPp's whole run (default 120 s for a UAS, 60 s for
	// a UAC); past it SIPp exits with an error.
	Timeout time.Duration
}

// SIPpResult is what a finished SIPp run left behind.
type SIPpResult struct {
	ExitCode   int // 0: every call followed the scenario; 1: a call failed; others: SIPp's error codes
	Successful int // calls that followed the scenario
	Failed     int
	// Statuses are the status codes of the SIP responses SIPp sent or
	// received in the call, in order (retransmissions included).
	Statuses []int
	// Requests are the methods of the requests SIPp sent or received in
	// the call, in order (retransmissions included).
	Requests []string
	// Trace is SIPp's message trace (-trace_msg): every message sent and
	// received, including strays from earlier calls on the same port.
	Trace string
}

// SIPpUAS is a SIPp user agent server waiting for one call.
type SIPpUAS struct {
	Name string
	Port int
	Dir  string // $LAB_RUN/sipp/NAME: messages.log, errors.log, screen.log, rc

	p *peer
}

// resolve fills in the defaults and returns the environment of sipp.sh.
func (cfg SIPpConfig) resolve(t testing.TB) (SIPpConfig, []string) {
	t.Helper()
	if cfg.Scenario == "" || cfg.User == "" || cfg.Password == "" {
		t.Fatalf("sipp: Scenario, User and Password are required")
	}
	if cfg.Domain == "" {
		cfg.Domain = SIPDomain
	}
	if cfg.MediaPort == 0 {
		cfg.MediaPort = 27000 + cfg.Port%1000
	}
	if cfg.Pause == 0 {
		cfg.Pause = time.Second
	}
	checkSIPPeer(t, "sipp", cfg.Proxy, cfg.Port, cfg.Port+1, cfg.MediaPort, cfg.MediaPort+2)
	env := []string{
		"SIP_PROXY=" + cfg.Proxy,
		"SIPP_DOMAIN=" + cfg.Domain,
		"SIPP_MEDIA_PORT=" + strconv.Itoa(cfg.MediaPort),
		"SIPP_CONTROL_PORT=" + strconv.Itoa(cfg.Port+1),
		"SIPP_PAUSE_MS=" + strconv.FormatInt(cfg.Pause.Milliseconds(), 10),
	}
	if cfg.Timeout > 0 {
		env = append(env, "SIPP_TIMEOUT="+strconv.Itoa(int(cfg.Timeout.Round(time.Second)/time.Second)))
	}
	return cfg, env
}

// keyArgs turns Keys into sipp arguments, in a stable order.
func (cfg SIPpConfig) keyArgs() []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(cfg.Keys)) {
		args = append(args, "-key", k, cfg.Keys[k])
	}
	return args
}

func newSIPpPeer(t testing.TB, cfg SIPpConfig, env []string, name string) *peer {
	t.Helper()
	env = append(env, "SIPP_NAME="+name)
	p := newPeer(t, "sipp", env, nil, []int{cfg.Port, cfg.Port + 1, cfg.MediaPort, cfg.MediaPort + 2},
		filepath.Join("sipp", name, "messages.log"), filepath.Join("sipp", name, "errors.log"),
		filepath.Join("sipp", name, "screen.log"))
	p.stopCmd = []string{"stop", name}
	return p
}

// StartSIPpUAS registers cfg.User from 127.0.0.1:cfg.Port at cfg.Proxy and
// runs the UAS scenario there in the background, for one call (with RTP
// echo on the media port); it is stopped when the test ends.
func StartSIPpUAS(t testing.TB, cfg SIPpConfig) *SIPpUAS {
	t.Helper()
	requirePeer(t, "sipp", "sipp", "setpriv", "ss")
	cfg, env := cfg.resolve(t)
	name := "uas-" + cfg.User
	p := newSIPpPeer(t, cfg, env, name)
	p.startCmd = append([]string{"uas", cfg.Scenario, cfg.User, cfg.Password, strconv.Itoa(cfg.Port)}, cfg.keyArgs()...)
	u := &SIPpUAS{Name: name, Port: cfg.Port, Dir: filepath.Join(p.runDir(), name), p: p}
	p.start(t)
	return u
}

// Wait waits for the UAS scenario to end and returns what it did; the
// error is set unless SIPp exited 0 after a successful call (the call
// followed the scenario).
func (u *SIPpUAS) Wait(ctx context.Context) (SIPpResult, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(filepath.Join(u.Dir, "rc")); err == nil && len(b) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			res := readSIPpResult(u.Dir)
			return res, fmt.Errorf("sipp %s still running: %w\n%s", u.Name, ctx.Err(), traceTail(res.Trace))
		case <-tick.C:
		}
	}
	res := readSIPpResult(u.Dir)
	return res, res.err(u.Name)
}

// RunSIPpUAC runs a UAC scenario in the foreground: one call from cfg.User
// to cfg.Target through cfg.Proxy (digest on 407). The error is set unless
// SIPp exited 0 after a successful call (the call ended the way the
// scenario expects); the result is filled in either way.
func RunSIPpUAC(ctx context.Context, t testing.TB, cfg SIPpConfig) (SIPpResult, error) {
	t.Helper()
	requirePeer(t, "sipp", "sipp", "setpriv", "ss")
	cfg, env := cfg.resolve(t)
	if cfg.Target == "" {
		t.Fatalf("sipp: a UAC scenario needs a Target")
	}
	name := "uac-" + cfg.User
	p := newSIPpPeer(t, cfg, env, name)
	p.requirePorts(t)
	dir := filepath.Join(p.runDir(), name)
	args := append([]string{"uac", cfg.Scenario, cfg.User, cfg.Password, cfg.Target, strconv.Itoa(cfg.Port)}, cfg.keyArgs()...)
	out, runErr := p.run(ctx, args...)
	res := readSIPpResult(dir)
	if res.ExitCode == -1 { // sipp never ran: the script refused
		return res, fmt.Errorf("sipp %s: %w\n%s", name, runErr, out)
	}
	return res, res.err(name)
}

// err explains a run that did not go through: an exit code other than 0,
// or no successful call (SIPp stopped by a signal exits 0 too).
func (r SIPpResult) err(name string) error {
	if r.ExitCode == 0 && r.Successful > 0 && r.Failed == 0 {
		return nil
	}
	return fmt.Errorf("sipp %s exited %d (successful %d, failed %d; statuses %v, requests %v)\n%s",
		name, r.ExitCode, r.Successful, r.Failed, r.Statuses, r.Requests, traceTail(r.Trace))
}

// traceTail is the end of a message trace, for error messages.
func traceTail(trace string) string {
	const keep = 3000
	if len(trace) > keep {
		return "…" + trace[len(trace)-keep:]
	}
	return trace
}

// readSIPpResult gathers the files of a SIPp run in dir; ExitCode is -1
// while SIPp has not recorded one (still running, or never started).
func readSIPpResult(dir string) SIPpResult {
	res := SIPpResult{ExitCode: -1}
	if b, err := os.ReadFile(filepath.Join(dir, "rc")); err == nil {
		if rc, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			res.ExitCode = rc
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "screen.log")); err == nil {
		res.Successful, res.Failed = parseSIPpScreen(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "messages.log")); err == nil {
		res.Trace = string(b)
		res.Statuses, res.Requests = callMessages(parseSIPpTrace(res.Trace))
	}
	return res
}

// parseSIPpScreen reads the cumulative "Successful call" and "Failed call"
// counters of SIPp's last statistics screen.
func parseSIPpScreen(screen string) (successful, failed int) {
	sc := bufio.NewScanner(strings.NewReader(screen))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) != 3 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(cols[2]))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(cols[0]) {
		case "Successful call":
			successful = n
		case "Failed call":
			failed = n
		}
	}
	return successful, failed
}

// sippMessage is one entry of SIPp's message trace.
type sippMessage struct {
	sent      bool
	startLine string
	callID    string
}

// status is the status code of a response, 0 for a request.
func (m sippMessage) status() int {
	rest, ok := strings.CutPrefix(m.startLine, "SIP/2.0 ")
	if !ok {
		return 0
	}
	code, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	return n
}

// method is the method of a request, "" for a response.
func (m sippMessage) method() string {
	if strings.HasPrefix(m.startLine, "SIP/") {
		return ""
	}
	method, _, _ := strings.Cut(m.startLine, " ")
	return method
}

// parseSIPpTrace splits a -trace_msg file into messages. Each entry starts
// with a line of dashes and a time stamp, then "UDP message sent (N
// bytes):" or "UDP message received [N] bytes :", a blank line and the
// message.
func parseSIPpTrace(trace string) []sippMessage {
	var (
		msgs []sippMessage
		cur  *sippMessage
		// state: 0 between entries, 1 after the direction line, 2 in the
		// headers, 3 in the body
		state int
	)
	sc := bufio.NewScanner(strings.NewReader(trace))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "----------"):
			state = 0
		case state == 0 && strings.Contains(line, " message sent "):
			msgs = append(msgs, sippMessage{sent: true})
			cur, state = &msgs[len(msgs)-1], 1
		case state == 0 && strings.Contains(line, " message received "):
			msgs = append(msgs, sippMessage{})
			cur, state = &msgs[len(msgs)-1], 1
		case state == 1 && line != "":
			cur.startLine, state = line, 2
		case state == 2 && line == "":
			state = 3
		case state == 2:
			if name, value, ok := strings.Cut(line, ":"); ok && cur.callID == "" {
				if n := strings.ToLower(strings.TrimSpace(name)); n == "call-id" || n == "i" {
					cur.callID = strings.TrimSpace(value)
				}
			}
		}
	}
	return msgs
}

// callMessages returns the statuses and methods of the messages of the
// call the trace is about: the Call-ID of its first INVITE (or of its first
// message), so that a stray retransmission from an earlier call on the
// same port does not count.
func callMessages(msgs []sippMessage) (statuses []int, requests []string) {
	if len(msgs) == 0 {
		return nil, nil
	}
	callID := msgs[0].callID
	for _, m := range msgs {
		if m.method() == "INVITE" {
			callID = m.callID
			break
		}
	}
	for _, m := range msgs {
		if m.callID != callID {
			continue
		}
		if s := m.status(); s != 0 {
			statuses = append(statuses, s)
		} else if method := m.method(); method != "" {
			requests = append(requests, method)
		}
	}
	return statuses, requests
}
