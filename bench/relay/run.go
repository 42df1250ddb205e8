package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"
)

// loadParams is the load offered to every target of a run.
type loadParams struct {
	Calls     int           `json:"calls"`
	Duration  time.Duration `json:"-"`
	Ramp      time.Duration `json:"-"`
	Senders   int           `json:"senders"`
	Receivers int           `json:"receivers"`
	// RxInterval is the receivers' pause between epoll sweeps.
	RxInterval time.Duration `json:"-"`
}

// result is one target's measurement over the window.
type result struct {
	Target        string  `json:"target"`
	Calls         int     `json:"calls"`
	WindowS       float64 `json:"window_s"`
	SetupS        float64 `json:"setup_s"` // time to set up every call through the control protocol
	Sent          uint64  `json:"sent"`    // packets sent during the window
	Received      uint64  `json:"received"`
	Lost          uint64  `json:"lost"`
	LossPct       float64 `json:"loss_pct"`
	OfferedPPS    float64 `json:"offered_pps"`
	ReceivedPPS   float64 `json:"received_pps"`
	StreamsLossy  int     `json:"streams_with_loss"`
	StreamsSilent int     `json:"streams_silent"` // received nothing in the window
	MaxStreamLoss uint64  `json:"max_stream_loss"`
	Duplicates    uint64  `json:"duplicates"`
	Reordered     uint64  `json:"reordered"`
	Foreign       uint64  `json:"foreign"` // wrong size or SSRC
	SendErrors    uint64  `json:"send_errors"`

	LatP50US  float64 `json:"latency_p50_us"`
	LatP99US  float64 `json:"latency_p99_us"`
	LatP999US float64 `json:"latency_p999_us"`
	LatMaxUS  float64 `json:"latency_max_us"`
	// Latency minus the direct baseline's (same percentile), when the run
	// has one.
	AddedP50US *float64 `json:"added_latency_p50_us,omitempty"`
	AddedP99US *float64 `json:"added_latency_p99_us,omitempty"`

	RelayPID      int     `json:"relay_pid,omitempty"`
	RelayCPUS     float64 `json:"relay_cpu_s"`
	RelayCores    float64 `json:"relay_cores"`
	RelayUSPerPkt float64 `json:"relay_cpu_us_per_packet"` // relay CPU / packets received through it
	RelayRSSKiB   int64   `json:"relay_rss_kib,omitempty"`
	RelayOwnCount *uint64 `json:"relay_own_packet_count,omitempty"` // the relay's counter over the window
	// RelayKernelCount is the part of RelayOwnCount that the relay's
	// in-kernel fast path forwarded (fargo's Stats.KernelPackets; 0 for
	// the userspace "fargo", absent for relays that do not report it).
	RelayKernelCount *uint64 `json:"relay_kernel_packet_count,omitempty"`
	GenCPUS          float64 `json:"generator_cpu_s"`
	GenUSPerPkt      float64 `json:"generator_cpu_us_per_packet"` // per packet sent + received
	HostBusyPct      float64 `json:"host_busy_pct"`               // all CPUs, all processes
	HostBusyCPUS     float64 `json:"host_busy_cpu_s"`             // the same in CPU-seconds over the window (/proc/stat)
	// HostDeltaUSPerPkt is the whole machine's CPU that the relay adds
	// per relayed packet: (HostBusyCPUS − the direct run's HostBusyCPUS
	// at the same N, scaled to this window's length) / Received, in µs.
	// Unlike RelayUSPerPkt it counts the relay's work wherever the kernel
	// charges it: the relay process, softirq run in the context of the
	// processes that send to it (the generator: an in-kernel fast path
	// such as fargo-kernel forwards there, not in the relay process),
	// ksoftirqd and other kernel threads. It includes the second loopback
	// hop every relayed packet takes. Absent without a direct run at the
	// same N in the invocation; as noisy as the host's other load
	// (OtherCores of both runs).
	HostDeltaUSPerPkt *float64 `json:"host_delta_us_per_packet,omitempty"`
	// OtherCores is the host's busy time less the relay's and the
	// generator's, in cores: kernel threads (ksoftirqd) and anything else
	// running on the machine. High values mean the run was disturbed.
	OtherCores     float64 `json:"other_cores"`
	ReceiverErrors uint64  `json:"receiver_errors,omitempty"`
	NoRxTimestamp  uint64  `json:"packets_without_rx_timestamp,omitempty"`
}

