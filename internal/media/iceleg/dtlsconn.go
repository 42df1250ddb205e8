package iceleg

import (
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5/deadline"
)

// dtlsRecords is how many DTLS datagrams may wait for the DTLS conn. A
// handshake flight is a handful of datagrams; when the queue is full the
// datagram is dropped and DTLS retransmission recovers, which keeps the
// media path from ever blocking on DTLS.
const dtlsRecords = 16

// dtlsConn is the net.PacketConn pion/dtls runs on. Writes go straight to
// the ICE conn (the selected pair); reads come from whoever reads the ICE
// conn (the handshake pump, then ReadPacket), which hands over the DTLS
// datagrams it finds (RFC 7983 demultiplexing) through feed.
type dtlsConn struct {
	ice    *ice.Conn
	remote net.Addr

	in       chan *[]byte
	free     sync.Pool // *[]byte, to hand records over without garbage
	done     chan struct{}
	once     sync.Once
	deadline *deadline.Deadline // read deadline; pion/dtls uses it to cancel reads
}

func newDTLSConn(c *ice.Conn, remote net.Addr) *dtlsConn {
	d := &dtlsConn{
		ice:      c,
		remote:   remote,
		in:       make(chan *[]byte, dtlsRecords),
		done:     make(chan struct{}),
		deadline: deadline.New(),
	}
	d.free.New = func() any { b := make([]byte, 0, receiveMTU); return &b }
	return d
}

// receiveMTU bounds one datagram, like pion's own buffers.
const receiveMTU = 8192

// feed queues a copy of one DTLS datagram without blocking.
func (d *dtlsConn) feed(b []byte) {
	select {
	case <-d.done:
		return
	default:
	}
	p := d.free.Get().(*[]byte)
	*p = append((*p)[:0], b...)
	select {
	case d.in <- p:
	default: // full: DTLS retransmits
		d.free.Put(p)
	}
}

func (d *dtlsConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-d.in:
		n := copy(b, *p)
		d.free.Put(p)
		return n, d.remote, nil
	case <-d.done:
		return 0, nil, net.ErrClosed
	case <-d.deadline.Done():
		return 0, nil, errTimeout{}
	}
}

func (d *dtlsConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-d.done:
		return 0, net.ErrClosed
	default:
	}
	return d.ice.Write(b)
}

func (d *dtlsConn) Close() error {
	d.once.Do(func() { close(d.done) })
	return nil
}

func (d *dtlsConn) LocalAddr() net.Addr {
	if a := d.ice.LocalAddr(); a != nil {
		return a
	}
	return d.remote
}

func (d *dtlsConn) SetDeadline(t time.Time) error {
	d.deadline.Set(t)
	return nil
}

func (d *dtlsConn) SetReadDeadline(t time.Time) error {
	d.deadline.Set(t)
	return nil
}

// SetWriteDeadline is a no-op: writes go to a UDP socket and do not block.
func (d *dtlsConn) SetWriteDeadline(time.Time) error { return nil }

// errTimeout is the net.Error a read past its deadline returns.
type errTimeout struct{}

func (errTimeout) Error() string   { return "iceleg: dtls read deadline exceeded" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }
