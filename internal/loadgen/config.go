package loadgen

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Answering peers of the XMPP → SIP calls.
const (
	// AnswerUAS is the load generator's own SIP UAS: it answers at once and
	// stamps the INVITE's arrival and the 200's departure on the same clock
	// as the Jingle side, which splits setup latency into phases.
	AnswerUAS = "uas"
	// AnswerSIPp is SIPp's built-in UAS scenario; only the whole setup
	// latency is measured then.
	AnswerSIPp = "sipp"
)

// Config is one benchmark run. Zero values take the defaults of
// withDefaults.
type Config struct {
	XMPPAddr   string // the XMPP server's c2s address (plain TCP, PLAIN allowed)
	XMPPDomain string // the users' domain, e.g. example.test
	Component  string // the gateway's domain, e.g. sip.example.test
	SIPDomain  string // the registrar's domain, e.g. sip.example.org
	Registrar  string // the registrar/proxy, 127.0.0.1:port (no digest for bench users)

	// ComponentListen, when set, is the memory mode: the tool itself is
	// the gateway's XMPP server, listening here for its XEP-0114
	// connection (ComponentSecret is the shared secret), and brings the
	// users online through that connection alone, without a socket per
	// user (simrun.go). XMPPAddr is not used then and Rates must be empty.
	ComponentListen string
	ComponentSecret string

	Users      int    // simulated users
	UserPrefix string // local parts are prefix + 6 digits; SIP users are the same
	Password   string // every user's XMPP and SIP password
	Create     bool   // create the XMPP accounts by in-band registration
	// Concurrency bounds the users being provisioned at once.
	Concurrency int
	// LoginRate is the offered rate of available presences (logins/s).
	LoginRate float64

	// Rates are the steps' offered call rates (calls/s, both directions
	// together); IncomingShare of each is offered SIP → XMPP by SIPp.
	Rates         []float64
	IncomingShare float64
	StepDuration  time.Duration // offering time per step
	Hold          time.Duration // answered calls last this long
	SetupTimeout  time.Duration // an unanswered outgoing call fails after this
	// StopOnFailure ends the run after the first step with failed calls.
	StopOnFailure bool
	// IdleWait keeps every user online without calls this long before the
	// gateway's memory per online user is read.
	IdleWait time.Duration

	Answer       string // AnswerUAS or AnswerSIPp
	UASPort      int    // SIP port of the answering peer (ours or SIPp's)
	SIPpPort     int    // SIP port of the SIPp UAC; SIPp media and control ports follow it
	SIPpBin      string // default "sipp" from PATH
	MetricsURL   string // the gateway's /metrics, to wait for its registrations to settle
	GatewayPID   int    // processes measured from /proc (0: not measured)
	XMPPPID      int
	RegistrarPID int

	OutDir string // where the JSON and SVG go
	// WorkDir holds SIPp's files (injection files, statistics, traces);
	// default a directory named after the run in the system's temp dir.
	WorkDir string
	Name    string // file name prefix, default calls-<UTC time>
	// Progress receives one line per second while the load runs.
	Progress io.Writer
	Log      *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.XMPPDomain, "example.test")
	def(&c.Component, "sip.example.test")
	def(&c.SIPDomain, "sip.example.org")
	def(&c.UserPrefix, "b")
	def(&c.Password, "benchpw")
	def(&c.Answer, AnswerUAS)
	def(&c.SIPpBin, "sipp")
	def(&c.OutDir, ".")
	def(&c.Name, "calls-"+time.Now().UTC().Format("2006-01-02T150405"))
	def(&c.WorkDir, filepath.Join(os.TempDir(), "fargo-bench-"+c.Name))
	if c.Concurrency == 0 {
		c.Concurrency = 200
	}
	if c.LoginRate == 0 {
		c.LoginRate = 500
	}
	if c.StepDuration == 0 {
		c.StepDuration = 30 * time.Second
	}
	if c.Hold == 0 {
		c.Hold = time.Second
	}
	if c.SetupTimeout == 0 {
		c.SetupTimeout = 10 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	addrs := []struct{ name, v string }{{"xmpp address", c.XMPPAddr}, {"registrar", c.Registrar}}
	if c.ComponentListen != "" {
		addrs[0] = struct{ name, v string }{"component listen address", c.ComponentListen}
		if len(c.Rates) > 0 {
			errs = append(errs, errors.New("with a simulated XMPP server (component listener) there are no calls: leave the rates empty"))
		}
		if c.ComponentSecret == "" {
			errs = append(errs, errors.New("a simulated XMPP server needs the component secret"))
		}
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", a.name, a.v, err))
		}
	}
	if c.Users < 1 || c.Users > 999999 {
		errs = append(errs, fmt.Errorf("users %d: want 1..999999", c.Users))
	}
	if c.IncomingShare < 0 || c.IncomingShare > 1 {
		errs = append(errs, fmt.Errorf("incoming share %v: want 0..1", c.IncomingShare))
	}
	for _, r := range c.Rates {
		if r <= 0 {
			errs = append(errs, fmt.Errorf("rate %v: must be positive", r))
		}
	}
	if c.Answer != AnswerUAS && c.Answer != AnswerSIPp {
		errs = append(errs, fmt.Errorf("answer %q: want %q or %q", c.Answer, AnswerUAS, AnswerSIPp))
	}
	if len(c.Rates) > 0 && (c.UASPort <= 0 || (c.IncomingShare > 0 || c.Answer == AnswerSIPp) && c.SIPpPort <= 0) {
		errs = append(errs, errors.New("calls need the UAS port and, with incoming calls or the SIPp UAS, the SIPp port"))
	}
	if c.LoginRate <= 0 || c.Concurrency < 1 {
		errs = append(errs, errors.New("login rate and concurrency must be positive"))
	}
	return errors.Join(errs...)
}
