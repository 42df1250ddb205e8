package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// SDP bodies the tests exchange; only the o= line matters to the UA.
const (
	offerSDP  = "v=0\r\no=- 1000 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	answerSDP = "v=0\r\no=- 2000 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
	offer2SDP = "v=0\r\no=- 1000 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=sendonly\r\n"
	answer2SD = "v=0\r\no=- 2000 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5002 RTP/AVP 0\r\na=recvonly\r\n"
)

// noLeaks fails the test if goroutines outlive it. Call it first, so its
// cleanup runs after those of the UA and the peers.
func noLeaks(t *testing.T) {
	base := leakcheck.Count()
	t.Cleanup(func() {
		if err := leakcheck.Settle(base, 5*time.Second); err != nil {
			t.Error(err)
		}
	})
}

// recorder is a CallHandler that collects events and answers offers.
type recorder struct {
	events chan Event
	offers chan []byte
	mu     sync.Mutex
	answer func(offer []byte) ([]byte, error) // nil: answer with answer2SD
}

// onOffer sets how the recorder answers offers.
func (r *recorder) onOffer(f func(offer []byte) ([]byte, error)) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

func newRecorder() *recorder {
	return &recorder{events: make(chan Event, 100), offers: make(chan []byte, 100)}
}

func (r *recorder) CallEvent(_ *Call, e Event) { r.events <- e }

func (r *recorder) Offer(_ context.Context, _ *Call, offer []byte) ([]byte, error) {
	r.offers <- offer
	r.mu.Lock()
	f := r.answer
	r.mu.Unlock()
	if f != nil {
		return f(offer)
	}
	return []byte(answer2SD), nil
}

// want waits for the next event and checks its kind.
func (r *recorder) want(t testing.TB, kind EventKind, within time.Duration) Event {
	t.Helper()
	select {
	case e := <-r.events:
		if e.Kind != kind {
			t.Fatalf("event %v (%+v), want %v", e.Kind, e, kind)
		}
		return e
	case <-time.After(within):
		t.Fatalf("no %v event within %v", kind, within)
		return Event{}
	}
}

// offered waits for the next offer the handler was asked about.
func (r *recorder) offered(t testing.TB) string {
	t.Helper()
	select {
	case o := <-r.offers:
		return string(o)
	case <-time.After(wait):
		t.Fatal("handler was not asked about an offer")
		return ""
	}
}

// quiet checks that no event arrives for d.
func (r *recorder) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %v: %+v", e.Kind, e)
	case <-time.After(d):
	}
}

// peer is a SIP user agent on loopback for call tests, on sipgo's server
// and client like fakeRegistrar. It records every request and answers as
// the test says; by default 200 (with answerSDP to INVITEs).
type peer struct {
	t       testing.TB
	ua      *sipgo.UserAgent
	cli     *sipgo.Client
	udpAddr string
	tcpAddr string
	udpFrom sipmsg.Addr          // the UDP listener, which UDP requests leave from
	got     chan *sipmsg.Request // every request, in arrival order
	cancels chan *sipmsg.Request // CANCELs that matched a pending INVITE

	mu     sync.Mutex
	on     map[sipmsg.RequestMethod]func(*sipmsg.Request, sipmsg.ServerTransaction)
	tags   map[string]string // the peer's To tag per Call-ID
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("fake-peer"),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(log),
			sipmsg.WithTransactionLayerUnhandledResponseHandler(func(*sipmsg.Response) {}),
		),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{
		t: t, ua: ua, cli: cli,
		got:     make(chan *sipmsg.Request, 1000),
		cancels: make(chan *sipmsg.Request, 10),
		on:      map[sipmsg.RequestMethod]func(*sipmsg.Request, sipmsg.ServerTransaction){},
		tags:    map[string]string{},
	}
	srv.OnNoRoute(p.handle)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.udpAddr, p.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	la := udp.LocalAddr().(*net.UDPAddr)
	p.udpFrom = sipmsg.Addr{IP: la.IP, Port: la.Port}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Go(func() { _ = srv.ServeUDP(udp) })
	p.wg.Go(func() { _ = srv.ServeTCP(tcp) })
	p.wg.Go(func() {
		<-ctx.Done()
		udp.Close()
		tcp.Close()
	})
	t.Cleanup(func() {
		p.cancel()
		p.wg.Wait()
		p.ua.Close()
		p.sweep()
	})
	// Requests leave from the listener only once sipgo has it in its pool
	// (emiago/sipgo#367).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if c, _ := ua.TransportLayer().GetConnection("udp", p.udpAddr); c != nil {
			_, _ = c.TryClose() // GetConnection took a reference
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("peer's UDP listener not serving")
		}
	}
	return p
}

