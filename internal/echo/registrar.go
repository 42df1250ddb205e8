package echo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Registrar limits: a demo registrar, not a production one.
const (
	registrarMaxExpiry  = time.Hour
	registrarNonceLife  = 5 * time.Minute
	registrarMaxNonces  = 1024 // outstanding challenges; the oldest go first
	registrarMaxContact = 8    // bindings per account
)

// Registrar, when it has accounts, makes the echo a small SIP registrar
// (RFC 3261 §10.3) for them: it accepts REGISTER for user@Domain with MD5
// digest authentication (qop=auth), keeps the bindings with their expiry
// and removes them on Expires: 0. It lets a gateway user's SIP account be
// checked and kept registered with no other SIP server (`fargo demo`); it
// routes nothing: calls still reach only the echo's own user.
type Registrar struct {
	Domain   string            // the accounts' domain: "sip.demo.test"
	Accounts map[string]string // user → password
}

// binding is one registered Contact of an account.
type binding struct {
	contact string // the Contact URI as sent
	expires time.Time
}

// registrar serves REGISTER for the configured accounts.
type registrar struct {
	cfg   Registrar
	log   *slog.Logger
	agent string // Server header
	now   func() time.Time

	mu       sync.Mutex
	nonces   map[string]time.Time // issued nonce → when it stops being accepted
	bindings map[string][]binding // user → live bindings
}

func newRegistrar(cfg Registrar, log *slog.Logger) *registrar {
	return &registrar{cfg: cfg, log: log, agent: "fargo-echo", now: time.Now,
		nonces: map[string]time.Time{}, bindings: map[string][]binding{}}
}

// hook is the UA's request hook: REGISTER is ours, the rest the UA's.
func (r *registrar) hook(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	if req.Method != sipmsg.REGISTER {
		return false
	}
	res := r.serve(req)
	res.AppendHeader(sipmsg.NewHeader("Server", r.agent))
	if err := tx.Respond(res); err != nil {
		r.log.Debug("registrar: response not sent", "status", res.StatusCode, "err", err)
	}
	return true
}

// serve decides the answer to one REGISTER.
func (r *registrar) serve(req *sipmsg.Request) *sipmsg.Response {
	to := req.To()
	if to == nil {
		return sipmsg.NewResponseFromRequest(req, 400, "Bad Request (no To header)", nil)
	}
	user, host := to.Address.User, to.Address.Host
	if !strings.EqualFold(host, r.cfg.Domain) {
		r.log.Info("registrar: REGISTER for a foreign domain refused", "to", user+"@"+host)
		return sipmsg.NewResponseFromRequest(req, 403, "Forbidden (this registrar serves only "+r.cfg.Domain+")", nil)
	}
	password, ok := r.cfg.Accounts[user]
	if !ok {
		r.log.Info("registrar: REGISTER for an unknown account refused", "to", user+"@"+host)
		return sipmsg.NewResponseFromRequest(req, 404, "Not Found (no such account here)", nil)
	}
	if res := r.authenticate(req, user, password); res != nil {
		return res
	}
	return r.update(req, user)
}

