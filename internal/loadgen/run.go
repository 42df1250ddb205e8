package loadgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner is one benchmark run's state.
type runner struct {
	cfg     Config
	epoch   time.Time
	contact string // the answering peer's JID at the gateway
	watched []watched

	users   []*user // the users that came up, in index order
	byIndex []*user // by user number (nil: failed)
	free    chan *user

	step        atomic.Pointer[step]
	closing     atomic.Bool
	disconnects atomic.Int64
}

// Run runs the whole benchmark and writes its JSON and SVG into
// cfg.OutDir. A cancelled ctx ends it early; what was measured is still
// written.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := &runner{cfg: cfg, epoch: time.Now(),
		contact: "uas\\40" + cfg.SIPDomain + "@" + cfg.Component,
		watched: []watched{{"gateway", cfg.GatewayPID}, {"xmpp", cfg.XMPPPID}, {"registrar", cfg.RegistrarPID}, {"loadgen", os.Getpid()}}}
	if cfg.ComponentListen != "" {
		// No XMPP server process: the tool's own CPU is the server's too.
		r.watched = slices.DeleteFunc(r.watched, func(w watched) bool { return w.Name == "xmpp" })
	}
	r.step.Store(newStep(0))
	res := newResult(cfg, r.watched)
	defer r.shutdown()
	run := r.run
	if cfg.ComponentListen != "" {
		run = r.runSimulated
	}
	err := run(ctx, res)
	if werr := res.write(cfg.OutDir, cfg.Name); werr != nil && err == nil {
		err = werr
	}
	return res, err
}

func (r *runner) run(ctx context.Context, res *Result) error {
	work := r.cfg.WorkDir
	r.baselineMemory(ctx, res)

	var sipSide func() error
	if len(r.cfg.Rates) > 0 {
		stop, err := r.startAnswering(ctx, work, res)
		if err != nil {
			return err
		}
		sipSide = stop
	}

	fmt.Fprintf(r.cfg.Progress, "provisioning %d users on %s (gateway %s, registrar %s)\n", r.cfg.Users, r.cfg.XMPPAddr, r.cfg.Component, r.cfg.Registrar)
	res.Provision = r.provision(ctx)
	fmt.Fprintf(r.cfg.Progress, "provision: %d up, %d failed in %.1fs (%.0f/s)\n", res.Provision.OK, res.Provision.Failed, res.Provision.Seconds, res.Provision.PerSecond)
	if res.Provision.OK == 0 {
		return fmt.Errorf("bench: no user came up: %v", res.Provision.Errors)
	}
	r.free = make(chan *user, len(r.users))
	for _, u := range r.users {
		r.free <- u
	}

	if err := r.logoutAll(ctx); err != nil {
		return err
	}
	res.Memory.OfflineKiB = r.gatewayRSS()
	res.Login = r.login(ctx)
	fmt.Fprintf(r.cfg.Progress, "login: %d ok, %d failed, %.0f/s, presence → gateway presence p50 %.2f ms p99 %.2f ms\n",
		res.Login.OK, res.Login.Failed, res.Login.PerSecond, res.Login.Latency.P50, res.Login.Latency.P99)
	res.Memory.OnlineKiB = r.gatewayRSS()
	if err := r.idleMemory(ctx, res); err != nil {
		return err
	}

	for i, rate := range r.cfg.Rates {
		if ctx.Err() != nil {
			break
		}
		sr := r.runStep(ctx, i, rate, work)
		res.Steps = append(res.Steps, sr)
		if r.cfg.StopOnFailure && sr.Failed() > 0 {
			fmt.Fprintf(r.cfg.Progress, "step %d: %d failed calls: stopping here\n", i+1, sr.Failed())
			break
		}
	}
	if sipSide != nil {
		if err := sipSide(); err != nil {
			res.Notes = append(res.Notes, err.Error())
		}
	}
	res.Disconnects = r.disconnects.Load()
	res.GatewayPeakKiB, _ = procMemKiB(r.cfg.GatewayPID)
	return ctx.Err()
}

// startAnswering starts the answering peer of outgoing calls and registers
// it as uas@<SIP domain>; the returned function stops it.
func (r *runner) startAnswering(ctx context.Context, work string, res *Result) (func() error, error) {
	port := r.cfg.UASPort
	var stopSIPp func() sippResult
	if r.cfg.Answer == AnswerSIPp {
		// Our UAS only registers SIPp's contact then, from the port after SIPp's media ports.
		s, err := r.startSIPpUAS(ctx, filepath.Join(work, "sipp-uas"))
		if err != nil {
			return nil, err
		}
		stopSIPp, port = s, r.cfg.UASPort+5
	}
	a, err := listenUAS(r, port)
	if err != nil {
		if stopSIPp != nil {
			stopSIPp()
		}
		return nil, err
	}
	go a.serve()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.register(rctx, "uas", r.cfg.UASPort); err != nil {
		a.close()
		if stopSIPp != nil {
			stopSIPp()
		}
		return nil, err
	}
	return func() error {
		a.close()
		if stopSIPp != nil {
			sr := stopSIPp()
			res.SIPpUAS = &sr
		}
		return nil
	}, nil
}

// logoutAll sends unavailable presence for every user and waits until the
// gateway has removed their SIP bindings, so the login phase starts from
// offline users who are all known to the gateway.
func (r *runner) logoutAll(ctx context.Context) error {
	for _, u := range r.users {
		if err := u.c.write(`<presence type='unavailable'/>`); err != nil {
			r.cfg.Log.Debug("logout", "user", u.name, "err", err)
		}
	}
	fmt.Fprintf(r.cfg.Progress, "logout: %d users went offline; waiting for the gateway to un-REGISTER them\n", len(r.users))
	if r.cfg.MetricsURL == "" {
		return sleepCtx(ctx, 5*time.Second+time.Duration(len(r.users))*time.Millisecond)
	}
	return r.waitRegistrations(ctx, func(n float64) bool { return n == 0 }, 5*time.Minute)
}

// outgoingOf finds the outgoing call of the user whose SIP name is name.
func (r *runner) outgoingOf(name string) *call {
	i := userIndex(r.cfg.UserPrefix, name)
	if i < 0 || i >= len(r.byIndex) || r.byIndex[i] == nil {
		return nil
	}
	return r.byIndex[i].out.Load()
}

func (r *runner) cur() *step { return r.step.Load() }

// gatewayHeap is the gateway's Go heap in use from its /metrics, 0 if unknown.
func (r *runner) gatewayHeap(ctx context.Context) float64 {
	if r.cfg.MetricsURL == "" {
		return 0
	}
	v, _ := scrapeGauge(ctx, r.cfg.MetricsURL, "go_memstats_heap_inuse_bytes")
	return v
}

func (r *runner) gatewayRSS() int64 {
	_, rss := procMemKiB(r.cfg.GatewayPID)
	return rss
}

// shutdown closes every user's stream.
func (r *runner) shutdown() {
	r.closing.Store(true)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, u := range r.users {
		sem <- struct{}{}
		wg.Go(func() { u.c.close(); <-sem })
	}
	wg.Wait()
}

// progressEvery prints line() once a second until the returned stop is called.
func (r *runner) progressEvery(line func(elapsed time.Duration) string) (stop func()) {
	began := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(r.cfg.Progress, line(time.Since(began)))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleepUntil waits for an absolute time (the open-loop schedule).
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	return sleepCtx(ctx, d)
}

func joinKeys(m map[string]int) string {
	var b []string
	for k, v := range m {
		b = append(b, fmt.Sprintf("%s ×%d", k, v))
	}
	return strings.Join(b, "; ")
}