// sample is what is read at each edge of the window.
type sample struct {
	relayCPU, genCPU time.Duration
	host             hostCPU
	relayed          relayCount
	relayedOK        bool
}

// runTarget offers the load to t and measures it.
func runTarget(ctx context.Context, t target, p loadParams, log *slog.Logger) (result, error) {
	res := result{Target: t.name(), Calls: p.Calls, RelayPID: t.pid()}
	eps, err := newEndpoints(p.Calls)
	if err != nil {
		return res, err
	}
	defer func() {
		for _, e := range eps {
			e.close()
		}
	}()

	setup := time.Now()
	for i := 0; i < p.Calls; i++ {
		caller, callee := eps[2*i], eps[2*i+1]
		cd, ed, err := t.open(ctx, i, caller.local, callee.local)
		if err != nil {
			return res, fmt.Errorf("%s: call %d: %w", t.name(), i, err)
		}
		if err := errors.Join(caller.setDst(cd), callee.setDst(ed)); err != nil {
			return res, fmt.Errorf("%s: call %d: %w", t.name(), i, err)
		}
	}
	res.SetupS = time.Since(setup).Seconds()
	log.Info("calls set up", "target", t.name(), "calls", p.Calls, "seconds", round(res.SetupS, 2))
	defer func() {
		// Calls are closed even when the run was interrupted.
		ctx := context.WithoutCancel(ctx)
		for i := 0; i < p.Calls; i++ {
			if err := t.closeCall(ctx, i); err != nil {
				log.Warn("closing a call", "target", t.name(), "call", i, "err", err)
				return
			}
		}
	}()

	tick := clockTick()
	var at [2]sample
	var sampleErr error
	read := func(s *sample) {
		var err1, err2, err3 error
		if pid := t.pid(); pid != 0 {
			s.relayCPU, err1 = procCPU(pid, tick)
		}
		s.genCPU, err2 = procCPU(os.Getpid(), tick)
		s.host, err3 = readHostCPU()
		s.relayed, s.relayedOK = t.relayed(ctx)
		sampleErr = errors.Join(sampleErr, err1, err2, err3)
	}
	var c clock
	t0 := c.now() + int64(20*time.Millisecond)
	winStart := t0 + int64(p.Ramp)
	winEnd := winStart + int64(p.Duration)
	log.Info("load running", "target", t.name(), "ramp", p.Ramp, "window", p.Duration)
	rs, err := runLoad(ctx, c, eps, p, t0, winStart, winEnd, 500*time.Millisecond, func(atEnd bool) {
		if !atEnd {
			sampleErr = errors.Join(sampleErr, t.window(ctx, true))
			read(&at[0])
			return
		}
		read(&at[1])
		sampleErr = errors.Join(sampleErr, t.window(ctx, false))
		if pid := t.pid(); pid != 0 {
			res.RelayRSSKiB = procRSS(pid)
		}
	})
	if err != nil {
		return res, err
	}
	if sampleErr != nil {
		return res, fmt.Errorf("%s: sampling: %w", t.name(), sampleErr)
	}
	window := time.Duration(winEnd - winStart)
	res.fill(eps, rs, at, window, tick)
	return res, nil
}

func newEndpoints(calls int) ([]*endpoint, error) {
	eps := make([]*endpoint, 0, 2*calls)
	for i := 0; i < calls; i++ {
		// SSRCs identify the streams: the caller's 2i+1, the callee's 2i+2.
		a, err := newEndpoint(uint32(2*i+1), uint32(2*i+2))
		if err != nil {
			closeAll(eps)
			return nil, err
		}
		eps = append(eps, a)
		b, err := newEndpoint(uint32(2*i+2), uint32(2*i+1))
		if err != nil {
			closeAll(eps)
			return nil, err
		}
		eps = append(eps, b)
	}
	return eps, nil
}

