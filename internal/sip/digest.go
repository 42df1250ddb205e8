package sip

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// challenge is one digest challenge we can answer, from a 401
// (WWW-Authenticate) or a 407 (Proxy-Authenticate).
type challenge struct {
	c     digest.Challenge
	proxy bool
	base  string // MD5, SHA-256 or SHA-512-256
	sess  bool   // the -sess variant of base
	nc    int    // requests already answered with this nonce
}

var errNoChallenge = errors.New("no supported digest challenge")

// pickChallenge returns the strongest digest challenge of res that we can
// answer. RFC 8760 §2.4 lets a UAC prefer an algorithm by local policy; ours
// is "strongest hash wins, then qop, then plain over -sess", and among equals
// the topmost, so a downgrade needs the server to offer only weak ones.
func pickChallenge(res *sipmsg.Response) (*challenge, error) {
	proxy := res.StatusCode == sipmsg.StatusProxyAuthRequired
	name := "WWW-Authenticate"
	if proxy {
		name = "Proxy-Authenticate"
	}
	var best *challenge
	bestRank := -1
	for _, h := range res.GetHeaders(name) {
		ch, ok := parseChallenge(h.Value())
		if !ok {
			continue
		}
		ch.proxy = proxy
		if r := ch.rank(); r > bestRank {
			best, bestRank = ch, r
		}
	}
	if best == nil {
		return nil, errNoChallenge
	}
	return best, nil
}

// parseChallenge reads a challenge and reports whether we support it.
func parseChallenge(v string) (*challenge, bool) {
	c, err := digest.ParseChallenge(v)
	if err != nil || c.Nonce == "" {
		return nil, false
	}
	// icholy/digest splits qop on "," without trimming; "auth, auth-int"
	// is common.
	var qop []string
	for _, q := range c.QOP {
		if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
			qop = append(qop, q)
		}
	}
	c.QOP = qop
	ch := &challenge{c: *c}
	alg := strings.ToUpper(c.Algorithm)
	ch.base, ch.sess = strings.CutSuffix(alg, "-SESS")
	switch ch.base {
	case "":
		ch.base = "MD5"
	case "MD5", "SHA-256", "SHA-512-256":
	default:
		return nil, false
	}
	hasQop := c.SupportsQOP("auth") || c.SupportsQOP("auth-int")
	if len(c.QOP) > 0 && !hasQop {
		return nil, false
	}
	if ch.sess && !hasQop {
		return nil, false // -sess needs a cnonce, which only qop provides
	}
	return ch, true
}

func (ch *challenge) rank() int {
	r := map[string]int{"MD5": 1, "SHA-256": 2, "SHA-512-256": 3}[ch.base] * 4
	if len(ch.c.QOP) > 0 {
		r += 2
	}
	if !ch.sess {
		r++
	}
	return r
}

func (ch *challenge) headerName() string {
	if ch.proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// answer computes the credentials for one request (RFC 7616 §3.4, SIP
// flavour: auth-int hashes the message body, empty for REGISTER). Each call
// uses the next nonce count.
func (ch *challenge) answer(method, uri, user, password string, body []byte) (string, error) {
	ch.nc++
	o := digest.Options{Method: method, URI: uri, Username: user, Password: password, Count: ch.nc}
	if len(body) > 0 {
		o.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	c := ch.c
	c.Algorithm = ch.base
	if ch.sess {
		// icholy/digest has no -sess; it accepts a precomputed H(A1), which
		// for -sess is H(H(user:realm:pass):nonce:cnonce) (RFC 7616 §3.4.2).
		o.Cnonce = newCnonce()
		h := newHash(ch.base)
		o.A1 = hashJoin(h, hashJoin(h, user, c.Realm, password), c.Nonce, o.Cnonce)
	}
	cred, err := digest.Digest(&c, o)
	if err != nil {
		return "", err
	}
	// Echo the algorithm exactly as challenged; omit it if the challenge did.
	cred.Algorithm = ch.c.Algorithm
	return cred.String(), nil
}

func newHash(base string) hash.Hash {
	switch base {
	case "SHA-256":
		return sha256.New()
	case "SHA-512-256":
		return sha512.New512_256()
	}
	return md5.New()
}

func hashJoin(h hash.Hash, parts ...string) string {
	h.Reset()
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

func newCnonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// authState is the digest challenges one chain of requests answers: a
// REGISTER exchange, an INVITE and its retries, one in-dialog request.
type authState struct {
	www, proxy *challenge
	staleUsed  bool
}

// take records the challenge of a 401/407 for the next request, or returns
// why to give up. A second non-stale challenge of the same kind means the
// credentials just sent were refused; retrying would only lock the account.
func (a *authState) take(res *sipmsg.Response) (giveUp string) {
	ch, err := pickChallenge(res)
	if err != nil {
		return err.Error()
	}
	prev := &a.www
	if ch.proxy {
		prev = &a.proxy
	}
	if *prev != nil {
		switch {
		case !ch.c.Stale:
			return "credentials rejected"
		case a.staleUsed:
			return "nonce stale again"
		}
		a.staleUsed = true
	}
	*prev = ch
	return ""
}

// apply adds credentials for every challenge taken so far to req, whose
// Request-URI, method and body must be final.
func (a *authState) apply(req *sipmsg.Request, user, password string) error {
	for _, ch := range []*challenge{a.proxy, a.www} {
		if ch == nil {
			continue
		}
		v, err := ch.answer(string(req.Method), req.Recipient.String(), user, password, req.Body())
		if err != nil {
			return err
		}
		req.AppendHeader(sipmsg.NewHeader(ch.headerName(), v))
	}
	return nil
}
