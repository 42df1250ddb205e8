package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// componentWait bounds the wait for the gateway's component connection:
// it reconnects with a backoff of up to a minute after failed attempts.
const componentWait = 2 * time.Minute

// runSimulated is the memory mode (Config.ComponentListen): the tool is
// the gateway's XMPP server, brings every user online through the
// component connection alone, keeps them idle and reads the gateway's
// memory. No calls: nothing would answer them.
func (r *runner) runSimulated(ctx context.Context, res *Result) error {
	comp, err := listenComponent(r.cfg.ComponentListen, r.cfg.Component, r.cfg.ComponentSecret)
	if err != nil {
		return err
	}
	defer comp.close()
	fmt.Fprintf(r.cfg.Progress, "xmpp server simulated: waiting for the gateway's component connection on %s\n", comp.addr())
	actx, cancel := context.WithTimeout(ctx, componentWait)
	err = comp.accept(actx)
	cancel()
	if err != nil {
		return err
	}
	sim := newSimServer(r.cfg, comp)
	readDone := make(chan error, 1)
	go func() { readDone <- comp.readLoop(sim.handle) }()
	fmt.Fprintf(r.cfg.Progress, "component %s connected\n", r.cfg.Component)

	r.baselineMemory(ctx, res)
	res.Provision, res.Login = r.simLogin(ctx, sim)
	fmt.Fprintf(r.cfg.Progress, "login: %d online, %d failed in %.1fs (%.0f/s), presence → gateway presence p50 %.2f ms p99 %.2f ms\n",
		res.Login.OK, res.Login.Failed, res.Provision.Seconds, res.Provision.PerSecond, res.Login.Latency.P50, res.Login.Latency.P99)
	if res.Login.OK == 0 {
		return fmt.Errorf("bench: no user came online: %v", res.Provision.Errors)
	}
	res.Notes = append(res.Notes, "logins here are each user's first, right after its registration, whose checking REGISTER already stands: "+
		"the gateway answers the presence at once and refreshes the binding behind it, so the latency is not the login phase's presence → REGISTER → presence")
	if r.cfg.MetricsURL != "" {
		// Idle means every user's REGISTER has been answered, not in flight.
		want := float64(res.Login.OK)
		if err := r.waitRegistrations(ctx, func(n float64) bool { return n >= want }, 2*time.Minute); err != nil {
			res.Notes = append(res.Notes, "not all users' SIP registrations stood before idling: "+err.Error())
		}
	}
	res.Memory.OnlineKiB = r.gatewayRSS()
	if err := r.idleMemory(ctx, res); err != nil {
		return err
	}
	select {
	case err := <-readDone:
		res.Notes = append(res.Notes, fmt.Sprintf("the gateway's component connection ended during the run: %v", err))
		res.Disconnects = 1
	default:
	}
	res.GatewayPeakKiB, _ = procMemKiB(r.cfg.GatewayPID)
	return ctx.Err()
}

// simLogin brings the users online at LoginRate (at most Concurrency at
// once), each as a real server would route it to the gateway: the
// XEP-0077 registration with the user's SIP account, its subscription to
// the gateway, the approval of the gateway's subscription followed by the
// user's available presence; a user is online when the gateway's
// available presence arrives (its REGISTER got the 200). Latency is the
// available presence → the gateway's presence, as in the login phase.
func (r *runner) simLogin(ctx context.Context, sim *simServer) (ProvisionResult, LoginResult) {
	pr := ProvisionResult{Users: r.cfg.Users, Errors: map[string]int{}}
	lr := LoginResult{Offered: r.cfg.LoginRate}
	var lat samples
	var ok, failed atomic.Int64
	var mu sync.Mutex
	fmt.Fprintf(r.cfg.Progress, "login: %d users (registration, subscription, presence) at %.0f/s, at most %d at once\n",
		r.cfg.Users, r.cfg.LoginRate, r.cfg.Concurrency)
	cpu0, host0 := cpuSnapshot(r.watched), readHostCPU()
	began := time.Now()
	stop := r.progressEvery(func(el time.Duration) string {
		return fmt.Sprintf("login: t=%.0fs online %d failed %d p99 %.2f ms", el.Seconds(), ok.Load(), failed.Load(), lat.summary().P99)
	})
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for k, u := range sim.users {
		if sleepUntil(ctx, began.Add(time.Duration(float64(k)/r.cfg.LoginRate*float64(time.Second)))) != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			d, err := r.simBringUp(ctx, sim, u)
			if err != nil {
				failed.Add(1)
				mu.Lock()
				if msg := err.Error(); len(pr.Errors) < maxReasons || pr.Errors[msg] > 0 {
					pr.Errors[msg]++
				}
				mu.Unlock()
				return
			}
			lat.add(d)
			ok.Add(1)
		})
	}
	wg.Wait()
	stop()
	secs := time.Since(began).Seconds()
	lr.CPU = cpuUse(cpu0, cpuSnapshot(r.watched), host0, readHostCPU(), int(ok.Load()))
	lr.OK, lr.Failed = int(ok.Load()), int(failed.Load())
	lr.Latency, lr.Seconds = lat.summary(), secs
	pr.OK, pr.Failed, pr.Seconds = lr.OK, lr.Failed, secs
	if secs > 0 {
		lr.PerSecond = float64(lr.OK) / secs
		pr.PerSecond = lr.PerSecond
	}
	return pr, lr
}

// simBringUp registers one user with the gateway and waits until it is
// online; it returns the presence → gateway presence latency.
func (r *runner) simBringUp(ctx context.Context, sim *simServer, u *simUser) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	iq := `<iq type='set' id='` + regID(u.idx) + `' from='` + u.full + `' to='` + r.cfg.Component + `'>` +
		r.registerForm(userName(r.cfg.UserPrefix, u.idx)) + `</iq>`
	if !sim.comp.send(iq) {
		return 0, errors.New("component connection closed")
	}
	var res *stanza.Stanza
	select {
	case res = <-u.reg:
	case <-ctx.Done():
		return 0, fmt.Errorf("gateway registration: %w", errIQTimeout)
	}
	if res.Type == "error" {
		return 0, fmt.Errorf("gateway registration refused: %s", errCondition(res))
	}
	u.registered.Store(true)
	// XEP-0100 §4.1: the user subscribes to the gateway too (the gateway
	// approves; nothing here waits for it).
	sim.comp.send(`<presence from='` + u.bare + `' to='` + r.cfg.Component + `' type='subscribe'/>`)
	select {
	case <-u.avail:
	case <-ctx.Done():
		if u.sentAt.Load() == 0 {
			return 0, errors.New("first login: the gateway never asked for the user's presence")
		}
		return 0, errors.New("first login: no available presence from the gateway")
	}
	sent := u.sentAt.Load()
	if sent == 0 {
		return 0, errors.New("first login: the gateway's available presence came before the user's")
	}
	return time.Since(time.Unix(0, sent)), nil
}