func closeAll(eps []*endpoint) {
	for _, e := range eps {
		e.close()
	}
}

// fill computes the result from the endpoints' counters (read after every
// goroutine ended), the receivers' histograms and the two samples.
func (res *result) fill(eps []*endpoint, rs []*receiver, at [2]sample, window, tick time.Duration) {
	secs := window.Seconds()
	res.WindowS = secs
	for i, e := range eps {
		peer := eps[i^1] // the caller and callee of a call are neighbours
		res.Sent += peer.tx.sentWin
		res.Received += e.rx.rxWin
		res.SendErrors += e.tx.errs
		res.Duplicates += e.rx.dups
		res.Reordered += e.rx.late
		res.Foreign += e.rx.foreign
		if peer.tx.sentWin > e.rx.rxWin {
			lost := peer.tx.sentWin - e.rx.rxWin
			res.Lost += lost
			res.StreamsLossy++
			res.MaxStreamLoss = max(res.MaxStreamLoss, lost)
		}
		if e.rx.rxWin == 0 {
			res.StreamsSilent++
		}
	}
	if res.Sent > 0 {
		res.LossPct = 100 * float64(res.Lost) / float64(res.Sent)
	}
	res.OfferedPPS = float64(res.Sent) / secs
	res.ReceivedPPS = float64(res.Received) / secs

	var h histogram
	for _, r := range rs {
		h.merge(&r.hist)
		res.ReceiverErrors += r.errs
		res.NoRxTimestamp += r.noStamp
	}
	us := func(d time.Duration) float64 { return round(float64(d)/1e3, 1) }
	res.LatP50US, res.LatP99US = us(h.quantile(0.50)), us(h.quantile(0.99))
	res.LatP999US, res.LatMaxUS = us(h.quantile(0.999)), us(time.Duration(h.max))

	relayCPU := at[1].relayCPU - at[0].relayCPU
	genCPU := at[1].genCPU - at[0].genCPU
	res.RelayCPUS = relayCPU.Seconds()
	res.RelayCores = round(relayCPU.Seconds()/secs, 3)
	if res.Received > 0 {
		res.RelayUSPerPkt = round(float64(relayCPU)/1e3/float64(res.Received), 2)
	}
	if n := res.Sent + res.Received; n > 0 {
		res.GenUSPerPkt = round(float64(genCPU)/1e3/float64(n), 2)
	}
	res.GenCPUS = genCPU.Seconds()
	res.HostBusyPct = round(at[1].host.busyPct(at[0].host), 1)
	res.HostBusyCPUS = round(at[1].host.busyTime(at[0].host, tick).Seconds(), 3)
	cpus := float64(runtime.NumCPU())
	res.OtherCores = round(res.HostBusyPct/100*cpus-relayCPU.Seconds()/secs-genCPU.Seconds()/secs, 3)
	if at[0].relayedOK && at[1].relayedOK {
		n := at[1].relayed.packets - at[0].relayed.packets
		res.RelayOwnCount = &n
		if at[0].relayed.hasKernel && at[1].relayed.hasKernel {
			k := at[1].relayed.kernel - at[0].relayed.kernel
			res.RelayKernelCount = &k
		}
	}
	res.OfferedPPS, res.ReceivedPPS = round(res.OfferedPPS, 0), round(res.ReceivedPPS, 0)
	res.LossPct = round(res.LossPct, 4)
}

// addBaseline fills what is measured against the direct run at the same
// N: the added latency and the host CPU the relay adds per packet.
func (res *result) addBaseline(base result) {
	a50, a99 := round(res.LatP50US-base.LatP50US, 1), round(res.LatP99US-base.LatP99US, 1)
	res.AddedP50US, res.AddedP99US = &a50, &a99
	if res.Received > 0 && base.WindowS > 0 {
		// The windows have the same length (one -duration per
		// invocation); scaling keeps the difference honest if not.
		baseBusy := base.HostBusyCPUS * res.WindowS / base.WindowS
		d := round((res.HostBusyCPUS-baseBusy)*1e6/float64(res.Received), 2)
		res.HostDeltaUSPerPkt = &d
	}
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}
