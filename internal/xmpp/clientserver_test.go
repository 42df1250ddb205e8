package xmpp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"hash"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	c2sDomain   = "example.test"
	c2sUser     = "alice"
	c2sPassword = "secret"
	c2sJID      = c2sUser + "@" + c2sDomain
)

// c2sServer is a scripted RFC 6120 server on loopback TCP: STARTTLS with a
// self-signed certificate, SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN), bind
// and session. After the login each connection behaves like fakeServer's:
// what the client writes arrives as events.
type c2sServer struct {
	t  testing.TB
	ln net.Listener

	// Behaviour; set before the link starts.
	startTLS       string   // "", "offer" or "require"
	mechs          []string // offered mechanisms, in order
	sigInChallenge bool     // SCRAM: server-final as a last challenge instead of in <success/>
	badSignature   bool     // SCRAM: send a wrong server signature
	assign         string   // resource the server binds instead of the requested one
	session        string   // "", "required" or "optional"
	streamError    string   // if set, the condition sent instead of the first features

	cert  tls.Certificate
	pool  *x509.CertPool // trusts cert
	conns chan *c2sConn
	quit  chan struct{}
	mu    sync.Mutex
	open  []net.Conn
	wg    sync.WaitGroup
}

// c2sConn is what the server saw of one login, and the logged-in stream.
type c2sConn struct {
	*srvConn
	tls      bool
	from     string // 'from' of the client's last stream header
	mech     string
	gs2      string // SCRAM gs2 header the client sent
	resource string // resource the client asked to bind
	bound    string
	session  bool
	failure  string // SASL failure condition sent, if the login failed
}

func newC2SServer(t testing.TB) *c2sServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cert, pool := selfSigned(t, c2sDomain)
	s := &c2sServer{t: t, ln: ln, cert: cert, pool: pool,
		startTLS: "offer", mechs: []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"},
		conns: make(chan *c2sConn, 64), quit: make(chan struct{})}
	s.wg.Go(s.acceptLoop)
	t.Cleanup(s.close)
	return s
}

