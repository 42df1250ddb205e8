package sip

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// seen is one request as the fake registrar received it.
type seen struct {
	at        time.Time
	transport string
	source    string
	ruri      string
	callID    string
	cseq      uint32
	fromTag   string
	from, to  string
	contacts  []string
	expires   string
	via       string
	route     string
	authz     string // Authorization
	proxyAuth string // Proxy-Authorization
	userAgent string
}

// reply is what a behaviour decides: a status, extra headers, or drop.
type reply struct {
	code    int
	reason  string
	headers []sipmsg.Header
	grant   int // for 2xx: expires to grant on the Contact (0: echo the request's, -1: none)
	drop    bool
}

// fakeRegistrar is a registrar built on sipgo's server API, listening on
// random loopback UDP and TCP ports. behave decides each answer.
type fakeRegistrar struct {
	t       testing.TB
	udpAddr string
	tcpAddr string
	seenCh  chan seen

	mu     sync.Mutex
	all    []seen
	behave func(req *sipmsg.Request, s seen) reply

	cancel context.CancelFunc
	wg     sync.WaitGroup
	ua     *sipgo.UserAgent
}

func newFakeRegistrar(t testing.TB, behave func(*sipmsg.Request, seen) reply) *fakeRegistrar {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("fake-registrar"),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(log)),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRegistrar{t: t, ua: ua, behave: behave, seenCh: make(chan seen, 1000)}
	srv.OnRegister(f.handle)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.udpAddr, f.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Go(func() { _ = srv.ServeUDP(udp) })
	f.wg.Go(func() { _ = srv.ServeTCP(tcp) })
	f.wg.Go(func() {
		<-ctx.Done()
		udp.Close()
		tcp.Close()
	})
	t.Cleanup(f.close)
	return f
}

func (f *fakeRegistrar) close() {
	f.cancel()
	f.wg.Wait()
	f.ua.Close()
}

func (f *fakeRegistrar) setBehaviour(b func(*sipmsg.Request, seen) reply) {
	f.mu.Lock()
	f.behave = b
	f.mu.Unlock()
}

func (f *fakeRegistrar) handle(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s := record(req)
	f.mu.Lock()
	f.all = append(f.all, s)
	behave := f.behave
	f.mu.Unlock()
	f.seenCh <- s
	r := behave(req, s)
	if r.drop {
		return
	}
	if r.reason == "" {
		r.reason = reasons[r.code]
	}
	res := sipmsg.NewResponseFromRequest(req, r.code, r.reason, nil)
	if r.code >= 200 && r.code < 300 {
		for _, h := range req.GetHeaders("Contact") {
			c := h.(*sipmsg.ContactHeader).Clone()
			if r.grant != 0 {
				c.Params.Remove("expires")
			}
			if r.grant > 0 {
				c.Params.Add("expires", strconv.Itoa(r.grant))
			}
			res.AppendHeader(c)
		}
	}
	for _, h := range r.headers {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

func record(req *sipmsg.Request) seen {
	s := seen{
		at:        time.Now(),
		transport: req.Transport(),
		source:    req.Source(),
		ruri:      req.Recipient.String(),
		callID:    req.CallID().Value(),
		cseq:      req.CSeq().SeqNo,
		from:      req.From().Address.String(),
		to:        req.To().Address.String(),
		via:       req.Via().Value(),
	}
	s.fromTag, _ = req.From().Params.Get("tag")
	for _, h := range req.GetHeaders("Contact") {
		s.contacts = append(s.contacts, h.Value())
	}
	if h := req.GetHeader("Expires"); h != nil {
		s.expires = h.Value()
	}
	if h := req.GetHeader("Route"); h != nil {
		s.route = h.Value()
	}
	if h := req.GetHeader("Authorization"); h != nil {
		s.authz = h.Value()
	}
	if h := req.GetHeader("Proxy-Authorization"); h != nil {
		s.proxyAuth = h.Value()
	}
	if h := req.GetHeader("User-Agent"); h != nil {
		s.userAgent = h.Value()
	}
	return s
}

// next waits for the next request the registrar receives.
func (f *fakeRegistrar) next(t testing.TB, within time.Duration) seen {
	t.Helper()
	select {
	case s := <-f.seenCh:
		return s
	case <-time.After(within):
		t.Fatalf("registrar got no request within %v", within)
		return seen{}
	}
}

// requests returns everything received so far.
func (f *fakeRegistrar) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.all...)
}

// accept grants every REGISTER.
func accept(grant int) func(*sipmsg.Request, seen) reply {
	return func(*sipmsg.Request, seen) reply { return reply{code: 200, grant: grant} }
}

// authenticator issues digest challenges and checks the answers the way a
// registrar does, with icholy/digest computing the expected response.
type authenticator struct {
	realm, user, pass string
	algs              []string // challenges offered, topmost first
	qop               string   // "auth", "auth-int", "auth, auth-int" or "" (RFC 2069)
	proxy             bool     // 407 / Proxy-Authenticate instead of 401
	staleTimes        int      // answer this many valid credentials with stale=true

	mu     sync.Mutex
	nonces map[string]int // issued nonce -> highest nonce count seen
	seq    int
	used   []digest.Credentials // accepted or checked credentials
}

