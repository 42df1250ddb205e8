package loadgen

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// usersPerSource is how many connections share one source address: the
// ephemeral port range (32768–60999) holds ~28,000 per address pair, so
// 100,000 users need several addresses of 127.0.0.0/8.
const usersPerSource = 20000

// provisionTimeout bounds one user's whole setup (connect, gateway
// registration with its checking REGISTER, subscription, login).
const provisionTimeout = 60 * time.Second

// ProvisionResult is the first phase: users created, connected, registered
// with the gateway and logged in once.
type ProvisionResult struct {
	Users     int            `json:"users"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"`
	Errors    map[string]int `json:"errors,omitempty"`
}

func sourceAddr(idx int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, byte(1 + idx/usersPerSource), 1})
}

// provision brings every user up: it connects (creating the account if
// asked), sends available presence, registers the user's SIP account with
// the gateway (XEP-0077, which the gateway checks with a real REGISTER),
// subscribes to the gateway as XEP-0100 says and waits for the gateway's
// available presence. Users that fail are left out of the rest of the run.
func (r *runner) provision(ctx context.Context) ProvisionResult {
	res := ProvisionResult{Users: r.cfg.Users, Errors: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	ok := make([]*user, r.cfg.Users)
	began := time.Now()
	var wg sync.WaitGroup
	var done atomic.Int64
	stopProgress := r.progressEvery(func(el time.Duration) string {
		return fmt.Sprintf("provision: %d/%d users up after %.0fs", done.Load(), r.cfg.Users, el.Seconds())
	})
	for range min(r.cfg.Concurrency, r.cfg.Users) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= r.cfg.Users || ctx.Err() != nil {
					return
				}
				u, err := r.bringUp(ctx, i)
				done.Add(1)
				if err != nil {
					mu.Lock()
					res.Failed++
					if msg := addrRE.ReplaceAllString(err.Error(), "ADDR"); len(res.Errors) < maxReasons || res.Errors[msg] > 0 {
						res.Errors[msg]++
					}
					mu.Unlock()
					continue
				}
				ok[i] = u
			}
		})
	}
	wg.Wait()
	stopProgress()
	for _, u := range ok {
		if u != nil {
			r.users = append(r.users, u)
		}
	}
	r.byIndex = ok
	res.OK = len(r.users)
	res.Seconds = time.Since(began).Seconds()
	res.PerSecond = float64(res.OK) / res.Seconds
	return res
}

func (r *runner) bringUp(ctx context.Context, i int) (*user, error) {
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	u := newUser(r, i)
	c, err := dial(ctx, dialSpec{addr: r.cfg.XMPPAddr, local: sourceAddr(i), domain: r.cfg.XMPPDomain,
		user: u.name, password: r.cfg.Password, resource: "bench", create: r.cfg.Create})
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	u.c = c
	go func() {
		err := c.readLoop(u.handle)
		if !r.closing.Load() {
			r.disconnects.Add(1)
			r.cfg.Log.Debug("user disconnected", "user", u.name, "err", err)
		}
	}()
	fail := func(err error) (*user, error) { c.close(); return nil, err }
	if err := c.write(availablePresence); err != nil {
		return fail(err)
	}
	res, err := u.sendIQ(ctx, "set", r.cfg.Component, r.registerForm(u.name), provisionTimeout)
	if err != nil {
		return fail(fmt.Errorf("gateway registration: %w", err))
	}
	if res.Type == "error" {
		return fail(fmt.Errorf("gateway registration refused: %s", errCondition(res)))
	}
	if err := c.write(`<presence to='` + r.cfg.Component + `' type='subscribe'/>`); err != nil {
		return fail(err)
	}
	if err := u.waitAvail(ctx, provisionTimeout); err != nil {
		return fail(fmt.Errorf("first login: %w", err))
	}
	return u, nil
}

// registerForm is the XEP-0077 data form with the user's SIP account.
func (r *runner) registerForm(name string) string {
	field := func(name, v string) string {
		return `<field var='` + name + `'><value>` + xmlEscape(v) + `</value></field>`
	}
	return `<query xmlns='` + nsRegister + `'><x xmlns='jabber:x:data' type='submit'>` +
		field("FORM_TYPE", nsRegister) + field("username", name+"@"+r.cfg.SIPDomain) +
		field("password", r.cfg.Password) + field("sip-registrar", r.cfg.Registrar) +
		field("sip-transport", "udp") + `</x></query>`
}
