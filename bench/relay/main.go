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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fargo.dev/fargo/internal/media"
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
	fargoLearn     time.Duration
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
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	var o options
	calls := fs.String("calls", "1000", "concurrent calls; a comma-separated list runs each in turn")
	targets := fs.String("targets", "direct,fargo,fargo-kernel,rtpengine", "what to relay through, in this order (direct = no relay: the baseline; fargo-kernel needs root or CAP_BPF+CAP_NET_ADMIN)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured window per target")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "load before the window, not measured")
	fs.IntVar(&o.senders, "senders", 2, "sender goroutines of the load generator")
	fs.IntVar(&o.receivers, "receivers", 2, "receiver goroutines (one epoll set each)")
	fs.DurationVar(&o.rxInterval, "rx-interval", time.Millisecond, "receivers' pause between epoll sweeps (batches reads; latency uses kernel receive timestamps)")
	fs.StringVar(&o.fargoPorts, "fargo-ports", "10000-14999", "UDP ports of the fargo relay, fargo and fargo-kernel alike (4 per call)")
	fs.DurationVar(&o.fargoLearn, "fargo-learn-window", 0, "the fargo relay's LearnWindow (0: its default, 3 s); fargo-kernel's fast path takes a call over once it is over, so keep it below -ramp")
	fs.StringVar(&o.fargoExe, "fargo-exe", "", "binary to run as the fargo relay (default: this one, as its relayd subcommand)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the fargo relay's CPU profile of the measured window here (for go tool pprof; fargo-kernel's beside it, \"-kernel\" added to the name)")
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

const usageText = `usage: relay-bench [flags]

Offers N relayed calls (50 packets/s each way) to each target in turn and
reports rate, loss, latency and the relay's CPU per packet.

Targets: direct (no relay, the baseline), fargo (internal/media in a process
of its own, userspace), fargo-kernel (the same with media.KernelOn: the
in-kernel fast path; needs root or CAP_BPF+CAP_NET_ADMIN and fails, rather
than fall back to userspace, without it), rtpengine (userspace only).

CPU columns: "relay µs/pkt" is the relay process's own CPU per relayed
packet; "host Δ µs/pkt" is the whole machine's busy CPU during the window
less the direct run's at the same N, per relayed packet: all the CPU the
relay adds wherever the kernel charges it (the relay process, softirq in the
senders' context, ksoftirqd). Compare relays by the latter: fargo-kernel's
forwarding runs in softirq charged mostly to the generator, not the relay
process. It needs direct in -targets and is as noisy as "other cores".

`

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
		case "direct", "fargo", "fargo-kernel":
		case "rtpengine":
			withRtpengine = true
		default:
			return nil, fmt.Errorf("unknown target %q (direct, fargo, fargo-kernel, rtpengine)", t)
		}
	}
	if err := checkPortRanges(o, maxCalls); err != nil {
		return nil, err
	}
	workDir, cleanup, err := makeWorkDir(o.workDir)
	if err != nil {
		return nil, err
	}
	if slices.Contains(o.targets, "fargo-kernel") {
		learn := o.fargoLearn
		if learn <= 0 {
			learn = media.DefaultLearnWindow // a call enters the kernel only once it is over
		}
		if o.ramp <= learn {
			log.Warn("fargo-kernel: calls enter the kernel fast path only after the relay's learning window, which is not shorter than the ramp: part of the measured window is relayed in userspace (see its in-kernel share); lengthen -ramp or shorten -fargo-learn-window",
				"ramp", o.ramp, "learn_window", learn)
		}
		// Fail now, not after minutes of the targets before it, when the
		// kernel fast path cannot load (no root, old kernel).
		if err := checkKernelPath(ctx, o, workDir); err != nil {
			log.Info("logs kept", "workdir", workDir)
			return nil, err
		}
	}
	now := time.Now()
	rep := &report{
		Date: now.Format(time.RFC3339),
		Host: newHostInfo(o.rtpengineBin, withRtpengine),
		Params: reportParam{
			Calls: o.calls, WindowS: o.duration.Seconds(), RampS: o.ramp.Seconds(),
			PacketBytes: pktSize, PPSPerStream: int(time.Second / period),
			Senders: o.senders, Receivers: o.receivers, RxIntervalMS: float64(o.rxInterval) / 1e6,
			FargoPorts: o.fargoPorts, FargoLearnWindowS: o.fargoLearn.Seconds(), RtpenginePorts: o.rtpenginePorts, RtpengineThr: o.rtpengineThr,
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
			attrs := []any{"target", name, "calls", n, "loss_pct", res.LossPct,
				"p50_us", res.LatP50US, "p99_us", res.LatP99US, "relay_us_per_pkt", res.RelayUSPerPkt, "relay_cores", res.RelayCores}
			if res.HostDeltaUSPerPkt != nil {
				attrs = append(attrs, "host_delta_us_per_pkt", *res.HostDeltaUSPerPkt)
			}
			if res.RelayKernelCount != nil {
				attrs = append(attrs, "relay_packets", *res.RelayOwnCount, "relay_kernel_packets", *res.RelayKernelCount)
			}
			log.Info("measured", attrs...)
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
	case "fargo", "fargo-kernel":
		kernel := name == "fargo-kernel"
		profile := ""
		if o.cpuProfile != "" {
			profile = o.cpuProfile
			if kernel {
				profile = kernelProfileName(profile)
			}
			if len(o.calls) > 1 {
				profile = fmt.Sprintf("%s.%d", profile, p.Calls)
			}
		}
		t, err = startFargo(ctx, fargoOptions{exe: o.fargoExe, ports: o.fargoPorts, calls: p.Calls, cpuProfile: profile, workDir: workDir,
			kernel: kernel, learnWindow: o.fargoLearn})
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

// kernelProfileName is where fargo-kernel's CPU profile goes:
// relay-X-fargo.pprof gives relay-X-fargo-kernel.pprof.
func kernelProfileName(path string) string {
	if base, ok := strings.CutSuffix(path, ".pprof"); ok {
		return base + "-kernel.pprof"
	}
	return path + "-kernel"
}

// checkKernelPath starts the fargo-kernel relay and stops it again: it
// fails, with the relay's error, when the in-kernel fast path cannot be
// loaded. The port range is free again before the first target runs.
func checkKernelPath(ctx context.Context, o options, workDir string) error {
	t, err := startFargo(ctx, fargoOptions{exe: o.fargoExe, ports: o.fargoPorts, calls: 1, workDir: workDir, kernel: true, learnWindow: o.fargoLearn})
	if err != nil {
		return fmt.Errorf("target fargo-kernel: %w", err)
	}
	if err := t.stop(); err != nil {
		return fmt.Errorf("target fargo-kernel: stopping the check's relay: %w", err)
	}
	return nil
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
