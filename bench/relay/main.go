package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if os.Getenv(roleEnv) == "relayd" {
		os.Exit(relaydMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "relayd" {
		// By hand, e.g. to profile the relay under another load.
		os.Exit(relaydMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(cliMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the tool's flags.
type options struct {
	calls          []int
	duration, ramp time.Duration
	targets        []string
	senders        int
	receivers      int
	rxInterval     time.Duration
	fargoPorts     string
	fargoExe       string
	cpuProfile     string
	rtpengineBin   string
	rtpenginePorts string
	rtpengineNG    int
	rtpengineThr   int
	jsonPath       string
	resultsDir     string
	workDir        string
}

func cliMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relay-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: relay-bench [flags]\n\nOffers N relayed calls (50 packets/s each way) to each target in turn and\nreports rate, loss, latency and the relay's CPU per packet.\n\n")
		fs.PrintDefaults()
	}
	var o options
	calls := fs.String("calls", "1000", "concurrent calls; a comma-separated list runs each in turn")
	targets := fs.String("targets", "direct,fargo,rtpengine", "what to relay through, in this order (direct = no relay: the baseline)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured window per target")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "load before the window, not measured")
	fs.IntVar(&o.senders, "senders", 2, "sender goroutines of the load generator")
	fs.IntVar(&o.receivers, "receivers", 2, "receiver goroutines (one epoll set each)")
	fs.DurationVar(&o.rxInterval, "rx-interval", time.Millisecond, "receivers' pause between epoll sweeps (batches reads; latency uses kernel receive timestamps)")
	fs.StringVar(&o.fargoPorts, "fargo-ports", "10000-14999", "UDP ports of the fargo relay (4 per call)")
	fs.StringVar(&o.fargoExe, "fargo-exe", "", "binary to run as the fargo relay (default: this one, as its relayd subcommand)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the fargo relay's CPU profile of the measured window here (for go tool pprof)")
	fs.StringVar(&o.rtpengineBin, "rtpengine", "rtpengine", "rtpengine executable")
	fs.StringVar(&o.rtpenginePorts, "rtpengine-ports", "16000-20999", "UDP ports of rtpengine (4 per call)")
	fs.IntVar(&o.rtpengineNG, "rtpengine-ng", 29722, "rtpengine's ng control port (UDP, 127.0.0.1)")
	fs.IntVar(&o.rtpengineThr, "rtpengine-threads", 2, "rtpengine --num-threads")
	fs.StringVar(&o.jsonPath, "json", "", "write the results here (default: relay-<date>.json in -results)")
	fs.StringVar(&o.resultsDir, "results", "", "directory for the JSON results when -json is not given (none if both are empty)")
	fs.StringVar(&o.workDir, "workdir", "", "directory for the relays' logs (default: a new temporary one, removed after a clean run)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if o.calls, err = parseCalls(*calls); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	o.targets = strings.Split(*targets, ",")
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, log)
	if rep != nil && len(rep.Runs) > 0 {
		if perr := printTable(stdout, rep.Runs); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	if err != nil {
		log.Error("relay-bench", "err", err)
		return 1
	}
	return 0
}

func parseCalls(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-calls: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// run offers every load to every target, in order, and writes the JSON
// report. It returns what it measured even when a later step fails.
func run(ctx context.Context, o options, log *slog.Logger) (*report, error) {
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, err
	}
	maxCalls := 0
	for _, n := range o.calls {
		maxCalls = max(maxCalls, n)
	}
	// Each call: 2 sockets here, 4 in the relay (a child, same limit).
	if need := uint64(4*maxCalls + 256); limit < need {
		return nil, fmt.Errorf("open file limit %d is below the %d that %d calls need (ulimit -Hn)", limit, need, maxCalls)
	}
	withRtpengine := false
	for _, t := range o.targets {
		switch t {
		case "direct", "fargo":
		case "rtpengine":
			withRtpengine = true
		default:
			return nil, fmt.Errorf("unknown target %q (direct, fargo, rtpengine)", t)
		}
	}
	if err := checkPortRanges(o, maxCalls); err != nil {
		return nil, err
	}
	workDir, cleanup, err := makeWorkDir(o.workDir)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rep := &report{
		Date: now.Format(time.RFC3339),
		Host: newHostInfo(o.rtpengineBin, withRtpengine),
		Params: reportParam{
			Calls: o.calls, WindowS: o.duration.Seconds(), RampS: o.ramp.Seconds(),
			PacketBytes: pktSize, PPSPerStream: int(time.Second / period),
			Senders: o.senders, Receivers: o.receivers, RxIntervalMS: float64(o.rxInterval) / 1e6,
			FargoPorts: o.fargoPorts, RtpenginePorts: o.rtpenginePorts, RtpengineThr: o.rtpengineThr,
			Command: strings.Join(append([]string{"relay-bench"}, os.Args[1:]...), " "),
		},
	}
	log.Info("relay-bench", "calls", o.calls, "targets", o.targets, "window", o.duration, "ramp", o.ramp, "workdir", workDir)
	err = runAll(ctx, o, workDir, rep, log)
	path := o.jsonPath
	if path == "" && o.resultsDir != "" {
		path = resultsName(o.resultsDir, now)
	}
	if path != "" && len(rep.Runs) > 0 {
		if werr := rep.writeJSON(path); werr != nil {
			err = errors.Join(err, werr)
		} else {
			log.Info("results written", "path", path)
		}
	}
	if err == nil {
		cleanup()
	} else {
		log.Info("logs kept", "workdir", workDir)
	}
	return rep, err
}

func runAll(ctx context.Context, o options, workDir string, rep *report, log *slog.Logger) error {
	for _, n := range o.calls {
		p := loadParams{Calls: n, Duration: o.duration, Ramp: o.ramp, Senders: o.senders, Receivers: o.receivers, RxInterval: o.rxInterval}
		var base *result
		for _, name := range o.targets {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := runOne(ctx, o, name, p, workDir, log)
			if err != nil {
				return err
			}
			if name == "direct" {
				base = &res
			} else if base != nil {
				res.addBaseline(*base)
			}
			log.Info("measured", "target", name, "calls", n, "loss_pct", res.LossPct,
				"p50_us", res.LatP50US, "p99_us", res.LatP99US, "relay_us_per_pkt", res.RelayUSPerPkt, "relay_cores", res.RelayCores)
			rep.Runs = append(rep.Runs, res)
			// Let the last relay's teardown finish before the next load.
			time.Sleep(time.Second)
		}
	}
	return nil
}

// runOne starts the target, measures it and always stops it.
func runOne(ctx context.Context, o options, name string, p loadParams, workDir string, log *slog.Logger) (res result, err error) {
	var t target
	switch name {
	case "direct":
		t = direct{}
	case "fargo":
		profile := ""
		if o.cpuProfile != "" {
			profile = o.cpuProfile
			if len(o.calls) > 1 {
				profile = fmt.Sprintf("%s.%d", o.cpuProfile, p.Calls)
			}
		}
		t, err = startFargo(ctx, fargoOptions{exe: o.fargoExe, ports: o.fargoPorts, calls: p.Calls, cpuProfile: profile, workDir: workDir})
	case "rtpengine":
		t, err = startRtpengine(ctx, rtpengineOptions{bin: o.rtpengineBin, ports: o.rtpenginePorts, ngPort: o.rtpengineNG, threads: o.rtpengineThr, workDir: workDir})
	}
	if err != nil {
		return res, err
	}
	log.Info("target ready", "target", name, "pid", t.pid())
	defer func() {
		if serr := t.stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping %s: %w", name, serr))
		}
	}()
	return runTarget(ctx, t, p, log)
}

func checkPortRanges(o options, calls int) error {
	for _, r := range []struct{ flag, val string }{{"-fargo-ports", o.fargoPorts}, {"-rtpengine-ports", o.rtpenginePorts}} {
		lo, hi, err := parseRange(r.val)
		if err != nil {
			return fmt.Errorf("%s: %w", r.flag, err)
		}
		if have := (int(hi) - int(lo) + 1) / 4; have < calls {
			return fmt.Errorf("%s %s holds %d calls (4 ports each), %d asked", r.flag, r.val, have, calls)
		}
	}
	return nil
}

func makeWorkDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("workdir: %w", err)
		}
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "relay-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("workdir: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}