func newAuth(user, pass string, algs ...string) *authenticator {
	if len(algs) == 0 {
		algs = []string{"MD5"}
	}
	return &authenticator{realm: "sip.example.org", user: user, pass: pass, algs: algs, qop: "auth", nonces: map[string]int{}}
}

// check returns nil if req carries valid credentials, else the challenge.
func (a *authenticator) check(req *sipmsg.Request) *reply {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := "Authorization"
	if a.proxy {
		name = "Proxy-Authorization"
	}
	h := req.GetHeader(name)
	if h == nil {
		return a.challenge(false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != a.user || cred.URI != req.Recipient.String() || cred.Realm != a.realm {
		return a.challenge(false)
	}
	lastNc, issued := a.nonces[cred.Nonce]
	if !issued {
		return a.challenge(false)
	}
	a.used = append(a.used, *cred)
	if cred.Response != a.expected(req, cred) {
		return a.challenge(false)
	}
	if cred.QOP != "" && cred.Nc <= lastNc {
		return a.challenge(true) // replayed nonce count: the nonce is used up
	}
	a.nonces[cred.Nonce] = cred.Nc
	if a.staleTimes > 0 {
		a.staleTimes--
		return a.challenge(true)
	}
	return nil
}

func (a *authenticator) challenge(stale bool) *reply {
	r := &reply{code: 401}
	name := "WWW-Authenticate"
	if a.proxy {
		r.code, name = 407, "Proxy-Authenticate"
	}
	for _, alg := range a.algs {
		a.seq++
		nonce := fmt.Sprintf("nonce-%d-%d", a.seq, time.Now().UnixNano())
		a.nonces[nonce] = 0
		v := fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="op%d"`, a.realm, nonce, a.seq)
		if alg != "" {
			v += ", algorithm=" + alg
		}
		if a.qop != "" {
			v += fmt.Sprintf(`, qop="%s"`, a.qop)
		}
		if stale {
			v += ", stale=true"
		}
		r.headers = append(r.headers, sipmsg.NewHeader(name, v))
	}
	return r
}

// expected computes the response independently of the code under test for
// the -sess variants (icholy/digest has none).
func (a *authenticator) expected(req *sipmsg.Request, c *digest.Credentials) string {
	method := string(req.Method)
	alg := strings.ToUpper(c.Algorithm)
	base, sess := strings.CutSuffix(alg, "-SESS")
	if !sess {
		chal := &digest.Challenge{Realm: c.Realm, Nonce: c.Nonce, Algorithm: base, Opaque: c.Opaque}
		if c.QOP != "" {
			chal.QOP = []string{c.QOP}
		}
		o := digest.Options{Method: method, URI: c.URI, Username: a.user, Password: a.pass, Cnonce: c.Cnonce, Count: c.Nc}
		if body := req.Body(); len(body) > 0 {
			o.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		d, err := digest.Digest(chal, o)
		if err != nil {
			return "error: " + err.Error()
		}
		return d.Response
	}
	var h func() hash.Hash
	switch base {
	case "MD5":
		h = md5.New
	case "SHA-256":
		h = sha256.New
	default:
		h = sha512.New512_256
	}
	H := func(s string) string { x := h(); x.Write([]byte(s)); return hex.EncodeToString(x.Sum(nil)) }
	ha1 := H(H(a.user+":"+c.Realm+":"+a.pass) + ":" + c.Nonce + ":" + c.Cnonce)
	ha2 := H(method + ":" + c.URI)
	return H(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, c.Nonce, c.Nc, c.Cnonce, c.QOP, ha2))
}

// lastCred returns the last credentials checked.
func (a *authenticator) lastCred() digest.Credentials {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.used) == 0 {
		return digest.Credentials{}
	}
	return a.used[len(a.used)-1]
}

// authThen challenges with each authenticator in turn, then grants.
func authThen(grant int, auths ...*authenticator) func(*sipmsg.Request, seen) reply {
	return func(req *sipmsg.Request, _ seen) reply {
		for _, a := range auths {
			if r := a.check(req); r != nil {
				return *r
			}
		}
		return reply{code: 200, grant: grant}
	}
}

var reasons = map[int]string{
	200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 407: "Proxy Authentication Required",
	423: "Interval Too Brief", 480: "Temporarily Unavailable", 500: "Server Internal Error", 503: "Service Unavailable",
}

// serveTLS adds a TLS listener with a fresh self-signed certificate for
// 127.0.0.1 and returns its address and a pool trusting that certificate.
func (f *fakeRegistrar) serveTLS(t testing.TB) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake registrar"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(f.ua, sipgo.WithServerLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(f.handle)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTLS(ln)
	}()
	// Runs before f.close (cleanups are LIFO): stop accepting first.
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String(), pool
}
