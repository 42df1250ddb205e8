package media

// maxGap is the largest forward jump in sequence numbers counted as loss.
// A bigger jump is a new stream (the sender restarted, or switched source
// without changing SSRC, as some PBXs do on re-INVITE), not 3000 packets
// lost: at 50 packets/s that would be a minute of silence.
const maxGap = 3000

// lossTracker counts RTP packets missing from one incoming stream by
// sequence number (RFC 3550 §A.1, simplified). It remembers which of the
// last 64 sequence numbers arrived, so a packet that arrives late, after
// its gap was counted, takes its loss back, and a duplicate counts
// nothing. Only the one reader of the stream (the socket's poller, or the
// ICE leg's reader goroutine) touches it.
type lossTracker struct {
	started bool
	ssrc    uint32
	highest uint16
	seen    uint64 // bit i: highest-i arrived
	lost    int64  // this stream's net count, for the session's log line
}

// observe takes an RTP packet (at least 12 bytes) and returns the change to
// the lost count: positive for a gap, -1 for a late arrival that filled
// one, 0 otherwise.
func (l *lossTracker) observe(pkt []byte) int64 {
	seq := uint16(pkt[2])<<8 | uint16(pkt[3])
	ssrc := uint32(pkt[8])<<24 | uint32(pkt[9])<<16 | uint32(pkt[10])<<8 | uint32(pkt[11])
	if !l.started || ssrc != l.ssrc {
		// A new source starts from whatever number it picked.
		l.started, l.ssrc, l.highest, l.seen = true, ssrc, seq, ^uint64(0)
		return 0
	}
	d := seq - l.highest
	switch {
	case d == 0:
		return 0
	case d < 0x8000: // ahead of the highest
		l.highest = seq
		if d > maxGap {
			l.seen = ^uint64(0)
			return 0
		}
		if d >= 64 {
			l.seen = 1
		} else {
			l.seen = l.seen<<d | 1
		}
		l.lost += int64(d - 1)
		return int64(d - 1)
	default: // behind: reordered or duplicated
		back := l.highest - seq
		if back >= 64 || l.seen&(1<<back) != 0 {
			return 0
		}
		l.seen |= 1 << back
		l.lost--
		return -1
	}
}
