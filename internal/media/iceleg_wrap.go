package media

import (
	"errors"
	"fmt"
	"net"

	"fargo.dev/fargo/internal/media/iceleg"
)

// ICELeg is the ICE-UDP + DTLS-SRTP leg toward an XMPP client, on one port
// with rtcp-mux (XEP-0176, XEP-0320). It wraps an iceleg.Leg for the
// signalling and relays its decrypted packets.
type ICELeg struct {
	s    *Session
	leg  *iceleg.Leg
	port uint16

	// Owned by the reader goroutine; read after it ended.
	loss      lossTracker
	rx        uint64
	srtpDrops uint64 // leg.Dropped() already added to the relay's Dropped
}

func (s *Session) newICELeg(controlling bool) (*ICELeg, error) {
	conn, err := s.r.ports.single()
	if err != nil {
		return nil, err
	}
	port := localPort(conn)
	leg, err := iceleg.New(iceleg.Config{
		Conn:             conn,
		Announce:         s.r.cfg.XMPPAddr,
		Certificate:      s.r.cert,
		Controlling:      controlling,
		HandshakeTimeout: s.r.cfg.HandshakeTimeout,
		Log:              s.log,
	})
	if err != nil {
		// The leg closed conn: it owns it from New on, even on failure.
		s.r.ports.release(port)
		return nil, fmt.Errorf("media: ICE leg: %w", err)
	}
	return &ICELeg{s: s, leg: leg, port: port}, nil
}

// Credentials are our ICE username fragment and password.
func (l *ICELeg) Credentials() (ufrag, pwd string) { return l.leg.Credentials() }

// Candidates are our ICE candidates (the XMPPAddr host candidate).
func (l *ICELeg) Candidates() []Candidate { return l.leg.Candidates() }

// Fingerprint is the fingerprint of the relay's DTLS certificate.
func (l *ICELeg) Fingerprint() Fingerprint { return l.leg.Fingerprint() }

// LocalSetup is our DTLS setup attribute given the remote's (RFC 5763).
func (l *ICELeg) LocalSetup(remote string) string { return l.leg.LocalSetup(remote) }

// SetRemote gives the client's ICE credentials, fingerprint and setup;
// connectivity checks and then the DTLS handshake start.
func (l *ICELeg) SetRemote(r RemoteICE) error { return l.leg.SetRemote(r) }

// AddRemoteCandidate adds a candidate of the client (trickle ICE).
func (l *ICELeg) AddRemoteCandidate(c Candidate) error { return l.leg.AddRemoteCandidate(c) }

func (l *ICELeg) start() {
	l.s.wg.Add(1)
	go l.read()
}

// read is the leg's one reader: decrypted packets are relayed to the SIP
// leg in this goroutine. A failed ICE or DTLS handshake ends the session.
func (l *ICELeg) read() {
	defer l.s.wg.Done()
	buf := make([]byte, readBuf)
	for {
		n, rtcp, err := l.leg.ReadPacket(buf)
		l.countSRTPDrops()
		if err != nil {
			if errors.Is(err, iceleg.ErrClosed) || errors.Is(err, net.ErrClosed) {
				return // our Close
			}
			// iceleg.ErrHandshake, or the ICE transport failing under an
			// established leg: either way no media can flow any more.
			l.s.end(fmt.Errorf("%w: %w", ErrDTLS, err), &l.s.r.stats.dtlsFail)
			return
		}
		pkt := buf[:n]
		if !rtcp && classify(pkt) != kindRTP {
			l.s.r.stats.dropped.Add(1)
			continue
		}
		l.rx++
		l.s.relay(sideXMPP, pkt, rtcp, &l.loss)
	}
}

// countSRTPDrops adds the packets the leg threw away (failed SRTP
// authentication or replay check) to the relay's Dropped. Only the reader
// calls it, then teardown once the reader is gone.
func (l *ICELeg) countSRTPDrops() {
	if d := l.leg.Dropped(); d != l.srtpDrops {
		l.s.r.stats.dropped.Add(d - l.srtpDrops)
		l.srtpDrops = d
	}
}

// send writes one plain packet; the leg encrypts it. Before the handshake
// completed it is dropped here, where it can be counted.
func (l *ICELeg) send(pkt []byte, rtcp bool) bool {
	select {
	case <-l.leg.Ready():
	default:
		return false
	}
	var err error
	if rtcp {
		err = l.leg.WriteRTCP(pkt)
	} else {
		err = l.leg.WriteRTP(pkt)
	}
	return err == nil
}

// close closes the leg, which closes its socket.
func (l *ICELeg) close() {
	_ = l.leg.Close()
}

// certificate is what the relay keeps for its ICE legs.
type certificate = *iceleg.Certificate

func newCertificate() (certificate, error) { return iceleg.NewCertificate() }
