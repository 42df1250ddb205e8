package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// uas is the answering SIP peer of outgoing calls: a minimal stateless-ish
// UDP user agent that answers every INVITE with 180 and 200 at once, every
// BYE with 200, and stamps the INVITE's arrival and the 200's departure
// into the caller's call record (found by the From user, which is the
// simulated user's SIP name). It also registers contacts at the registrar,
// its own or SIPp's. It is not a SIP stack: it trusts the lab registrar.
type uas struct {
	pc   net.PacketConn
	port int
	r    *runner

	regMu sync.Mutex
	regCh map[string]chan int // Call-ID of our REGISTER → status

	mu   sync.Mutex
	sent map[string][]byte // Call-ID → the 200 to repeat on a retransmitted INVITE
}

const sdpAnswer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func listenUAS(r *runner, port int) (*uas, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("uas: %w", err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		// A burst of INVITEs must not overflow the default ~200 KiB.
		_ = uc.SetReadBuffer(4 << 20)
	}
	return &uas{pc: pc, port: port, r: r, regCh: map[string]chan int{}, sent: map[string][]byte{}}, nil
}

// serve reads until the socket is closed; two readers use both cores.
func (a *uas) serve() {
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := a.pc.ReadFrom(buf)
				if err != nil {
					return
				}
				a.handle(buf[:n], from)
			}
		})
	}
	wg.Wait()
}

func (a *uas) close() { _ = a.pc.Close() }

// sipMsg is a parsed SIP message: the start line and the headers we use.
type sipMsg struct {
	start   string
	vias    []string // whole header lines, in order
	rrs     []string
	from    string // header values
	to      string
	callID  string
	cseq    string
	hasBody bool
}

func parseSIP(b []byte) (sipMsg, bool) {
	head, _, found := strings.Cut(string(b), "\r\n\r\n")
	if !found {
		return sipMsg{}, false
	}
	lines := strings.Split(head, "\r\n")
	m := sipMsg{start: lines[0]}
	for _, l := range lines[1:] {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			m.vias = append(m.vias, "Via: "+val)
		case "record-route":
			m.rrs = append(m.rrs, "Record-Route: "+val)
		case "from", "f":
			m.from = val
		case "to", "t":
			m.to = val
		case "call-id", "i":
			m.callID = val
		case "cseq":
			m.cseq = val
		}
	}
	return m, m.callID != "" && m.cseq != ""
}

func (a *uas) handle(b []byte, from net.Addr) {
	m, ok := parseSIP(b)
	if !ok {
		return
	}
	if strings.HasPrefix(m.start, "SIP/2.0 ") {
		a.response(m)
		return
	}
	method, _, _ := strings.Cut(m.start, " ")
	switch method {
	case "INVITE":
		a.invite(m, from)
	case "ACK":
		a.mu.Lock()
		delete(a.sent, m.callID)
		a.mu.Unlock()
	case "BYE":
		a.r.cur().byes.Add(1)
		a.send(a.reply(m, "200 OK", false, ""), from)
	default: // CANCEL, OPTIONS, INFO: nothing to do but say yes
		a.send(a.reply(m, "200 OK", false, ""), from)
	}
}

func (a *uas) invite(m sipMsg, from net.Addr) {
	t1 := time.Now()
	a.mu.Lock()
	again, dup := a.sent[m.callID]
	a.mu.Unlock()
	if dup {
		a.send(again, from)
		return
	}
	a.send(a.reply(m, "180 Ringing", true, ""), from)
	ok := a.reply(m, "200 OK", true, sdpAnswer)
	a.mu.Lock()
	if len(a.sent) > 200000 { // ACKs lost for ever: do not grow without bound
		clear(a.sent)
	}
	a.sent[m.callID] = ok
	a.mu.Unlock()
	a.send(ok, from)
	a.retransmit(m.callID, ok, from, sipT1, 0)
	t2 := time.Now()
	if c := a.r.outgoingOf(uriUser(m.from)); c != nil {
		c.invite.Store(int64(t1.Sub(a.r.epoch)))
		c.answered.Store(int64(t2.Sub(a.r.epoch)))
	}
}

// SIP timers (RFC 3261 §17.1.1.1): T1 is the first retransmission
// interval, doubling up to T2; a 2xx is given up after 64·T1 (Timer H).
const (
	sipT1 = 500 * time.Millisecond
	sipT2 = 4 * time.Second
)

