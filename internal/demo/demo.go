package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/echo"
)

// StepError is a failed step: which, why, and what to look at.
type StepError struct {
	N    int
	Name string
	Hint string
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("demo failed at step %d (%s): %v; check: %s", e.N, e.Name, e.Err, e.Hint)
}

func (e *StepError) Unwrap() error { return e.Err }

// Summary is what the demo measured.
type Summary struct {
	SIPEcho, GatewayEcho, XMPPEcho callResult
}

// run is the state the steps share.
type run struct {
	cfg     Config
	out     io.Writer
	dir     string
	log     *slog.Logger
	secret  string
	version string
	step    int

	stops []func() error // run in reverse order at the end
	tr    *transcript
	cl    *client
	echo  *echo.Service
	sum   Summary
}

// Run runs the demo and stops everything it started before it returns,
// also when ctx is cancelled. The report goes to cfg.Out; an error is a
// *StepError.
func Run(ctx context.Context, cfg Config, version string) (sum Summary, err error) {
	cfg = cfg.withDefaults()
	if cfg.Gateway == nil {
		return sum, &StepError{N: 0, Name: "configuration", Hint: "the caller", Err: errors.New("no gateway to run (Config.Gateway)")}
	}
	if err := cfg.check(); err != nil {
		return sum, &StepError{N: 0, Name: "configuration", Hint: "the flags", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &run{cfg: cfg, out: cfg.Out, dir: cfg.Dir, version: version, tr: &transcript{}, log: slog.New(slog.DiscardHandler)}
	defer func() {
		if serr := r.stopAll(); err == nil && serr != nil {
			err = serr
		}
	}()
	for _, s := range r.steps() {
		if err := r.do(ctx, s); err != nil {
			return r.sum, err
		}
	}
	return r.sum, nil
}

// step is one numbered step of the report.
type step struct {
	title string // what is printed
	name  string // what a failure names
	hint  string // what to check when it fails
	run   func(ctx context.Context) error
}

func (r *run) do(ctx context.Context, s step) error {
	r.step++
	fmt.Fprintf(r.out, "\n%d. %s\n", r.step, s.title)
	err := s.run(ctx)
	if err == nil {
		return nil
	}
	hint := s.hint
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		err, hint = fmt.Errorf("interrupted: %w", err), "nothing: it was stopped (SIGINT or SIGTERM), and stops what it started"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err, hint = fmt.Errorf("the demo took longer than its -timeout %s: %w", r.cfg.Timeout, err), s.hint+"; or give it a longer -timeout"
	}
	return &StepError{N: r.step, Name: s.name, Hint: hint, Err: err}
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.out, "   "+format+"\n", args...)
}

func (r *run) file(name string) string { return filepath.Join(r.dir, name) }

