package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// portPool hands out UDP ports of [min, max] bound on one address: an even
// port and the odd one above it for an RTP leg (RFC 3550 §11 puts RTCP on
// RTP's port + 1), one port for an ICE leg (rtcp-mux).
//
// The cursor walks the range round-robin from a random start, so a port
// just released is the last to be handed out again: late packets of the
// previous call (or of the previous process, after a restart) must not
// land in a new one. A port some other process holds is skipped, not
// reserved, so it is retried on the next lap.
type portPool struct {
	bind     netip.Addr
	network  string
	min, max int

	mu     sync.Mutex
	used   []bool // used[p-min]: held by one of our legs
	cursor int    // next port to try
}

func newPortPool(bind netip.Addr, min, max uint16) *portPool {
	p := &portPool{
		bind:    bind,
		network: udpNetwork(bind),
		min:     int(min),
		max:     int(max),
		used:    make([]bool, int(max)-int(min)+1),
	}
	p.cursor = p.min + rand.IntN(len(p.used))
	return p
}

// udpNetwork picks the socket family from the bind address. Go would make
// a dual-stack IPv6 socket for "udp" and 0.0.0.0, which reports IPv4
// sources as ::ffff:a.b.c.d; an explicit family keeps addresses as
// configured. Only "::" asks for dual stack.
func udpNetwork(a netip.Addr) string {
	switch {
	case a.Is4():
		return "udp4"
	case a.IsUnspecified():
		return "udp"
	default:
		return "udp6"
	}
}

// pair binds an even port and the one above it.
func (p *portPool) pair() (rtp, rtcp *udpSock, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.cursor
	for i := 0; i < len(p.used); i++ {
		port := p.min + (start-p.min+i)%len(p.used)
		if port%2 != 0 || port+1 > p.max || p.used[port-p.min] || p.used[port+1-p.min] {
			continue
		}
		a, err := bindUDP(p.bind, uint16(port))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, nil, err
		}
		b, err := bindUDP(p.bind, uint16(port+1))
		if err != nil {
			a.close()
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, nil, err
		}
		p.used[port-p.min], p.used[port+1-p.min] = true, true
		p.advance(port + 2)
		return a, b, nil
	}
	return nil, nil, ErrNoPorts
}

// single binds one port, even or odd, for an ICE leg (pion reads it
// through the netpoller).
func (p *portPool) single() (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.cursor
	for i := 0; i < len(p.used); i++ {
		port := p.min + (start-p.min+i)%len(p.used)
		if p.used[port-p.min] {
			continue
		}
		c, err := p.listen(port)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, err
		}
		p.used[port-p.min] = true
		p.advance(port + 1)
		return c, nil
	}
	return nil, ErrNoPorts
}

func (p *portPool) advance(next int) {
	if next > p.max {
		next = p.min
	}
	p.cursor = next
}

func (p *portPool) listen(port int) (*net.UDPConn, error) {
	c, err := net.ListenUDP(p.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.bind, uint16(port))))
	if err != nil {
		return nil, fmt.Errorf("media: bind UDP port %d: %w", port, err)
	}
	return c, nil
}

// release returns ports whose sockets are closed.
func (p *portPool) release(ports ...uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, port := range ports {
		if int(port) >= p.min && int(port) <= p.max {
			p.used[int(port)-p.min] = false
		}
	}
}

// inUse counts the ports our legs hold (tests, leak checks).
func (p *portPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range p.used {
		if u {
			n++
		}
	}
	return n
}

// localPort is the port a socket of the pool is bound to.
func localPort(c *net.UDPConn) uint16 {
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}