// from makes a UDP request leave from the peer's listener, as the UA's do:
// sipgo's own client sockets are reference counted, and under load one can
// miss its close (the "UDP ref went negative" of dependencies.md §5.1).
func (p *peer) from(req *sipmsg.Request) *sipmsg.Request {
	if strings.EqualFold(req.Transport(), "UDP") {
		p.udpFrom.Copy(&req.Laddr)
	}
	return req
}

// sweep closes sockets sipgo opens after the peer closed: a message read
// just before its listener closed is handled later, and sipgo opens a new
// socket to answer it when the listener is gone (even for an ACK).
func (p *peer) sweep() {
	pool := p.ua.TransportLayer().Pool("udp")
	for range 10 {
		time.Sleep(5 * time.Millisecond)
		if pool.Size() > 0 {
			_ = pool.Clear()
		}
	}
}

// handleFunc sets the peer's behaviour for a method.
func (p *peer) handleFunc(m sipmsg.RequestMethod, f func(*sipmsg.Request, sipmsg.ServerTransaction)) {
	p.mu.Lock()
	p.on[m] = f
	p.mu.Unlock()
}

func (p *peer) handle(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	p.got <- req
	if req.IsInvite() {
		tx.OnCancel(func(r *sipmsg.Request) {
			select {
			case p.cancels <- r:
			default:
			}
		})
	}
	p.mu.Lock()
	f := p.on[req.Method]
	p.mu.Unlock()
	switch {
	case f != nil:
		f(req, tx)
	case req.IsAck():
	case req.IsInvite():
		p.respond(req, tx, 200, []byte(answerSDP))
	case req.IsCancel():
		p.respond(req, tx, 481, nil)
	default:
		p.respond(req, tx, 200, nil)
	}
}

// next returns the next request the peer got with the given method,
// skipping others.
func (p *peer) next(t testing.TB, m sipmsg.RequestMethod, within time.Duration) *sipmsg.Request {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case req := <-p.got:
			if req.Method == m {
				return req
			}
		case <-deadline:
			t.Fatalf("peer got no %s within %v", m, within)
			return nil
		}
	}
}

// tag returns the peer's To tag for a Call-ID.
func (p *peer) tag(callID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tags[callID] == "" {
		p.tags[callID] = sipmsg.GenerateTagN(8)
	}
	return p.tags[callID]
}

// contact is the peer's Contact for a request that came over transport.
func (p *peer) contact(transport string) *sipmsg.ContactHeader {
	addr := p.udpAddr
	if strings.EqualFold(transport, "TCP") {
		addr = p.tcpAddr
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	u := sipmsg.Uri{Scheme: "sip", User: "bob", Host: host, Port: n}
	if strings.EqualFold(transport, "TCP") {
		u.UriParams = sipmsg.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &sipmsg.ContactHeader{Address: u}
}

// respond answers req with code, the peer's tag, a Contact for INVITEs,
// body (as SDP) and extra headers.
func (p *peer) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, body []byte, hs ...sipmsg.Header) *sipmsg.Response {
	reason := reasons[code]
	if reason == "" {
		reason = "Status " + strconv.Itoa(code)
	}
	res := sipmsg.NewResponseFromRequest(req, code, reason, body)
	if to := res.To(); to != nil && code != 100 {
		to.Params.Remove("tag")
		to.Params.Add("tag", toTagOf(req, p.tag(req.CallID().Value())))
	}
	if req.IsInvite() && code < 300 {
		res.AppendHeader(p.contact(req.Transport()))
	}
	if len(body) > 0 {
		res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		p.t.Logf("peer: %d not sent: %v", code, err)
	}
	return res
}

// toTagOf keeps the To tag a request already carries.
func toTagOf(req *sipmsg.Request, def string) string {
	if t, ok := req.To().Params.Get("tag"); ok && t != "" {
		return t
	}
	return def
}

// peerDialog is the peer's side of a dialog with the UA, for requests the
// peer sends in it.
type peerDialog struct {
	p                   *peer
	callID              string
	local, remote       sipmsg.Uri
	localTag, remoteTag string
	target              sipmsg.Uri
	transport           string

	mu  sync.Mutex
	seq uint32
}

// uasDialog is the dialog of an INVITE the peer received and answered.
func (p *peer) uasDialog(inv *sipmsg.Request) *peerDialog {
	ftag, _ := inv.From().Params.Get("tag")
	return &peerDialog{
		p: p, callID: inv.CallID().Value(),
		local: inv.To().Address, remote: inv.From().Address,
		localTag: p.tag(inv.CallID().Value()), remoteTag: ftag,
		target: inv.Contact().Address, transport: inv.Transport(), seq: 100,
	}
}

// request builds an in-dialog request (Via is added when sent).
func (d *peerDialog) request(m sipmsg.RequestMethod, body []byte, hs ...sipmsg.Header) *sipmsg.Request {
	d.mu.Lock()
	if m != sipmsg.ACK {
		d.seq++
	}
	seq := d.seq
	d.mu.Unlock()
	req := sipmsg.NewRequest(m, d.target)
	req.SetTransport(d.transport)
	req.AppendHeader(&sipmsg.FromHeader{Address: d.local, Params: sipmsg.HeaderParams{{K: "tag", V: d.localTag}}})
	req.AppendHeader(&sipmsg.ToHeader{Address: d.remote, Params: sipmsg.HeaderParams{{K: "tag", V: d.remoteTag}}})
	callID := sipmsg.CallIDHeader(d.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: seq, MethodName: m})
	if m == sipmsg.INVITE || m == sipmsg.UPDATE {
		req.AppendHeader(d.p.contact(d.transport))
	}
	if len(body) > 0 {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	for _, h := range hs {
		req.AppendHeader(h)
	}
	req.SetBody(body)
	return req
}

// do sends an in-dialog request and returns the final response; a 2xx to
// an INVITE is ACKed.
func (d *peerDialog) do(t testing.TB, m sipmsg.RequestMethod, body []byte, hs ...sipmsg.Header) *sipmsg.Response {
	t.Helper()
	req := d.request(m, body, hs...)
	res := d.p.send(t, req)
	if m == sipmsg.INVITE && res.IsSuccess() {
		ack := d.request(sipmsg.ACK, nil)
		ack.CSeq().SeqNo = req.CSeq().SeqNo
		if err := d.p.cli.WriteRequest(d.p.from(ack)); err != nil {
			t.Fatalf("ACK: %v", err)
		}
	}
	return res
}

// send runs one client transaction of the peer and returns its final
// response.
func (p *peer) send(t testing.TB, req *sipmsg.Request) *sipmsg.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, p.from(req))
	if err != nil {
		t.Fatalf("peer %s: %v", req.Method, err)
	}
	return res
}