func (r *run) steps() []step {
	user := userName + "@" + xmppDomain
	sipEcho := address.Escape(echoUser+"@"+sipDomain) + "@" + gwDomain
	gwLo, gwHi, botLo, botHi := r.cfg.relayRanges()
	return []step{
		{fmt.Sprintf("prepare %s and check that the demo's loopback ports are free", r.dir), "ports and run directory",
			"another program (or an earlier demo still running) holds the port: stop it, or choose other ports with the flags (fargo demo -h)", r.prepare},
		{"Prosody (the XMPP server) is installed", "install Prosody",
			"run the demo as root on Debian (it runs apt-get install -y prosody once), or install prosody yourself", r.install},
		{fmt.Sprintf("start a private Prosody on 127.0.0.1 (%s, component %s, c2s port %d, component port %d) with the user %s",
			xmppDomain, gwDomain, r.cfg.C2SPort, r.cfg.ComponentPort, user), "start Prosody",
			"Prosody's logs in " + r.file("prosody"), r.startProsody},
		{fmt.Sprintf("start the SIP echo sip:%s@%s at 127.0.0.1:%d, also the registrar of %s",
			echoUser, sipDomain, r.cfg.EchoSIP, userName+"@"+sipDomain), "start the SIP echo",
			r.file("fargo.log") + " (subsystem=echo)", r.startEcho},
		{fmt.Sprintf("start the gateway %s (SIP 127.0.0.1:%d, store in %s, media relay ports %d-%d)",
			gwDomain, r.cfg.GatewaySIPPort, r.file("store"), gwLo, gwHi), "start the gateway",
			r.file("fargo.log") + " (subsystem=gateway) and " + r.file("fargo.toml"), r.startGateway},
		{fmt.Sprintf("start the XMPP echo bot %s (`fargo echo`; media relay ports %d-%d)", botJID(), botLo, botHi),
			"start the XMPP echo bot", r.file("fargo.log") + " (subsystem=echobot) and " + r.file("prosody/prosody.log"), r.startEchoBot},
		{user + " logs in to Prosody (XMPP client, SCRAM over loopback)", "log in",
			r.file("prosody/prosody.log") + " and " + r.file("fargo.log") + " (subsystem=client)", r.login},
		{fmt.Sprintf("%s registers her SIP account %s with the gateway (XEP-0077); the gateway checks it with a REGISTER",
			user, userName+"@"+sipDomain), "register the SIP account",
			r.file("fargo.log") + ": the gateway's REGISTER and the registrar's (subsystem=echo) answer", r.register},
		{"she comes online and approves the gateway's subscription: the gateway REGISTERs her SIP account", "come online",
			r.file("fargo.log") + " (subsystem=gateway): the presence and registration lines", r.comeOnline},
		{fmt.Sprintf("she calls the SIP echo %s through the gateway and sends a %.0f Hz tone", sipEcho, tone), "call the SIP echo",
			r.file("fargo.log") + ": the gateway's INVITE (subsystem=gateway, sip) and the echo's answer (subsystem=echo)",
			func(ctx context.Context) error { return r.call(ctx, sipEcho, &r.sum.SIPEcho) }},
		{fmt.Sprintf("she calls the gateway's own echo contact echo@%s (its media relay loops her audio back)", gwDomain),
			"call the gateway's echo contact", r.file("fargo.log") + " (subsystem=gateway, media)",
			func(ctx context.Context) error { return r.call(ctx, "echo@"+gwDomain, &r.sum.GatewayEcho) }},
		{fmt.Sprintf("she calls the XMPP echo bot %s (`fargo echo`, an ordinary account on Prosody, run in-process)", botJID()),
			"call the XMPP echo bot", r.file("fargo.log") + " (subsystem=echobot)",
			func(ctx context.Context) error { return r.call(ctx, botJID(), &r.sum.XMPPEcho) }},
		{"she goes offline: the gateway un-REGISTERs her SIP account", "go offline",
			r.file("fargo.log") + " (subsystem=gateway): the unregistration", r.goOffline},
	}
}

// prepare empties the run directory (only one the demo made) and checks
// the ports.
func (r *run) prepare(context.Context) error {
	if err := wipe(r.dir); err != nil {
		return err
	}
	f, err := os.Create(r.file("fargo.log"))
	if err != nil {
		return err
	}
	r.stops = append(r.stops, f.Close)
	r.log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.secret = rand.Text()
	return checkPorts(r.cfg)
}

// marker names a directory the demo made, so a second run may wipe it and
// a mistyped --dir is never emptied.
const marker = ".fargo-demo"

func wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("%s exists and is not a fargo demo directory (no %s): choose another --dir", dir, marker)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by fargo demo; emptied by the next run\n"), 0o644)
}

func (r *run) install(ctx context.Context) error {
	done, err := ensureProsody(ctx, r.cfg.Install, r.out, logWriter{r.log})
	if err == nil && !done {
		r.say("already installed")
	}
	return err
}

func (r *run) startProsody(ctx context.Context) error {
	dir := r.file("prosody")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	p, err := startProsody(ctx, dir, r.cfg, r.secret)
	if err != nil {
		return err
	}
	r.stops = append(r.stops, p.stop)
	r.say("prosody pid %d, config %s", p.cmd.Process.Pid, filepath.Join(dir, "prosody.cfg.lua"))
	return nil
}

func (r *run) startEcho(ctx context.Context) error {
	svc, s, err := startEcho(ctx, r.cfg, r.log)
	if err != nil {
		return err
	}
	r.echo = svc
	r.stops = append(r.stops, s.halt)
	return nil
}

func (r *run) startGateway(ctx context.Context) error {
	s, err := startGateway(ctx, r.cfg, r.dir, r.secret, r.log)
	if err != nil {
		return err
	}
	r.stops = append(r.stops, s.halt)
	r.say("linked to Prosody; configuration %s, /healthz and /metrics on 127.0.0.1:%d", r.file("fargo.toml"), r.cfg.HTTPPort)
	return nil
}

