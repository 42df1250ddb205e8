package loadgen

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// StepResult is one offered call rate.
type StepResult struct {
	OfferedRate   float64   `json:"offered_calls_per_second"`
	Seconds       float64   `json:"seconds"` // offering time; calls in flight are then finished
	Out           OutResult `json:"xmpp_to_sip"`
	In            *InResult `json:"sip_to_xmpp,omitempty"`
	Completed     int       `json:"completed"`
	PerSecond     float64   `json:"completed_per_second"` // completed / offering time
	Success       float64   `json:"success_ratio"`        // completed / attempted, both directions
	CPU           CPUUse    `json:"cpu"`                  // per completed call
	GatewayRatio  float64   `json:"gateway_cpu_over_registrar_cpu,omitempty"`
	GatewayRSSKiB int64     `json:"gateway_rss_kib"`
	// GatewayLatency is the gateway's own share of setup per phase, from
	// its histograms (empty for a gateway without them).
	GatewayLatency map[string]GatewayLatency `json:"gateway_setup_latency,omitempty"`
}

// OutResult is the XMPP → SIP direction of a step.
type OutResult struct {
	Offered   float64        `json:"offered_per_second"`
	Attempted int            `json:"attempted"`
	Completed int            `json:"completed"` // answered, held, hung up
	Failed    int            `json:"failed"`
	Skipped   int            `json:"skipped_no_free_user"`
	Failures  map[string]int `json:"failures,omitempty"`
	UASByes   int            `json:"byes_at_uas"`
	// UAS2xxRetransmits counts 200s our UAS sent again because no ACK
	// came within T1: lost SIP datagrams (socket buffers overflowing on a
	// busy machine) that SIP's timers recovered.
	UAS2xxRetransmits int         `json:"uas_2xx_retransmits"`
	Setup             Percentiles `json:"setup"`                      // session-initiate → session-accept
	SIInvite          Percentiles `json:"session_initiate_to_invite"` // gateway + registrar
	Invite200         Percentiles `json:"invite_to_200"`              // the answering peer
	OKAccept          Percentiles `json:"ok_to_session_accept"`       // registrar + gateway
}

// InResult is the SIP → XMPP direction of a step (SIPp as UAC).
type InResult struct {
	Offered  float64    `json:"offered_per_second"`
	SIPp     sippResult `json:"sipp"`
	Answered int        `json:"answered_by_users"`
	Ended    int        `json:"ended_at_users"`
	Refused  int        `json:"refused_by_users"`
}

// Failed is the step's failed calls, both directions.
func (s StepResult) Failed() int {
	n := s.Out.Failed + s.Out.Skipped
	if s.In != nil {
		n += s.In.SIPp.Failed + max(0, s.In.SIPp.Created-s.In.SIPp.Successful-s.In.SIPp.Failed)
	}
	return n
}

// runStep offers rate calls/s for StepDuration, open loop: outgoing calls
// start on a fixed schedule whatever the earlier ones are doing, incoming
// ones are SIPp's (which schedules the same way). It returns once every
// call of the step ended.
func (r *runner) runStep(ctx context.Context, i int, rate float64, work string) StepResult {
	st := newStep(rate)
	r.step.Store(st)
	outRate, inRate := rate*(1-r.cfg.IncomingShare), rate*r.cfg.IncomingShare
	dur := r.cfg.StepDuration
	fmt.Fprintf(r.cfg.Progress, "step %d/%d: %.0f calls/s for %v (%.0f/s XMPP → SIP, %.0f/s SIP → XMPP), hold %v\n",
		i+1, len(r.cfg.Rates), rate, dur, outRate, inRate, r.cfg.Hold)
	cpu0, host0 := cpuSnapshot(r.watched), readHostCPU()
	lat0, sum0 := r.scrapeGatewayLatency(ctx)
	began := time.Now()
	stop := r.progressEvery(func(el time.Duration) string {
		p := st.setup.summary()
		return fmt.Sprintf("step %d t=%.0fs offered %.0f/s: out attempted %d completed %d failed %d | in answered %d ended %d | setup p99 %.2f ms",
			i+1, el.Seconds(), rate, st.attempted.Load(), st.completed.Load(), st.failed.Load()+st.skipped.Load(),
			st.inAnswered.Load(), st.inEnded.Load(), p.P99)
	})

	var in *InResult
	var inWG sync.WaitGroup
	if inRate > 0 {
		n := max(1, int(inRate*dur.Seconds()+0.5))
		in = &InResult{Offered: inRate}
		callees := make([]string, n)
		for k := range callees {
			callees[k] = r.users[(i*7919+k)%len(r.users)].name
		}
		inWG.Go(func() {
			res, err := r.runSIPpUAC(ctx, filepath.Join(work, fmt.Sprintf("step%02d-sipp-uac", i+1)), inRate, n, callees)
			if err != nil {
				r.cfg.Log.Warn("sipp UAC", "err", err)
			}
			in.SIPp = res
		})
	}

	var wg sync.WaitGroup
	if outRate > 0 {
		n := int(outRate*dur.Seconds() + 0.5)
		for k := range n {
			if sleepUntil(ctx, began.Add(time.Duration(float64(k)/outRate*float64(time.Second)))) != nil {
				break
			}
			u := r.takeFree()
			if u == nil {
				st.skipped.Add(1)
				continue
			}
			wg.Go(func() {
				u.place(ctx, st)
				r.free <- u
			})
		}
	}
	wg.Wait()
	inWG.Wait()
	stop()
	sr := r.stepResult(st, in, dur, cpu0, host0)
	lat1, sum1 := r.scrapeGatewayLatency(ctx)
	sr.GatewayLatency = gatewayLatencyDelta(lat0, lat1, sum0, sum1)
	for _, phase := range slices.Sorted(maps.Keys(sr.GatewayLatency)) {
		g := sr.GatewayLatency[phase]
		fmt.Fprintf(r.cfg.Progress, "  gateway's own %s: %d calls, p50 ≤ %.2f ms, p99 ≤ %.2f ms, %.2f%% within 2 ms, mean %.3f ms\n",
			phase, g.N, g.P50AtMostMS, g.P99AtMostMS, 100*g.WithinTwoMS, g.MeanMS)
	}
	return sr
}

