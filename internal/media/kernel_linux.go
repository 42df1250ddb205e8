package media

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// kernelPath is the relay's in-kernel fast path: a hash map of the peers
// whose packets the kernel forwards, and a tc program (kernelProgram)
// attached at the ingress of every Ethernet-like and loopback interface.
// A relayed packet then costs a map lookup and a header rewrite in the
// receive path, where the relay's own recvfrom and sendto cost 5–6 µs
// (docs/performance.md). The links are tied to this process's descriptors:
// if it dies, the kernel detaches the program and frees the map, and no
// packet is steered anywhere by a relay that is gone.
type kernelPath struct {
	legs  *ebpf.Map
	prog  *ebpf.Program
	links []link.Link
	// monoAtEpoch is CLOCK_MONOTONIC (the program's clock) at the relay's
	// epoch, to turn the entries' times into Relay.now() times.
	monoAtEpoch int64
}

// kernelEntry is what an entry holds, decoded.
type kernelEntry struct {
	packets, bytes uint64
	lastNs         int64 // CLOCK_MONOTONIC; 0: never
	lost           int64
}

// newKernelPath loads the program and attaches it; entries is the map's
// capacity (4 per relayed call: RTP and RTCP, one per side).
func newKernelPath(entries int, epoch time.Time, log *slog.Logger) (*kernelPath, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("media: kernel fast path: clock: %w", err)
	}
	k := &kernelPath{monoAtEpoch: ts.Nano() - int64(time.Since(epoch))}
	legs, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "fargo_legs", Type: ebpf.Hash,
		KeySize: kernelKeySize, ValueSize: kernelValSz, MaxEntries: uint32(entries),
	})
	if err != nil {
		return nil, fmt.Errorf("media: kernel fast path: map: %w", err)
	}
	k.legs = legs
	ifaces, lo, err := kernelInterfaces()
	if err != nil {
		k.close()
		return nil, err
	}
	k.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "fargo_relay", Type: ebpf.SchedCLS, License: "MIT",
		Instructions: kernelProgram(legs.FD(), int32(lo)),
	})
	if err != nil {
		k.close()
		return nil, fmt.Errorf("media: kernel fast path: load program: %w", err)
	}
	// An interface that refuses the program is served by the sockets
	// alone: its packets are never matched, and no packet is sent to it.
	var names []string
	var firstErr error
	for _, ifi := range ifaces {
		l, err := link.AttachTCX(link.TCXOptions{Interface: ifi.Index, Program: k.prog, Attach: ebpf.AttachTCXIngress})
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("media: kernel fast path: attach to %s (tcx, Linux 6.6 or later): %w", ifi.Name, err))
			log.Warn("media relay: kernel fast path not attached to an interface; its media is relayed in the process", "interface", ifi.Name, "err", err)
			continue
		}
		k.links = append(k.links, l)
		names = append(names, ifi.Name)
	}
	if len(k.links) == 0 {
		k.close()
		return nil, firstErr
	}
	log.Info("media relay: kernel fast path on", "interfaces", strings.Join(names, ","), "entries", entries)
	return k, nil
}

// kernelInterfaces are the interfaces the program serves: up, and with
// Ethernet framing (a 6-byte hardware address) or loopback. Layer-3
// devices (WireGuard, tun) have no Ethernet header to parse; their
// packets stay with the relay's sockets.
func kernelInterfaces() ([]net.Interface, int, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, 0, fmt.Errorf("media: kernel fast path: interfaces: %w", err)
	}
	var out []net.Interface
	lo := 0
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		if ifi.Flags&net.FlagLoopback != 0 {
			lo = ifi.Index
		} else if len(ifi.HardwareAddr) != 6 || ifi.Flags&net.FlagPointToPoint != 0 {
			continue
		}
		out = append(out, ifi)
	}
	if len(out) == 0 {
		return nil, 0, errors.New("media: kernel fast path: no Ethernet or loopback interface is up")
	}
	return out, lo, nil
}

type kernelKey [kernelKeySize]byte

// keyOf is the key of the packets peer sends to our port local.
func keyOf(peer netip.AddrPort, local uint16) kernelKey {
	var k kernelKey
	a := peer.Addr().Unmap().As16() // IPv4 as ::ffff:a.b.c.d
	copy(k[keyAddr:], a[:])
	binary.BigEndian.PutUint16(k[keyPeerPort:], peer.Port())
	binary.BigEndian.PutUint16(k[keyLocalPort:], local)
	return k
}

// install adds the two entries of one socket pair: packets from a's peer
// go to b's, and back. For an RTP socket pair, rtp holds the payload
// types to renumber in each direction (a's packets, b's packets), and the
// kernel tracks loss; nil for RTCP. An entry starts knowing nothing of
// where its peer is: until both peers have sent a packet through it, the
// kernel hands theirs to the sockets.
func (k *kernelPath) install(a, b kernelKey, rtp *[2]ptPairs) error {
	var aPT, bPT *ptPairs
	if rtp != nil {
		aPT, bPT = &rtp[0], &rtp[1]
	}
	if err := k.legs.Update(a[:], newKernelValue(b, aPT), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("media: kernel fast path: add entry: %w", err)
	}
	if err := k.legs.Update(b[:], newKernelValue(a, bPT), ebpf.UpdateAny); err != nil {
		_ = k.legs.Delete(a[:])
		return fmt.Errorf("media: kernel fast path: add entry: %w", err)
	}
	return nil
}

func newKernelValue(out kernelKey, pt *ptPairs) []byte {
	v := make([]byte, kernelValSz)
	copy(v[valOutKey:], out[:])
	for i := range kernelPTPairs {
		v[valPTMap+2*i] = 0xff
	}
	if pt != nil {
		v[valFlags] = kflagRTP
		copy(v[valPTMap:], pt[:])
	}
	return v
}

// read returns an entry's counters; false if it is gone.
func (k *kernelPath) read(key kernelKey) (kernelEntry, bool) {
	var v [kernelValSz]byte
	if err := k.legs.Lookup(key[:], v[:]); err != nil {
		return kernelEntry{}, false
	}
	return decodeKernelValue(&v), true
}

// take deletes an entry and returns its final counters in one step, so
// that no packet forwarded in between goes uncounted; from then on its
// packets reach the sockets.
func (k *kernelPath) take(key kernelKey) (kernelEntry, bool) {
	var v [kernelValSz]byte
	if err := k.legs.LookupAndDelete(key[:], v[:]); err != nil {
		_ = k.legs.Delete(key[:]) // kernels before 5.14 have no lookup-and-delete for hashes
		return kernelEntry{}, false
	}
	return decodeKernelValue(&v), true
}

func decodeKernelValue(v *[kernelValSz]byte) kernelEntry {
	ne := binary.NativeEndian
	return kernelEntry{
		packets: ne.Uint64(v[valPackets:]),
		bytes:   ne.Uint64(v[valBytes:]),
		lastNs:  int64(ne.Uint64(v[valLastNs:])),
		lost:    int64(ne.Uint64(v[valLost:])),
	}
}

// relayTime turns an entry's time into Relay.now() time.
func (k *kernelPath) relayTime(mono int64) int64 { return mono - k.monoAtEpoch }

// close detaches the program and frees the map.
func (k *kernelPath) close() {
	for _, l := range k.links {
		_ = l.Close()
	}
	if k.prog != nil {
		_ = k.prog.Close()
	}
	if k.legs != nil {
		_ = k.legs.Close()
	}
}