// peerCall is a call the peer places to the UA.
type peerCall struct {
	p      *peer
	invite *sipmsg.Request
	tx     sipmsg.ClientTransaction
}

// call sends an INVITE from carol to user@ua over transport with sdp (nil
// for a delayed offer) and extra headers.
func (p *peer) call(t testing.TB, ua *UA, user, transport string, sdp []byte, hs ...sipmsg.Header) *peerCall {
	t.Helper()
	addr := ua.Addr()
	ruri := sipmsg.Uri{Scheme: "sip", User: user, Host: addr.Addr().String(), Port: int(addr.Port())}
	req := sipmsg.NewRequest(sipmsg.INVITE, ruri)
	req.SetTransport(transport)
	req.AppendHeader(&sipmsg.FromHeader{DisplayName: "Carol", Address: sipmsg.Uri{Scheme: "sip", User: "carol", Host: "sip.example.org"}, Params: sipmsg.HeaderParams{{K: "tag", V: sipmsg.GenerateTagN(8)}}})
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "sip.example.org"}})
	callID := sipmsg.CallIDHeader("peer-" + sipmsg.GenerateTagN(12))
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INVITE})
	req.AppendHeader(p.contact(transport))
	for _, h := range hs {
		req.AppendHeader(h)
	}
	if sdp != nil && req.GetHeader("Content-Type") == nil {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(sdp)
	tx, err := p.cli.TransactionRequest(context.Background(), p.from(req))
	if err != nil {
		t.Fatalf("peer INVITE: %v", err)
	}
	t.Cleanup(tx.Terminate)
	return &peerCall{p: p, invite: req, tx: tx}
}

// response waits for the next response to the INVITE.
func (pc *peerCall) response(t testing.TB, within time.Duration) *sipmsg.Response {
	t.Helper()
	select {
	case res := <-pc.tx.Responses():
		return res
	case <-pc.tx.Done():
		t.Fatalf("INVITE transaction ended: %v", pc.tx.Err())
	case <-time.After(within):
		t.Fatalf("no response to the INVITE within %v", within)
	}
	return nil
}

// final waits for the final response, skipping provisional ones.
func (pc *peerCall) final(t testing.TB, within time.Duration) *sipmsg.Response {
	t.Helper()
	for {
		if res := pc.response(t, within); !res.IsProvisional() {
			return res
		}
	}
}

