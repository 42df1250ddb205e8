//go:build !linux

package media

import (
	"errors"
	"log/slog"
	"net/netip"
)

// The relay's RTP sockets are served by epoll (udpsock_linux.go); other
// systems build the package but cannot relay.
var errNotLinux = errors.New("media: the relay needs Linux (epoll)")

type udpSock struct {
	port uint16
	leg  *RTPLeg
	comp int
	slot int32
}

func bindUDP(netip.Addr, uint16) (*udpSock, error)  { return nil, errNotLinux }
func (*udpSock) sendTo([]byte, netip.AddrPort) bool { return false }
func (*udpSock) close()                             {}

type pollers struct{}

type poller struct{}

func newPollers(uint16, uint16, *slog.Logger) (*pollers, error) { return nil, errNotLinux }
func (*pollers) forSession(uint64) *poller                      { return nil }
func (*pollers) close()                                         {}
func (*poller) add(*udpSock) error                              { return errNotLinux }