// selfSigned makes a certificate for domain and a pool that trusts it.
func selfSigned(t testing.TB, domain string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func (s *c2sServer) addr() string { return s.ln.Addr().String() }

func (s *c2sServer) close() {
	close(s.quit)
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.open {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *c2sServer) track(nc net.Conn) {
	s.mu.Lock()
	s.open = append(s.open, nc)
	s.mu.Unlock()
}

func (s *c2sServer) acceptLoop() {
	for n := 1; ; n++ {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.track(nc)
		s.wg.Go(func() { s.handle(nc, n) })
	}
}

// handle plays the login; a connection that gets that far is handed to
// the test, logged in or not, and then read until EOF.
func (s *c2sServer) handle(nc net.Conn, n int) {
	sc := &c2sConn{srvConn: &srvConn{n: n, nc: nc, accepted: time.Now(), events: make(chan srvEvent, 4096), quit: s.quit}}
	dec, ok := s.login(sc)
	select {
	case s.conns <- sc:
	case <-s.quit:
		return
	}
	if !ok {
		close(sc.events)
		_, _ = io.Copy(io.Discard, sc.nc)
		return
	}
	sc.readLoop(dec)
}

// login returns the decoder of the logged-in stream, or false once it
// refused the client or the client gave up.
func (s *c2sServer) login(sc *c2sConn) (*xml.Decoder, bool) {
	authed := false
	for {
		dec := xml.NewDecoder(sc.nc) // new stream: the client waits for our header
		start, err := srvNextStart(dec)
		if err != nil || start.Name.Local != "stream" || srvAttr(start, "to") != c2sDomain || srvAttr(start, "version") != "1.0" {
			return nil, false
		}
		sc.from = srvAttr(start, "from")
		if s.streamError != "" {
			sc.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='c2s-0' version='1.0'>` +
				`<stream:error><` + s.streamError + ` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
			return nil, false
		}
		sc.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='c2s-1' from='` +
			c2sDomain + `' version='1.0' xml:lang='en'>` + s.features(sc.tls, authed))
		if authed {
			return dec, s.bind(sc, dec)
		}
		switch s.negotiate(sc, dec) {
		case "tls":
		case "authed":
			authed = true
		default:
			return nil, false
		}
	}
}

func (s *c2sServer) features(tlsUp, authed bool) string {
	var b strings.Builder
	b.WriteString("<stream:features>")
	switch {
	case authed:
		b.WriteString("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
		switch s.session {
		case "required":
			b.WriteString("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>")
		case "optional":
			b.WriteString("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>")
		}
	default:
		if !tlsUp && s.startTLS != "" {
			b.WriteString("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>")
			if s.startTLS == "require" {
				b.WriteString("<required/>")
			}
			b.WriteString("</starttls>")
		}
		b.WriteString("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>")
		for _, m := range s.mechs {
			b.WriteString("<mechanism>" + m + "</mechanism>")
		}
		b.WriteString("</mechanisms>")
	}
	b.WriteString("</stream:features>")
	return b.String()
}

// negotiate answers <starttls/> or <auth/> and says why the stream is to
// restart: "tls" or "authed"; "" when the client gave up.
func (s *c2sServer) negotiate(sc *c2sConn, dec *xml.Decoder) string {
	for {
		el, ok := readElement(dec)
		if !ok {
			return ""
		}
		switch el.XMLName.Local {
		case "starttls":
			sc.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			tc := tls.Server(sc.nc, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if tc.Handshake() != nil {
				return ""
			}
			sc.nc, sc.tls = tc, true
			return "tls"
		case "auth":
			if s.authenticate(sc, dec, el) {
				return "authed"
			}
		default:
			s.t.Errorf("c2s server: unexpected <%s> before login", el.XMLName.Local)
			return ""
		}
	}
}

// authenticate runs one SASL exchange; false after a <failure/>.
func (s *c2sServer) authenticate(sc *c2sConn, dec *xml.Decoder, auth *rawElement) bool {
	sc.mech = auth.attr("mechanism")
	initial, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(auth.Inner))
	ok := false
	switch sc.mech {
	case "PLAIN":
		ok = string(initial) == "\x00"+c2sUser+"\x00"+c2sPassword
	case "SCRAM-SHA-1":
		ok = s.scram(sc, dec, sha1.New, string(initial))
	case "SCRAM-SHA-256":
		ok = s.scram(sc, dec, sha256.New, string(initial))
	}
	if !ok {
		sc.failure = "not-authorized"
		sc.write(`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text xml:lang='en'>Invalid username or password</text></failure>`)
		return false
	}
	if sc.mech == "PLAIN" {
		sc.write(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
	}
	return true
}

// scram is the server side of RFC 5802; it writes the success itself.
func (s *c2sServer) scram(sc *c2sConn, dec *xml.Decoder, h func() hash.Hash, clientFirst string) bool {
	gs2, bare, ok := cutN(clientFirst, ",", 2)
	if !ok || !strings.HasPrefix(bare, "n="+c2sUser+",r=") {
		return false
	}
	sc.gs2 = gs2
	cnonce := strings.TrimPrefix(bare, "n="+c2sUser+",r=")
	salt := []byte("fargo-test-salt")
	serverFirst := "r=" + cnonce + "srv0nce,s=" + base64.StdEncoding.EncodeToString(salt) + ",i=4096"
	sc.write(`<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + base64.StdEncoding.EncodeToString([]byte(serverFirst)) + `</challenge>`)
	resp, ok := readElement(dec)
	if !ok || resp.XMLName.Local != "response" {
		return false
	}
	final, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(resp.Inner))
	withoutProof, proof64, ok := strings.Cut(string(final), ",p=")
	if !ok || withoutProof != "c="+base64.StdEncoding.EncodeToString([]byte(gs2))+",r="+cnonce+"srv0nce" {
		return false
	}
	authMessage := bare + "," + serverFirst + "," + withoutProof
	salted, _ := pbkdf2.Key(h, c2sPassword, salt, 4096, h().Size())
	mac := func(key []byte, msg string) []byte { m := hmac.New(h, key); m.Write([]byte(msg)); return m.Sum(nil) }
	clientKey := mac(salted, "Client Key")
	stored := h()
	stored.Write(clientKey)
	want := make([]byte, len(clientKey))
	subtle.XORBytes(want, clientKey, mac(stored.Sum(nil), authMessage))
	if got, err := base64.StdEncoding.DecodeString(proof64); err != nil || !hmac.Equal(got, want) {
		return false
	}
	sig := mac(mac(salted, "Server Key"), authMessage)
	if s.badSignature {
		sig[0] ^= 1
	}
	v := base64.StdEncoding.EncodeToString([]byte("v=" + base64.StdEncoding.EncodeToString(sig)))
	if !s.sigInChallenge {
		sc.write(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + v + `</success>`)
		return true
	}
	sc.write(`<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + v + `</challenge>`)
	if empty, ok := readElement(dec); !ok || empty.XMLName.Local != "response" || strings.TrimSpace(empty.Inner) != "=" {
		return false
	}
	sc.write(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
	return true
}

// bind answers the bind request and, if required, the session request.
func (s *c2sServer) bind(sc *c2sConn, dec *xml.Decoder) bool {
	iq, ok := readElement(dec)
	if !ok || iq.XMLName.Local != "iq" || !strings.Contains(iq.Inner, "urn:ietf:params:xml:ns:xmpp-bind") {
		return false
	}
	var b struct {
		Resource string `xml:"resource"`
	}
	_ = xml.Unmarshal([]byte(iq.Inner), &b)
	sc.resource = b.Resource
	res := b.Resource
	if s.assign != "" || res == "" {
		res = s.assign + "srv-assigned"
	}
	sc.bound = c2sJID + "/" + res
	sc.write(`<iq type='result' id='` + iq.attr("id") + `'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>` + sc.bound + `</jid></bind></iq>`)
	if s.session != "required" {
		return true
	}
	sess, ok := readElement(dec)
	if !ok || !strings.Contains(sess.Inner, "urn:ietf:params:xml:ns:xmpp-session") {
		return false
	}
	sc.session = true
	sc.write(`<iq type='result' id='` + sess.attr("id") + `' from='` + c2sDomain + `'/>`)
	return true
}

func (sc *c2sConn) write(s string) { _, _ = io.WriteString(sc.nc, s) }

// cutN splits s after the nth sep.
func cutN(s, sep string, n int) (before, after string, ok bool) {
	i := 0
	for range n {
		j := strings.Index(s[i:], sep)
		if j < 0 {
			return "", "", false
		}
		i += j + len(sep)
	}
	return s[:i], s[i:], true
}

// rawElement is one top-level element read during the login.
type rawElement struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   string     `xml:",innerxml"`
}

func (e *rawElement) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func readElement(dec *xml.Decoder) (*rawElement, bool) {
	start, err := srvNextStart(dec)
	if err != nil {
		return nil, false
	}
	var el rawElement
	if dec.DecodeElement(&el, &start) != nil {
		return nil, false
	}
	return &el, true
}

// nextConn waits for the next connection that got through (or failed) the
// login.
func (s *c2sServer) nextConn(t testing.TB) *c2sConn {
	t.Helper()
	select {
	case sc := <-s.conns:
		return sc
	case <-time.After(waitLong):
		t.Fatal("timed out waiting for a c2s login")
		return nil
	}
}

// newClientHarness runs a client link against s as alice with the given
// JID; mutate adjusts the login and the config.
func newClientHarness(t testing.TB, s *c2sServer, jid string, mutate func(*Config)) *harness {
	t.Helper()
	return newHarnessAt(t, s.addr(), func(c *Config) {
		c.Client = &ClientLogin{JID: jid, Password: c2sPassword, TLS: TLSRequired,
			TLSConfig: &tls.Config{RootCAs: s.pool}}
		if mutate != nil {
			mutate(c)
		}
	})
}

// startClient starts h and waits until it is logged in.
func startClient(t testing.TB, h *harness, s *c2sServer) (context.Context, *c2sConn) {
	t.Helper()
	h.start(t)
	ctx := h.waitConnected(t)
	return ctx, s.nextConn(t)
}