func (r *run) startEchoBot(ctx context.Context) error {
	s, err := startEchoBot(ctx, r.cfg, r.version, r.log)
	if err != nil {
		return err
	}
	r.stops = append(r.stops, s.halt)
	return nil
}

func (r *run) login(ctx context.Context) error {
	cl, s, err := dialClient(ctx, r.cfg, r.tr, r.log)
	if err != nil {
		return err
	}
	r.cl = cl
	r.stops = append(r.stops, s.halt)
	r.say("bound as %s", cl.jid())
	return nil
}

func (r *run) register(ctx context.Context) error {
	r.tr.start()
	err := register(ctx, r.cl, r.echoAddr())
	r.printTranscript("XMPP signalling", r.tr.stop())
	if err == nil {
		r.say("accepted: the registrar took the password")
	}
	return err
}

func (r *run) comeOnline(ctx context.Context) error {
	r.tr.start()
	status, err := comeOnline(ctx, r.cl)
	r.printTranscript("XMPP signalling", r.tr.stop())
	if err != nil {
		return err
	}
	r.say("the gateway is online for her: %q", status)
	return r.waitBindings(ctx, true)
}

func (r *run) goOffline(ctx context.Context) error {
	r.cl.presence(ctx, "unavailable", "")
	return r.waitBindings(ctx, false)
}

// waitBindings waits until the registrar has (or no longer has) the
// gateway's binding for her, and shows it.
func (r *run) waitBindings(ctx context.Context, want bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		b := r.echo.Bindings(userName)
		if (len(b) > 0) == want {
			if want {
				r.say("the registrar's binding for %s@%s: %v", userName, sipDomain, b)
			} else {
				r.say("the registrar has no binding for %s@%s any more", userName, sipDomain)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the registrar's bindings are %v after 20 s, want registered=%v", b, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *run) call(ctx context.Context, to string, res *callResult) error {
	got, err := placeCall(ctx, r.cl, r.tr, to)
	*res = got
	r.printTranscript("XMPP signalling, as her client saw it", got.Transcript)
	if got.Remote.IsValid() {
		r.say("media: %s ⇄ %s %s, %.0f Hz for %s", "her RTP socket", got.Remote, got.Codec, tone, toneLength)
	}
	if got.Packets > 0 {
		r.say("heard back: %.0f Hz (%d RTP packets); round trip %s; call setup (session-initiate → session-accept) %s",
			got.Heard, got.Packets, ms(got.RoundTrip), ms(got.Setup))
	}
	return err
}

func (r *run) printTranscript(title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	r.say("%s:", title)
	for _, l := range lines {
		r.say("  %s", l)
	}
}

func (r *run) echoAddr() string { return fmt.Sprintf("127.0.0.1:%d", r.cfg.EchoSIP) }

// stopAll stops what the steps started, last first, and checks that the
// ports are free again.
func (r *run) stopAll() error {
	if len(r.stops) == 0 {
		return nil
	}
	r.step++
	fmt.Fprintf(r.out, "\n%d. stop everything\n", r.step)
	var errs []error
	for i := len(r.stops) - 1; i >= 0; i-- {
		if err := r.stops[i](); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	r.stops = nil
	if err := checkPorts(r.cfg); err != nil {
		errs = append(errs, fmt.Errorf("a port is still held after the demo: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return &StepError{N: r.step, Name: "stop everything", Hint: "ps and ss -lnpu / ss -lnpt for what is left", Err: err}
	}
	r.say("Prosody, the gateway, the SIP echo and the XMPP echo bot are stopped; every port is free again (logs kept in %s)", r.dir)
	return nil
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// logWriter sends apt-get's output to the log, line by line.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	w.log.Info("apt-get", "output", string(b))
	return len(b), nil
}

// Report prints the final summary of a successful demo.
func (s Summary) Report(w io.Writer) {
	fmt.Fprintln(w, "\ndemo finished: an XMPP user registered her SIP account with the gateway, called through it, and called the XMPP echo bot")
	for _, c := range []struct {
		name string
		r    callResult
	}{
		{"the SIP echo (XMPP → gateway → SIP)", s.SIPEcho},
		{"the gateway's echo contact (media relay)", s.GatewayEcho},
		{"the XMPP echo bot (fargo echo)", s.XMPPEcho},
	} {
		fmt.Fprintf(w, "  %-42s heard %.0f Hz (sent %.0f Hz), round trip %s, call setup %s\n",
			c.name+":", c.r.Heard, tone, ms(c.r.RoundTrip), ms(c.r.Setup))
	}
}