func (r *runner) takeFree() *user {
	select {
	case u := <-r.free:
		return u
	default:
		return nil
	}
}

func (r *runner) stepResult(st *step, in *InResult, dur time.Duration, cpu0 map[string]time.Duration, host0 hostCPU) StepResult {
	out := OutResult{Offered: st.rate * (1 - r.cfg.IncomingShare),
		Attempted: int(st.attempted.Load()), Completed: int(st.completed.Load()), Failed: int(st.failed.Load()),
		Skipped: int(st.skipped.Load()), Failures: st.failures(), UASByes: int(st.byes.Load()),
		UAS2xxRetransmits: int(st.uasRetransmits.Load()),
		Setup:             st.setup.summary(), SIInvite: st.siInvite.summary(), Invite200: st.invite200.summary(), OKAccept: st.okAccept.summary()}
	sr := StepResult{OfferedRate: st.rate, Seconds: dur.Seconds(), Out: out}
	attempted, completed := out.Attempted+out.Skipped, out.Completed
	if in != nil {
		in.Answered, in.Ended, in.Refused = int(st.inAnswered.Load()), int(st.inEnded.Load()), int(st.inRefused.Load())
		sr.In = in
		attempted += max(in.SIPp.Created, int(in.Offered*dur.Seconds()+0.5))
		completed += in.SIPp.Successful
	}
	sr.Completed = completed
	sr.PerSecond = float64(completed) / dur.Seconds()
	if attempted > 0 {
		sr.Success = float64(completed) / float64(attempted)
	}
	sr.CPU = cpuUse(cpu0, cpuSnapshot(r.watched), host0, readHostCPU(), completed)
	if g, k := sr.CPU.Seconds["gateway"], sr.CPU.Seconds["registrar"]; k > 0 {
		sr.GatewayRatio = g / k
	}
	sr.GatewayRSSKiB = r.gatewayRSS()
	fmt.Fprintf(r.cfg.Progress, "step result: %.0f calls/s offered, %d completed (%.0f/s), %d failed, setup p50 %.2f p99 %.2f ms; gateway %.1f µs/call, registrar %.1f µs/call, host busy %.0f%%\n",
		sr.OfferedRate, sr.Completed, sr.PerSecond, sr.Failed(), out.Setup.P50, out.Setup.P99,
		sr.CPU.PerOpUS["gateway"], sr.CPU.PerOpUS["registrar"], 100*sr.CPU.HostBusy)
	if len(out.Failures) > 0 {
		fmt.Fprintf(r.cfg.Progress, "  failures: %s\n", joinKeys(out.Failures))
	}
	if out.UAS2xxRetransmits > 0 {
		fmt.Fprintf(r.cfg.Progress, "  the UAS repeated %d 200s whose ACK was late or lost\n", out.UAS2xxRetransmits)
	}
	return sr
}
