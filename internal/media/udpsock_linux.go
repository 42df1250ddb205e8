package media

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// udpSock is an RTP leg's socket: a raw non-blocking descriptor that the
// relay's pollers serve, outside Go's netpoller. A relayed packet then
// costs one recvfrom and one sendto; the netpoller would add a read that
// returns EAGAIN and a goroutine wake-up per packet, a third of the
// relay's CPU (docs/performance.md, "Where the relay's CPU goes").
type udpSock struct {
	// use is held while fd is in use and closed before fd is: a
	// descriptor number is reused by the kernel at once, so a send racing
	// the close must never reach whatever gets the number next.
	use  useGuard
	fd   int
	v6   bool
	port uint16

	// Set before the socket is registered with a poller.
	leg  *RTPLeg
	comp int
	slot int32  // index in the pollers' table: port - PortMin
	gen  uint32 // tells this socket from a later one on the same slot
	pl   *poller
}

// bindUDP binds a socket on bind:port, dual-stack for "::" (like Go's
// "udp" network), IPv6-only for any other IPv6 address (like "udp6").
func bindUDP(bind netip.Addr, port uint16) (*udpSock, error) {
	family := syscall.AF_INET
	if bind.Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: UDP socket: %w", err)
	}
	s := &udpSock{fd: fd, v6: family == syscall.AF_INET6, port: port}
	s.use.idle = make(chan struct{})
	if err := s.bind(bind); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("media: bind UDP port %d: %w", port, err)
	}
	return s, nil
}

func (s *udpSock) bind(a netip.Addr) error {
	if !s.v6 {
		return syscall.Bind(s.fd, &syscall.SockaddrInet4{Port: int(s.port), Addr: a.As4()})
	}
	v6only := 1
	if a.IsUnspecified() {
		v6only = 0
	}
	if err := syscall.SetsockoptInt(s.fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, v6only); err != nil {
		return err
	}
	return syscall.Bind(s.fd, &syscall.SockaddrInet6{Port: int(s.port), Addr: a.As16()})
}

// recvFrom reads one packet without blocking; EAGAIN when there is none.
// It calls the kernel directly: syscall.Recvfrom allocates the source
// address on every packet.
func (s *udpSock) recvFrom(buf []byte) (int, netip.AddrPort, error) {
	var rsa syscall.RawSockaddrInet6 // large enough for either family
	alen := uint32(unsafe.Sizeof(rsa))
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(s.fd),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&alen)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	return int(n), rawToAddrPort(&rsa), nil
}

func rawToAddrPort(rsa *syscall.RawSockaddrInet6) netip.AddrPort {
	// Port is in network byte order in both layouts, at the same offset.
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&rsa.Port))[:])
	switch rsa.Family {
	case syscall.AF_INET:
		in4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), port)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(rsa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// sendTo writes one packet to dst without blocking; false if it was not
// sent (closed socket, full send buffer, unreachable family).
func (s *udpSock) sendTo(pkt []byte, dst netip.AddrPort) bool {
	if len(pkt) == 0 {
		return false
	}
	if !s.use.acquire() {
		return false
	}
	defer s.use.release()
	var errno syscall.Errno
	if s.v6 {
		rsa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: dst.Addr().As16()}
		putPort(&rsa.Port, dst.Port())
		_, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd),
			uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)), 0,
			uintptr(unsafe.Pointer(&rsa)), unsafe.Sizeof(rsa))
	} else {
		a := dst.Addr().Unmap()
		if !a.Is4() {
			return false
		}
		rsa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: a.As4()}
		putPort(&rsa.Port, dst.Port())
		_, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd),
			uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)), 0,
			uintptr(unsafe.Pointer(&rsa)), unsafe.Sizeof(rsa))
	}
	return errno == 0
}

func putPort(p *uint16, port uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(p))[:], port)
}

// serve reads the one packet the poller saw ready and hands it to the
// leg. Level-triggered readiness brings the socket back if more wait, so
// it never reads until EAGAIN.
func (s *udpSock) serve(buf []byte) {
	if !s.use.acquire() {
		return
	}
	defer s.use.release()
	n, src, err := s.recvFrom(buf)
	if err != nil {
		// EAGAIN: another wake-up took it. Nothing else is expected from
		// an unconnected UDP socket; the poller moves on either way.
		if err != syscall.EAGAIN {
			s.leg.s.log.Debug("media read error", "side", s.leg.side, "port", s.port, "err", err)
		}
		return
	}
	s.leg.handle(s.comp, buf[:n], src)
}

// close stops serving the socket and closes it once no packet is being
// read from or written to it; after close returns, the leg's reader state
// is final.
func (s *udpSock) close() {
	if s.pl != nil {
		s.pl.remove(s)
	}
	if s.use.closeAndWait() {
		_ = syscall.Close(s.fd)
	}
}

// useGuard counts the users of a resource and lets it be closed once
// they are gone. Unlike a sync.RWMutex it may be held recursively: an echo
// session's reader, holding its socket, sends back on that same socket,
// and a pending close must not deadlock it.
type useGuard struct {
	n    atomic.Int64 // users, plus guardClosed once closed
	idle chan struct{}
	once sync.Once
}

const guardClosed = 1 << 62

// acquire is false once the resource is closed.
func (g *useGuard) acquire() bool {
	if g.n.Add(1) >= guardClosed {
		g.release()
		return false
	}
	return true
}

func (g *useGuard) release() {
	if g.n.Add(-1) == guardClosed {
		g.once.Do(func() { close(g.idle) })
	}
}

// closeAndWait refuses new users and waits for the current ones; false if
// it was already closed.
func (g *useGuard) closeAndWait() bool {
	for {
		n := g.n.Load()
		if n >= guardClosed {
			return false
		}
		if g.n.CompareAndSwap(n, n+guardClosed) {
			if n > 0 {
				<-g.idle
			}
			return true
		}
	}
}
