package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loginTimeout bounds one login: available presence → the gateway's
// available presence (its REGISTER got its 200).
const loginTimeout = 30 * time.Second

// LoginResult is the login phase: every user's available presence offered
// at a set rate, each answered by a SIP REGISTER and the gateway's presence.
type LoginResult struct {
	Offered   float64     `json:"offered_per_second"`
	OK        int         `json:"ok"`
	Failed    int         `json:"failed"`
	Seconds   float64     `json:"seconds"` // first presence sent → last gateway presence received
	PerSecond float64     `json:"per_second"`
	Latency   Percentiles `json:"presence_to_gateway_presence"`
	CPU       CPUUse      `json:"cpu"`
}

// login sends every user's available presence at LoginRate, open loop.
func (r *runner) login(ctx context.Context) LoginResult {
	res := LoginResult{Offered: r.cfg.LoginRate}
	var lat samples
	var ok, failed atomic.Int64
	var last atomic.Int64 // ns since began of the latest completion
	fmt.Fprintf(r.cfg.Progress, "login: %d users at %.0f/s\n", len(r.users), r.cfg.LoginRate)
	cpu0, host0 := cpuSnapshot(r.watched), readHostCPU()
	began := time.Now()
	stop := r.progressEvery(func(el time.Duration) string {
		p := lat.summary()
		return fmt.Sprintf("login: t=%.0fs ok %d failed %d p99 %.2f ms", el.Seconds(), ok.Load(), failed.Load(), p.P99)
	})
	var wg sync.WaitGroup
	for k, u := range r.users {
		if sleepUntil(ctx, began.Add(time.Duration(float64(k)/r.cfg.LoginRate*float64(time.Second)))) != nil {
			break
		}
		wg.Go(func() {
			u.drainAvail()
			t0 := time.Now()
			if err := u.c.write(availablePresence); err != nil {
				failed.Add(1)
				return
			}
			if err := u.waitAvail(ctx, loginTimeout); err != nil {
				failed.Add(1)
				return
			}
			now := time.Now()
			lat.add(now.Sub(t0))
			ok.Add(1)
			for {
				prev := last.Load()
				if int64(now.Sub(began)) <= prev || last.CompareAndSwap(prev, int64(now.Sub(began))) {
					break
				}
			}
		})
	}
	wg.Wait()
	stop()
	res.CPU = cpuUse(cpu0, cpuSnapshot(r.watched), host0, readHostCPU(), int(ok.Load()))
	res.OK, res.Failed = int(ok.Load()), int(failed.Load())
	res.Latency = lat.summary()
	res.Seconds = time.Duration(last.Load()).Seconds()
	if res.Seconds > 0 {
		res.PerSecond = float64(res.OK) / res.Seconds
	}
	return res
}

// waitRegistrations polls the gateway's fargo_sip_registrations until
// done accepts it.
func (r *runner) waitRegistrations(ctx context.Context, done func(float64) bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last float64 = -1
	for {
		v, err := scrapeGauge(ctx, r.cfg.MetricsURL, "fargo_sip_registrations")
		if err == nil && done(v) {
			return nil
		}
		if err == nil {
			last = v
		}
		if sleepCtx(ctx, 200*time.Millisecond) != nil {
			return fmt.Errorf("gateway registrations still %v: %w", last, ctx.Err())
		}
	}
}

// scrapeGauge reads one unlabelled series from a Prometheus text endpoint.
func scrapeGauge(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New(name + " not found")
}
