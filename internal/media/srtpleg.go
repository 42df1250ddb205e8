package media

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// sdesReplayWindow is the receive contexts' replay window, as on the ICE
// leg: 64 packets is more reordering than a phone's path produces.
const sdesReplayWindow = 64

// sdesState is an RTP leg's SDES keying, swapped whole by SetSRTP so that
// a packet is never handled with half of an old and half of a new key.
// The parts whose key did not change are carried over into the new state:
// a fresh context would restart the rollover counter, and for our own
// key that means reusing keystream once 65536 packets have gone by.
type sdesState struct {
	local, remote SDESKey
	rx            *sdesRx
	tx            *sdesTx
}

// sdesRx decrypts what one leg receives. pion's Context is not safe for
// concurrent use, so each socket's reader gets its own, keyed alike: the
// RTP socket also sees SRTCP from phones that mux it (RFC 5761).
type sdesRx [2]struct {
	ctx     *srtp.Context
	rtpHdr  rtp.Header
	rtcpHdr rtcp.Header
}

// sdesTx encrypts what the leg sends. The other leg's readers (RTP and
// RTCP, or the ICE leg's one reader) share it, hence the lock; the buffer
// and headers are reused so that sending allocates nothing.
type sdesTx struct {
	mu   sync.Mutex
	ctx  *srtp.Context
	buf  []byte
	rtp  rtp.Header
	rtcp rtcp.Header
}

// SetSRTP keys the leg with SDES-SRTP (RFC 4568): local is our key, the
// one announced in our a=crypto line, with which every packet sent on this
// leg is encrypted; remote is the peer's, with which every packet received
// is authenticated and decrypted before it is relayed. A packet that fails
// authentication or the replay check is dropped (Stats.Dropped) and moves
// no latch. Suites may differ per direction, though an SDP answer keeps
// the offered one.
//
// It may be called again, e.g. after a re-INVITE: a key that did not
// change keeps its SRTP state (rollover counters, replay window). Two zero
// keys return the leg to plain RTP; one zero key alone is an error, as is
// a key Validate refuses. The next packet uses the new keys.
func (l *RTPLeg) SetSRTP(local, remote SDESKey) error {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	// Keys or none, the peers' packets change: the kernel forwards only
	// plain RTP, and a settled call re-enters it from the poller.
	defer l.s.leaveKernel()
	if local.IsZero() && remote.IsZero() {
		if l.sdes.Swap(nil) != nil {
			l.s.log.Debug("SRTP off", "side", l.side)
		}
		return nil
	}
	if local.IsZero() || remote.IsZero() {
		return fmt.Errorf("%w: SRTP needs both keys", ErrBadInput)
	}
	cur := l.sdes.Load()
	next := &sdesState{local: local.clone(), remote: remote.clone()}
	if cur != nil && cur.local.equal(local) {
		next.tx = cur.tx
	} else {
		tx, err := newSDESTx(next.local)
		if err != nil {
			return err
		}
		next.tx = tx
	}
	if cur != nil && cur.remote.equal(remote) {
		next.rx = cur.rx
	} else {
		rx, err := newSDESRx(next.remote)
		if err != nil {
			return err
		}
		next.rx = rx
	}
	l.sdes.Store(next)
	l.s.log.Debug("SDES-SRTP keyed", "side", l.side, "send", local.Suite, "receive", remote.Suite)
	return nil
}

func newSDESTx(k SDESKey) (*sdesTx, error) {
	p, err := k.split()
	if err != nil {
		return nil, err
	}
	ctx, err := srtp.CreateContext(p.key, p.salt, p.profile)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP send context: %w", err)
	}
	return &sdesTx{ctx: ctx, buf: make([]byte, 0, readBuf+srtpOverhead)}, nil
}

// srtpOverhead is the most SRTP/SRTCP adds to a packet: a 16-byte AEAD
// tag, or a 10-byte HMAC tag plus the 4-byte SRTCP index.
const srtpOverhead = 16 + 4

func newSDESRx(k SDESKey) (*sdesRx, error) {
	p, err := k.split()
	if err != nil {
		return nil, err
	}
	rx := &sdesRx{}
	for i := range rx {
		ctx, err := srtp.CreateContext(p.key, p.salt, p.profile,
			srtp.SRTPReplayProtection(sdesReplayWindow), srtp.SRTCPReplayProtection(sdesReplayWindow))
		if err != nil {
			return nil, fmt.Errorf("media: SRTP receive context: %w", err)
		}
		rx[i].ctx = ctx
	}
	return rx, nil
}

// decrypt authenticates and decrypts one packet that socket comp received,
// in place; false when it must be dropped. Only comp's reader calls it.
func (rx *sdesRx) decrypt(comp int, pkt []byte, isRTCP bool) ([]byte, bool) {
	r := &rx[comp]
	var out []byte
	var err error
	if isRTCP {
		out, err = r.ctx.DecryptRTCP(pkt[:0], pkt, &r.rtcpHdr)
	} else {
		out, err = r.ctx.DecryptRTP(pkt[:0], pkt, &r.rtpHdr)
	}
	if err != nil {
		return nil, false
	}
	return out, true
}

// send encrypts one plain packet and writes it to dst; false if it was
// not sent.
func (tx *sdesTx) send(sock *udpSock, pkt []byte, isRTCP bool, dst netip.AddrPort) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	var out []byte
	var err error
	if isRTCP {
		out, err = tx.ctx.EncryptRTCP(tx.buf[:0], pkt, &tx.rtcp)
	} else {
		out, err = tx.ctx.EncryptRTP(tx.buf[:0], pkt, &tx.rtp)
	}
	if err != nil {
		// A plain packet pion cannot parse (the readers only classify
		// by the first bytes), or a key worn out after 2^31 SRTCP
		// packets: the caller counts it dropped.
		return false
	}
	if cap(out) > cap(tx.buf) {
		tx.buf = out[:0] // pion grew it for a jumbo packet: keep the bigger one
	}
	return sock.sendTo(out, dst)
}
