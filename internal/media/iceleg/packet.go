package iceleg

import (
	"errors"
	"fmt"
	"io"
)

// ReadPacket blocks until one RTP or RTCP packet arrives, decrypts it into
// buf and returns its length and whether it is RTCP. buf should hold a
// full datagram (1500 bytes); a longer datagram is dropped. Packets that
// fail SRTP authentication or the replay check are dropped (Dropped).
//
// It returns ErrHandshake (wrapping the cause) if ICE or DTLS failed or
// timed out, ErrClosed after Close. Before SetRemote it simply waits.
// Only one goroutine may call it at a time.
func (l *Leg) ReadPacket(buf []byte) (n int, isRTCP bool, err error) {
	if !l.isReady.Load() {
		if err := l.waitReady(); err != nil {
			return 0, false, err
		}
	}
	for len(l.early) > 0 {
		p := l.early[0]
		l.early[0] = nil
		l.early = l.early[1:]
		if len(p) > len(buf) {
			l.dropped.Add(1)
			continue
		}
		if n, isRTCP, ok := l.decrypt(buf[:copy(buf, p)]); ok {
			return n, isRTCP, nil
		}
	}
	for {
		m, err := l.iceConn.Read(buf)
		if err != nil {
			select {
			case <-l.closed:
				return 0, false, ErrClosed
			default:
			}
			if errors.Is(err, io.ErrShortBuffer) {
				l.dropped.Add(1)
				continue
			}
			return 0, false, fmt.Errorf("iceleg: read: %w", err)
		}
		if n, isRTCP, ok := l.decrypt(buf[:m]); ok {
			return n, isRTCP, nil
		}
	}
}

// decrypt handles one datagram read from the ICE conn, in place. ok is
// false when there is nothing for the caller: a DTLS record (handed to the
// DTLS conn) or a packet dropped.
func (l *Leg) decrypt(b []byte) (n int, isRTCP, ok bool) {
	switch classify(b) {
	case kindRTP:
		out, err := l.rx.DecryptRTP(b[:0], b, &l.rtpHdr)
		if err != nil {
			l.dropped.Add(1)
			return 0, false, false
		}
		return len(out), false, true
	case kindRTCP:
		out, err := l.rx.DecryptRTCP(b[:0], b, &l.rtcpHdr)
		if err != nil {
			l.dropped.Add(1)
			return 0, false, false
		}
		return len(out), true, true
	case kindDTLS:
		// After the handshake: a retransmitted flight (our last one was
		// lost) or an alert such as close_notify.
		l.din.feed(b)
	default:
		// STUN never gets here (pion handles it); anything else is junk.
	}
	return 0, false, false
}

// waitReady blocks until the leg is ready, failed or closed.
func (l *Leg) waitReady() error {
	select {
	case <-l.closed:
		return ErrClosed
	default:
	}
	select {
	case <-l.ready:
		return nil
	case <-l.failed:
		return l.failErr
	case <-l.closed:
		return ErrClosed
	}
}

// notReady is what the write methods return before the leg is ready:
// nil while the handshake runs (the packet is dropped), the reason once
// it cannot become ready any more.
func (l *Leg) notReady() error {
	select {
	case <-l.closed:
		return ErrClosed
	case <-l.failed:
		return l.failErr
	default:
		return nil
	}
}

// WriteRTP encrypts one plain RTP packet and sends it on the selected
// pair. Before Ready it drops the packet and returns nil.
func (l *Leg) WriteRTP(pkt []byte) error {
	if !l.isReady.Load() {
		return l.notReady()
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	out, err := l.tx.EncryptRTP(l.wbuf[:0], pkt, &l.wRTPHdr)
	if err != nil {
		return fmt.Errorf("iceleg: encrypt RTP: %w", err)
	}
	return l.send(out)
}

// WriteRTCP encrypts one plain RTCP packet (compound or not) and sends it
// on the same pair (rtcp-mux). Before Ready it drops it and returns nil.
func (l *Leg) WriteRTCP(pkt []byte) error {
	if !l.isReady.Load() {
		return l.notReady()
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	out, err := l.tx.EncryptRTCP(l.wbuf[:0], pkt, &l.wRTCP)
	if err != nil {
		return fmt.Errorf("iceleg: encrypt RTCP: %w", err)
	}
	return l.send(out)
}

// send writes one SRTP/SRTCP datagram; l.wmu is held.
func (l *Leg) send(out []byte) error {
	if cap(out) > cap(l.wbuf) {
		l.wbuf = out[:0] // pion grew it for a jumbo packet: keep the bigger one
	}
	if _, err := l.iceConn.Write(out); err != nil {
		select {
		case <-l.closed:
			return ErrClosed
		default:
		}
		return fmt.Errorf("iceleg: send: %w", err)
	}
	return nil
}