// authenticate returns nil when req carries valid digest credentials of
// user, else the challenge (401) or the refusal (403) to send.
func (r *registrar) authenticate(req *sipmsg.Request, user, password string) *sipmsg.Response {
	h := req.GetHeader("Authorization")
	if h == nil {
		return r.challenge(req, false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return sipmsg.NewResponseFromRequest(req, 400, "Bad Request (unreadable Authorization)", nil)
	}
	if !r.takeNonce(cred.Nonce) {
		return r.challenge(req, true) // ours, but too old: answer again (stale)
	}
	if cred.Username != user {
		return sipmsg.NewResponseFromRequest(req, 403, "Forbidden (credentials of another user)", nil)
	}
	chal := &digest.Challenge{Realm: r.cfg.Domain, Nonce: cred.Nonce, Algorithm: "MD5", Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI,
		Username: user, Password: password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || want.Response != cred.Response {
		r.log.Info("registrar: wrong password", "user", user)
		return sipmsg.NewResponseFromRequest(req, 403, "Forbidden (wrong password)", nil)
	}
	return nil
}

// challenge issues a fresh nonce in a 401.
func (r *registrar) challenge(req *sipmsg.Request, stale bool) *sipmsg.Response {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	r.mu.Lock()
	r.pruneNonces()
	r.nonces[nonce] = r.now().Add(registrarNonceLife)
	r.mu.Unlock()
	v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, r.cfg.Domain, nonce)
	if stale {
		v += ", stale=true"
	}
	res := sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", v))
	return res
}

// takeNonce reports whether nonce is one we issued that is still valid.
// A nonce serves a whole registration (its refreshes reuse it) until it
// expires.
func (r *registrar) takeNonce(nonce string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.nonces[nonce]
	return ok && r.now().Before(until)
}

// pruneNonces drops expired nonces and, past the limit, the oldest.
// r.mu must be held.
func (r *registrar) pruneNonces() {
	now := r.now()
	for n, until := range r.nonces {
		if !now.Before(until) {
			delete(r.nonces, n)
		}
	}
	for len(r.nonces) >= registrarMaxNonces {
		oldest, first := "", time.Time{}
		for n, until := range r.nonces {
			if oldest == "" || until.Before(first) {
				oldest, first = n, until
			}
		}
		delete(r.nonces, oldest)
	}
}

// update applies the Contacts of an authenticated REGISTER and answers
// with the account's bindings (RFC 3261 §10.3 steps 6–8).
func (r *registrar) update(req *sipmsg.Request, user string) *sipmsg.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	live := r.live(user, now)
	def, hasDef := headerSeconds(req, "Expires")
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard || strings.TrimSpace(h.Value()) == "*" {
			if !hasDef || def != 0 {
				return sipmsg.NewResponseFromRequest(req, 400, "Bad Request (Contact: * needs Expires: 0)", nil)
			}
			live = nil
			r.log.Info("registrar: all bindings removed", "user", user)
			continue
		}
		secs := registrarMaxExpiry
		if hasDef {
			secs = def
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				secs = time.Duration(n) * time.Second
			}
		}
		uri := c.Address.String()
		live = slices.DeleteFunc(live, func(b binding) bool { return b.contact == uri })
		if secs == 0 {
			r.log.Info("registrar: binding removed", "user", user, "contact", uri)
			continue
		}
		if len(live) >= registrarMaxContact {
			return sipmsg.NewResponseFromRequest(req, 403, "Forbidden (too many bindings)", nil)
		}
		live = append(live, binding{contact: uri, expires: now.Add(min(secs, registrarMaxExpiry))})
		r.log.Info("registrar: binding", "user", user, "contact", uri, "expires", min(secs, registrarMaxExpiry))
	}
	r.bindings[user] = live
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range live {
		res.AppendHeader(sipmsg.NewHeader("Contact",
			fmt.Sprintf("<%s>;expires=%d", b.contact, int(b.expires.Sub(now).Round(time.Second)/time.Second))))
	}
	return res
}

// live returns the unexpired bindings of user. r.mu must be held.
func (r *registrar) live(user string, now time.Time) []binding {
	return slices.DeleteFunc(slices.Clone(r.bindings[user]), func(b binding) bool { return !now.Before(b.expires) })
}

// Bindings returns the Contacts currently registered for user.
func (r *registrar) Bindings(user string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.live(user, r.now()) {
		out = append(out, b.contact)
	}
	return out
}

// headerSeconds reads a header holding whole seconds.
func headerSeconds(req *sipmsg.Request, name string) (time.Duration, bool) {
	h := req.GetHeader(name)
	if h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// Bindings returns the Contacts registered for user at the echo's
// registrar; none without one.
func (s *Service) Bindings(user string) []string {
	if s.reg == nil {
		return nil
	}
	return s.reg.Bindings(user)
}