// dialog is the peer's side of the dialog a tagged response to the INVITE
// (1xx or 2xx) made.
func (pc *peerCall) dialog(res *sipmsg.Response) *peerDialog {
	ftag, _ := pc.invite.From().Params.Get("tag")
	ttag, _ := res.To().Params.Get("tag")
	return &peerDialog{
		p: pc.p, callID: pc.invite.CallID().Value(),
		local: pc.invite.From().Address, remote: pc.invite.To().Address,
		localTag: ftag, remoteTag: ttag,
		target: res.Contact().Address, transport: pc.invite.Transport(), seq: 1,
	}
}

// ack ACKs a 2xx (with body, for a delayed offer) and returns the dialog.
func (pc *peerCall) ack(t testing.TB, res *sipmsg.Response, body []byte) *peerDialog {
	t.Helper()
	d := pc.dialog(res)
	ack := d.request(sipmsg.ACK, body)
	if err := pc.p.cli.WriteRequest(pc.p.from(ack)); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	return d
}

// cancel sends CANCEL for the INVITE with a Reason header and returns the
// response to it.
func (pc *peerCall) cancel(t testing.TB, reason string) *sipmsg.Response {
	t.Helper()
	inv := pc.invite
	req := sipmsg.NewRequest(sipmsg.CANCEL, inv.Recipient)
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	req.Laddr = inv.Laddr
	req.AppendHeader(sipmsg.HeaderClone(inv.Via()))
	req.AppendHeader(sipmsg.HeaderClone(inv.From()))
	req.AppendHeader(sipmsg.HeaderClone(inv.To()))
	req.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sipmsg.NewHeader("Reason", reason))
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := pc.p.cli.Do(ctx, req, func(*sipgo.Client, *sipmsg.Request) error { return nil })
	if err != nil {
		t.Fatalf("CANCEL: %v", err)
	}
	return res
}

// rawPeer is a bare UDP socket speaking SIP by hand, for what a sipgo peer
// does by itself and a test must control: no 100 Trying, a 2xx after a
// CANCEL, two 2xx from two forks.
type rawPeer struct {
	conn net.PacketConn
	addr string
	ua   net.Addr
	seen map[string]bool // method+branch of requests already returned
}

func newRawPeer(t testing.TB, ua *UA) *rawPeer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPeer{conn: conn, addr: conn.LocalAddr().String(), ua: net.UDPAddrFromAddrPort(ua.Addr()), seen: map[string]bool{}}
}

// next returns the next new request with method m (retransmissions and
// other messages skipped); nil if none came within.
func (r *rawPeer) next(t testing.TB, m sipmsg.RequestMethod, within time.Duration) *sipmsg.Request {
	t.Helper()
	return r.read(t, m, within, true)
}

// again is next without skipping retransmissions.
func (r *rawPeer) again(t testing.TB, m sipmsg.RequestMethod, within time.Duration) *sipmsg.Request {
	t.Helper()
	return r.read(t, m, within, false)
}

func (r *rawPeer) read(t testing.TB, m sipmsg.RequestMethod, within time.Duration, dedupe bool) *sipmsg.Request {
	t.Helper()
	deadline := time.Now().Add(within)
	buf := make([]byte, 65535)
	for {
		r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			return nil
		}
		msg, err := sipmsg.ParseMessage(buf[:n])
		if err != nil {
			t.Fatalf("raw peer: unparsable message: %v", err)
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok {
			continue
		}
		branch, _ := req.Via().Params.Get("branch")
		key := string(req.Method) + branch
		if r.seen[key] && dedupe {
			continue
		}
		r.seen[key] = true
		if req.Method == m {
			return req
		}
	}
}

// reply sends a response to req with To tag tag (none for 100).
func (r *rawPeer) reply(t testing.TB, req *sipmsg.Request, code int, tag string, body []byte) {
	t.Helper()
	res := sipmsg.NewResponseFromRequest(req, code, fmt.Sprint(reasons[code]), body)
	res.To().Params.Remove("tag")
	if tag != "" {
		res.To().Params.Add("tag", tag)
	}
	if req.IsInvite() && code > 100 && code < 300 {
		host, port, _ := net.SplitHostPort(r.addr)
		n, _ := strconv.Atoi(port)
		res.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "bob", Host: host, Port: n}})
	}
	if len(body) > 0 {
		res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	if _, err := r.conn.WriteTo([]byte(res.String()), r.ua); err != nil {
		t.Fatal(err)
	}
}

func init() {
	for code, reason := range map[int]string{
		100: "Trying", 180: "Ringing", 183: "Session Progress", 202: "Accepted", 408: "Request Timeout",
		415: "Unsupported Media Type", 420: "Bad Extension", 422: "Session Interval Too Small", 481: "Call/Transaction Does Not Exist",
		482: "Loop Detected", 486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
		603: "Decline",
	} {
		reasons[code] = reason
	}
}
