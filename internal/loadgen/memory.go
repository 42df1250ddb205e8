package loadgen

import (
	"context"
	"fmt"
	"time"
)

// idleSettle is the least time users stay online and idle before the
// gateway's memory is read: the gateway keeps a user's goroutine a moment
// after its last work (its mailbox linger, 1 s), and the last logins'
// goroutines are not what an idle user costs.
const idleSettle = 2 * time.Second

// baselineMemory reads the gateway's memory before any user: RSS, the
// heap gauge and, when its [debug] pprof answers, the live heap.
func (r *runner) baselineMemory(ctx context.Context, res *Result) {
	m := &res.Memory
	m.BaselineKiB, m.HeapBaseline = r.gatewayRSS(), r.gatewayHeap(ctx)
	m.LiveBaseline = r.gatewayLiveHeap(ctx)
	if m.LiveBaseline == nil {
		note := "the gateway's pprof is not reachable ([debug] pprof = true on its /metrics listener): memory per user is RSS and heap gauges only, garbage included"
		if r.cfg.MetricsURL == "" {
			note = "no -metrics URL: memory per user is RSS only"
		}
		res.Notes = append(res.Notes, note)
		fmt.Fprintf(r.cfg.Progress, "memory: %s\n", note)
		return
	}
	fmt.Fprintf(r.cfg.Progress, "memory: gateway RSS %d KiB, live Go heap %s with no user (after a forced GC)\n",
		m.BaselineKiB, mib(m.LiveBaseline.AllocBytes))
}

// idleMemory keeps the users online and idle, then reads the gateway's
// memory as baselineMemory did and reports it per online user.
func (r *runner) idleMemory(ctx context.Context, res *Result) error {
	wait := max(r.cfg.IdleWait, idleSettle)
	fmt.Fprintf(r.cfg.Progress, "idle: %d users online for %v\n", res.Login.OK, wait)
	if err := sleepCtx(ctx, wait); err != nil {
		return err
	}
	m := &res.Memory
	rss, heap := r.gatewayRSS(), r.gatewayHeap(ctx)
	if m.LiveBaseline != nil {
		if m.LiveIdle = r.gatewayLiveHeap(ctx); m.LiveIdle == nil {
			res.Notes = append(res.Notes, "the gateway's live heap could not be read with the users online (run with -v for why)")
		}
	}
	m.finish(rss, heap, res.Login.OK)
	fmt.Fprintf(r.cfg.Progress, "memory: gateway RSS %d KiB with no user, %d KiB with %d online: %.0f bytes per online user (Go heap in use: %.0f bytes per user)\n",
		m.BaselineKiB, m.IdleKiB, m.OnlineUsers, m.PerOnlineUserBytes, m.HeapPerUser)
	if m.LivePerUser != nil {
		fmt.Fprintf(r.cfg.Progress, "memory: live Go heap after a forced GC %s with no user, %s with %d online: %.0f bytes per online user (%.0f bytes of heap spans in use)\n",
			mib(m.LiveBaseline.AllocBytes), mib(m.LiveIdle.AllocBytes), m.OnlineUsers, m.LivePerUser.AllocBytes, m.LivePerUser.InuseBytes)
	}
	return nil
}

// gatewayLiveHeap is liveHeap when the gateway's pprof answers, else nil.
func (r *runner) gatewayLiveHeap(ctx context.Context) *LiveHeap {
	if r.cfg.MetricsURL == "" {
		return nil
	}
	h, err := liveHeap(ctx, r.cfg.MetricsURL)
	if err != nil {
		r.cfg.Log.Debug("live heap", "err", err)
		return nil
	}
	return &h
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
