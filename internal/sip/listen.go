package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// udpReadBuffer is the SIP socket's receive buffer. The ~208 KiB default
// holds ~150 SIP messages: at hundreds of calls per second (each ~7
// messages) a stall of a few hundred ms on a busy host overflows it, and
// every datagram dropped there costs its transaction a retransmission,
// 0.5 s or more of setup time (UDP receive-buffer overflows were counted
// on the benchmark machine, docs/performance.md).
const udpReadBuffer = 4 << 20

// listeners is the UDP socket and TCP listener of a UA, on one port.
type listeners struct {
	addr     netip.AddrPort
	udpLocal *net.UDPAddr // as sipgo keys the socket in its connection pool
	udp      *signalPacketConn
	tcp      *signalListener
}

// listen binds UDP and TCP on addr. With port 0 it picks a port that is free
// for both, so one Contact port serves either transport.
func listen(ctx context.Context, addr string) (*listeners, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	const attempts = 20
	for range attempts {
		ln, err := listenOnce(ctx, ap)
		if err == nil || ap.Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return ln, err
		}
	}
	return nil, fmt.Errorf("no port free for both UDP and TCP after %d attempts", attempts)
}

func listenOnce(ctx context.Context, ap netip.AddrPort) (*listeners, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", ap.String())
	if err != nil {
		return nil, err
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		// The kernel caps it at net.core.rmem_max; an error leaves the default.
		_ = uc.SetReadBuffer(udpReadBuffer)
	}
	local := pc.LocalAddr().(*net.UDPAddr)
	bound := netip.AddrPortFrom(ap.Addr(), uint16(local.Port)) // the configured form, not v4-in-v6
	tl, err := lc.Listen(ctx, "tcp", bound.String())
	if err != nil {
		pc.Close()
		return nil, err
	}
	return &listeners{
		addr:     bound,
		udpLocal: local,
		udp:      &signalPacketConn{PacketConn: pc, first: make(chan struct{})},
		tcp:      &signalListener{Listener: tl, first: make(chan struct{})},
	}, nil
}

// waitServing waits until sipgo reads from both sockets and reports whether
// it did before ctx ended. sipgo puts the UDP socket into its connection
// pool (where requests find it to send from it) before its first read, and
// records the listen port before the first Accept, so this is the moment
// requests can really use them (emiago/sipgo#367: its own ready signal
// comes earlier).
func (l *listeners) waitServing(ctx context.Context) bool {
	for _, ch := range []chan struct{}{l.udp.first, l.tcp.first} {
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (l *listeners) close() {
	l.udp.Close()
	l.tcp.Close()
}

// signalPacketConn closes first when the first ReadFrom starts.
type signalPacketConn struct {
	net.PacketConn
	once  sync.Once
	first chan struct{}
}

func (c *signalPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() { close(c.first) })
	return c.PacketConn.ReadFrom(b)
}

// signalListener closes first when the first Accept starts.
type signalListener struct {
	net.Listener
	once  sync.Once
	first chan struct{}
}

func (l *signalListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.first) })
	return l.Listener.Accept()
}
