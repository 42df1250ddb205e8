package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fargo.dev/fargo/internal/media"
)

// roleEnv makes this binary (or the test binary, see TestMain) run as the
// fargo relay process instead of the load tool: the relay must be its own
// process for its CPU to be read from /proc apart from the generator's.
const roleEnv = "FARGO_RELAY_BENCH_ROLE"

// pcmu is the codec map both legs announce: identical on both sides, so
// no payload type is renumbered, as in a plain G.711 call.
var pcmu = []media.Codec{{PT: 0, Name: "PCMU", Clock: 8000}}

// relayd runs media.NewRelay on loopback and serves a line-based control
// protocol on a loopback TCP port, one request and one reply per line:
//
//	open                       -> ok <id> <sip-leg addr:port> <xmpp-leg addr:port>
//	remote <id> <sip> <xmpp>   -> ok   (SetRemote on both legs, SetCodecs, ExpectMedia)
//	close <id>                 -> ok
//	stats                      -> ok packets=N bytes=N lost=N dropped=N active=N kernel=N
//	profile start|stop         -> ok   (CPU profile of the window, with -cpuprofile)
//	anything that fails        -> err <reason>
//
// (kernel= is Stats.KernelPackets: the part of packets= forwarded by the
// in-kernel fast path, 0 without -kernel.) Replies are read by key, so
// fields may be added at the end.
//
// With -kernel the relay requires the in-kernel fast path
// (media.KernelOn): it fails to start, with NewRelay's error on stderr,
// when it cannot load or attach it, rather than fall back to userspace.
//
// It prints "ready <control addr>" on stdout once it serves, and exits when
// its standard input closes (the load tool holds the other end, so the
// relay cannot outlive it) or on SIGTERM/SIGINT.
type relayd struct {
	relay   *media.Relay
	profile string // -cpuprofile path, "" for none

	mu        sync.Mutex
	sessions  map[uint64]*media.Session
	nextID    uint64
	profiling *os.File
}

func relaydMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relayd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "control address (TCP, loopback)")
	ports := fs.String("ports", "10000-14999", "UDP port range of the relay's legs (4 per call)")
	maxCalls := fs.Int("max", 0, "MaxSessions (0: as many as the port range holds)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the measured window (between 'profile start' and 'profile stop') here")
	learn := fs.Duration("learn-window", 0, "media.Config.LearnWindow (0: the relay's default, 3 s); the kernel fast path takes a call over only after it")
	kernel := fs.Bool("kernel", false, "require the in-kernel fast path (media.KernelOn; root or CAP_BPF+CAP_NET_ADMIN, Linux ≥ 6.6): fail to start without it")
	verbose := fs.Bool("v", false, "log the relay's debug lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	mode := media.KernelOff
	if *kernel {
		mode = media.KernelOn
	}
	if err := runRelayd(*listen, *ports, *maxCalls, mode, *learn, *profile, stdin, stdout, log); err != nil {
		log.Error("relayd", "err", err)
		return 1
	}
	return 0
}

func runRelayd(listen, ports string, maxCalls int, kernel media.KernelMode, learn time.Duration, profile string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	lo, hi, err := parseRange(ports)
	if err != nil {
		return err
	}
	if maxCalls == 0 {
		maxCalls = (int(hi) - int(lo) + 1) / 4
	}
	lb := netip.MustParseAddr("127.0.0.1")
	r, err := media.NewRelay(media.Config{
		BindAddr: lb, SIPAddr: lb, XMPPAddr: lb,
		PortMin: lo, PortMax: hi,
		MaxSessions: maxCalls,
		// Far beyond any run: a slow ramp-up must not end calls.
		IdleTimeout: time.Hour,
		LearnWindow: learn,
		Kernel:      kernel,
	}, log.With("subsystem", "media"))
	if err != nil {
		if kernel == media.KernelOn {
			return fmt.Errorf("relay with the in-kernel fast path (-kernel, media.KernelOn): %w", err)
		}
		return fmt.Errorf("relay: %w", err)
	}
	d := &relayd{relay: r, profile: profile, sessions: map[uint64]*media.Session{}}
	defer d.shutdown()

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("control listener: %w", err)
	}
	defer ln.Close()
	if _, err := fmt.Fprintf(stdout, "ready %s\n", ln.Addr()); err != nil {
		return fmt.Errorf("announce: %w", err)
	}

	quit := make(chan string, 3)
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		quit <- "standard input closed"
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	go func() {
		if s, ok := <-sig; ok {
			quit <- s.String()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				quit <- "listener: " + err.Error()
				return
			}
			// Connections are not waited for: the process exits right
			// after the relay is closed.
			go d.serve(c, log)
		}
	}()
	why := <-quit
	log.Info("relayd stopping", "why", why, "stats", fmt.Sprintf("%+v", r.Stats()))
	_ = ln.Close()
	return nil
}

// shutdown stops a running profile and ends every session.
func (d *relayd) shutdown() {
	d.mu.Lock()
	if d.profiling != nil {
		pprof.StopCPUProfile()
		_ = d.profiling.Close()
		d.profiling = nil
	}
	d.mu.Unlock()
	d.relay.Close()
}

func (d *relayd) serve(c net.Conn, log *slog.Logger) {
	defer c.Close()
	in := bufio.NewScanner(c)
	out := bufio.NewWriter(c)
	for in.Scan() {
		reply, err := d.handle(strings.Fields(in.Text()))
		if err != nil {
			reply = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		if _, err := out.WriteString(reply + "\n"); err != nil {
			return
		}
		if err := out.Flush(); err != nil {
			log.Debug("control connection", "err", err)
			return
		}
	}
}

var errUsage = errors.New("bad request")

func (d *relayd) handle(f []string) (string, error) {
	if len(f) == 0 {
		return "", errUsage
	}
	switch {
	case f[0] == "open" && len(f) == 1:
		return d.open()
	case f[0] == "remote" && len(f) == 4:
		return d.remote(f[1], f[2], f[3])
	case f[0] == "close" && len(f) == 2:
		s, err := d.take(f[1])
		if err != nil {
			return "", err
		}
		s.Close()
		return "ok", nil
	case f[0] == "stats" && len(f) == 1:
		st := d.relay.Stats()
		return fmt.Sprintf("ok packets=%d bytes=%d lost=%d dropped=%d active=%d kernel=%d",
			st.Packets, st.Bytes, st.Lost, st.Dropped, st.SessionsActive, st.KernelPackets), nil
	case f[0] == "profile" && len(f) == 2:
		return "ok", d.profileCmd(f[1] == "start")
	}
	return "", fmt.Errorf("%w: %q", errUsage, strings.Join(f, " "))
}

func (d *relayd) open() (string, error) {
	s, err := d.relay.NewSession()
	if err != nil {
		return "", fmt.Errorf("new session: %w", err)
	}
	// The XMPP side is a raw-UDP leg (XEP-0177): plain RTP on both sides.
	raw, err := s.XMPPRaw()
	if err != nil {
		s.Close()
		return "", fmt.Errorf("raw-UDP leg: %w", err)
	}
	s.SetCodecs(pcmu, pcmu)
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	d.sessions[id] = s
	d.mu.Unlock()
	return fmt.Sprintf("ok %d %s %s", id, s.SIP().Local(), raw.Local()), nil
}

func (d *relayd) remote(idText, sipText, xmppText string) (string, error) {
	s, err := d.session(idText)
	if err != nil {
		return "", err
	}
	sip, err1 := netip.ParseAddrPort(sipText)
	xmpp, err2 := netip.ParseAddrPort(xmppText)
	if err := errors.Join(err1, err2); err != nil {
		return "", fmt.Errorf("%w: %w", errUsage, err)
	}
	raw, err := s.XMPPRaw()
	if err != nil {
		return "", fmt.Errorf("raw-UDP leg: %w", err)
	}
	s.SIP().SetRemote(sip, netip.AddrPort{})
	raw.SetRemote(xmpp, netip.AddrPort{})
	s.ExpectMedia()
	return "ok", nil
}

func (d *relayd) session(idText string) (*media.Session, error) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: session id %q", errUsage, idText)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: no session %d", errUsage, id)
	}
	return s, nil
}

func (d *relayd) take(idText string) (*media.Session, error) {
	s, err := d.session(idText)
	if err != nil {
		return nil, err
	}
	id, _ := strconv.ParseUint(idText, 10, 64)
	d.mu.Lock()
	delete(d.sessions, id)
	d.mu.Unlock()
	return s, nil
}

func (d *relayd) profileCmd(start bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.profile == "" {
		return nil
	}
	if !start {
		if d.profiling != nil {
			pprof.StopCPUProfile()
			err := d.profiling.Close()
			d.profiling = nil
			if err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
		}
		return nil
	}
	if d.profiling != nil {
		return nil
	}
	f, err := os.Create(d.profile)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	d.profiling = f
	return nil
}

// parseRange reads "MIN-MAX".
func parseRange(s string) (uint16, uint16, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.ParseUint(a, 10, 16)
	hi, err2 := strconv.ParseUint(b, 10, 16)
	if !ok || err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return 0, 0, fmt.Errorf("port range %q: want MIN-MAX", s)
	}
	return uint16(lo), uint16(hi), nil
}
