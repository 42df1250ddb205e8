//go:build !linux

package media

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"
)

// The kernel fast path is Linux's (kernel_linux.go); elsewhere NewRelay
// fails anyway (udpsock_other.go), and these keep the package building.

var errNoKernelPath = errors.New("media: the kernel fast path needs Linux")

type kernelPath struct{}

type kernelKey [20]byte

type kernelEntry struct {
	packets, bytes uint64
	lastNs, lost   int64
}

func newKernelPath(int, time.Time, *slog.Logger) (*kernelPath, error) {
	return nil, errNoKernelPath
}

func keyOf(netip.AddrPort, uint16) kernelKey                    { return kernelKey{} }
func (*kernelPath) install(_, _ kernelKey, _ *[2]ptPairs) error { return errNoKernelPath }
func (*kernelPath) read(kernelKey) (kernelEntry, bool)          { return kernelEntry{}, false }
func (*kernelPath) take(kernelKey) (kernelEntry, bool)          { return kernelEntry{}, false }
func (*kernelPath) relayTime(mono int64) int64                  { return mono }
func (*kernelPath) close()                                      {}