// retransmit repeats the 200 to an INVITE until its ACK arrives, as the
// UAS core must (RFC 3261 §13.3.1.4): over UDP a 200 lost after the 180
// is otherwise never recovered, because the caller stops retransmitting
// the INVITE once a provisional response came, and the call would count
// as failed for the benchmark's own sake.
func (a *uas) retransmit(callID string, ok []byte, to net.Addr, wait, waited time.Duration) {
	time.AfterFunc(wait, func() {
		a.mu.Lock()
		cur, pending := a.sent[callID]
		pending = pending && &cur[0] == &ok[0]
		if pending && waited+wait >= 64*sipT1 {
			delete(a.sent, callID)
			pending = false
		}
		a.mu.Unlock()
		if !pending {
			return
		}
		a.r.cur().uasRetransmits.Add(1)
		a.send(ok, to)
		a.retransmit(callID, ok, to, min(2*wait, sipT2), waited+wait)
	})
}

// reply builds a response to m; dialog responses carry our tag, contact
// and the Record-Route set.
func (a *uas) reply(m sipMsg, status string, dialog bool, body string) []byte {
	var b strings.Builder
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for _, v := range m.vias {
		b.WriteString(v + "\r\n")
	}
	if dialog {
		for _, rr := range m.rrs {
			b.WriteString(rr + "\r\n")
		}
	}
	to := m.to
	if !strings.Contains(to, ";tag=") {
		h := fnv.New32a()
		_, _ = h.Write([]byte(m.callID))
		to += ";tag=u" + strconv.FormatUint(uint64(h.Sum32()), 36)
	}
	b.WriteString("From: " + m.from + "\r\nTo: " + to + "\r\nCall-ID: " + m.callID + "\r\nCSeq: " + m.cseq + "\r\n")
	if dialog {
		b.WriteString("Contact: <sip:uas@127.0.0.1:" + strconv.Itoa(a.port) + ">\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	return []byte(b.String())
}

func (a *uas) send(b []byte, to net.Addr) { _, _ = a.pc.WriteTo(b, to) }

func (a *uas) response(m sipMsg) {
	code, _ := strconv.Atoi(strings.Fields(m.start + " 0")[1])
	if code < 200 {
		return
	}
	a.regMu.Lock()
	ch := a.regCh[m.callID]
	a.regMu.Unlock()
	if ch != nil {
		select {
		case ch <- code:
		default:
		}
	}
}

// register binds sip:user@domain to contactPort on 127.0.0.1 at the
// registrar (which must not ask for digest: the bench's Kamailio runs
// without auth), retrying on silence.
func (a *uas) register(ctx context.Context, user string, contactPort int) error {
	dst, err := net.ResolveUDPAddr("udp", a.r.cfg.Registrar)
	if err != nil {
		return fmt.Errorf("registrar: %w", err)
	}
	callID := rand.Text() + "@127.0.0.1"
	ch := make(chan int, 1)
	a.regMu.Lock()
	a.regCh[callID] = ch
	a.regMu.Unlock()
	defer func() {
		a.regMu.Lock()
		delete(a.regCh, callID)
		a.regMu.Unlock()
	}()
	dom := a.r.cfg.SIPDomain
	for try := 1; try <= 4; try++ {
		req := "REGISTER sip:" + dom + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + strconv.Itoa(a.port) + ";branch=z9hG4bK" + rand.Text() + ";rport\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:" + user + "@" + dom + ">;tag=" + rand.Text()[:10] + "\r\nTo: <sip:" + user + "@" + dom + ">\r\n" +
			"Call-ID: " + callID + "\r\nCSeq: " + strconv.Itoa(try) + " REGISTER\r\nContact: <sip:" + user + "@127.0.0.1:" + strconv.Itoa(contactPort) + ">\r\n" +
			"Expires: 3600\r\nContent-Length: 0\r\n\r\n"
		a.send([]byte(req), dst)
		select {
		case code := <-ch:
			if code/100 != 2 {
				return fmt.Errorf("REGISTER %s: %d (the bench needs a registrar without digest auth)", user, code)
			}
			return nil
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.New("REGISTER " + user + ": no answer from " + a.r.cfg.Registrar)
}

// uriUser is the user part of a From/To value: "<sip:b000001@d>;tag=x" → b000001.
func uriUser(v string) string {
	if i := strings.Index(v, "sip:"); i >= 0 {
		v = v[i+4:]
	}
	u, _, _ := strings.Cut(v, "@")
	return u
}
