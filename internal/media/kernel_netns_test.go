//go:build linux

package media

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Port range of the relay in TestKernelForwardsBetweenInterfaces.
const (
	netnsPortMin = 28600
	netnsPortMax = 28699
)

// vethNets is two network namespaces, each joined to the root namespace
// by a veth pair: the relay (in the root namespace) reaches the phone in
// a over 10.201.1.0/24 and the client in b over 10.201.2.0/24, through
// real (virtual) Ethernet rather than loopback.
type vethNets struct {
	a, b string // namespace names
}

var (
	vethRootA = netip.MustParseAddr("10.201.1.1")
	vethNsA   = netip.MustParseAddr("10.201.1.2")
	vethRootB = netip.MustParseAddr("10.201.2.1")
	vethNsB   = netip.MustParseAddr("10.201.2.2")
)

// ipCmd runs ip(8) with args.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newVethNets builds the namespaces and links, removed at the end of the
// test. The names carry the PID, so that concurrent runs of the package
// (or anything else on the host) cannot collide with them.
func newVethNets(t *testing.T) *vethNets {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the test needs ip(8) (iproute2): %v", err)
	}
	pid := os.Getpid()
	v := &vethNets{a: fmt.Sprintf("fargo-a-%d", pid), b: fmt.Sprintf("fargo-b-%d", pid)}
	// Interface names (at most 15 bytes): fgr* in the root namespace, fgn*
	// in the others.
	rootA, nsA := fmt.Sprintf("fgra%d", pid), fmt.Sprintf("fgna%d", pid)
	rootB, nsB := fmt.Sprintf("fgrb%d", pid), fmt.Sprintf("fgnb%d", pid)
	cleanup := func() {
		// Deleting a namespace deletes its veth ends, and with them
		// their peers; the root ends are deleted too in case a run died
		// between creating a pair and moving its end.
		for _, ns := range []string{v.a, v.b} {
			_ = ipCmd("netns", "delete", ns)
		}
		for _, ifname := range []string{rootA, rootB, nsA, nsB} {
			_ = ipCmd("link", "delete", ifname)
		}
	}
	cleanup() // leftovers of a crashed run with this PID
	t.Cleanup(cleanup)
	steps := [][]string{
		{"netns", "add", v.a},
		{"netns", "add", v.b},
		{"link", "add", rootA, "type", "veth", "peer", "name", nsA, "netns", v.a},
		{"link", "add", rootB, "type", "veth", "peer", "name", nsB, "netns", v.b},
		{"addr", "add", vethRootA.String() + "/24", "dev", rootA},
		{"addr", "add", vethRootB.String() + "/24", "dev", rootB},
		{"link", "set", rootA, "up"},
		{"link", "set", rootB, "up"},
		{"-n", v.a, "addr", "add", vethNsA.String() + "/24", "dev", nsA},
		{"-n", v.b, "addr", "add", vethNsB.String() + "/24", "dev", nsB},
		{"-n", v.a, "link", "set", "lo", "up"},
		{"-n", v.b, "link", "set", "lo", "up"},
		{"-n", v.a, "link", "set", nsA, "up"},
		{"-n", v.b, "link", "set", nsB, "up"},
	}
	for _, args := range steps {
		if err := ipCmd(args...); err != nil {
			t.Fatalf("setting up the network namespaces: %v", err)
		}
	}
	return v
}

// listenIn opens a UDP socket on addr inside namespace ns; the socket
// stays there while the test process uses it from the root namespace.
func listenIn(t *testing.T, ns string, addr netip.AddrPort) *endpoint {
	t.Helper()
	type result struct {
		c   *net.UDPConn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := listenInLocked(ns, addr)
		if restored {
			runtime.UnlockOSThread()
		} // else the thread stays locked and Go discards it with the goroutine
		done <- result{c, err}
	}()
	res := <-done
	if res.err != nil {
		t.Fatalf("listening on %v in namespace %s: %v", addr, ns, res.err)
	}
	t.Cleanup(func() { _ = res.c.Close() })
	return &endpoint{t: t, conn: res.c, buf: make([]byte, 2048)}
}

// listenInLocked runs on a locked thread; restored tells whether the
// thread is back in its namespace.
func listenInLocked(ns string, addr netip.AddrPort) (c *net.UDPConn, restored bool, err error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, err
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		return nil, true, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("setns: %w", err)
	}
	c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if rerr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); rerr != nil {
		if c != nil {
			_ = c.Close()
		}
		return nil, false, fmt.Errorf("setns back: %w", rerr)
	}
	return c, true, err
}

// TestKernelForwardsBetweenInterfaces runs a call through the kernel fast
// path's redirect: each peer's packets arrive on one veth and leave,
// rewritten, out of the other. The receivers are ordinary UDP sockets,
// which the stack would not hand a packet with a bad IPv4 header (or UDP)
// checksum, wrong addresses or ports: arriving intact from the relay's
// address proves the rewrite on the wire.
func TestKernelForwardsBetweenInterfaces(t *testing.T) {
	needKernelPath(t)
	// The interfaces exist before the relay: the program attaches to
	// those up at NewRelay.
	v := newVethNets(t)
	cfg := Config{
		BindAddr:    netip.IPv4Unspecified(),
		SIPAddr:     vethRootA,
		XMPPAddr:    vethRootB,
		PortMin:     netnsPortMin,
		PortMax:     netnsPortMax,
		Kernel:      KernelOn,
		LearnWindow: 100 * time.Millisecond,
	}
	r, _ := newTestRelay(t, cfg)
	s := newTestSession(t, r)
	// Fresh namespaces: fixed ports are free there.
	phoneEP := listenIn(t, v.a, netip.AddrPortFrom(vethNsA, 5004))
	clientEP := listenIn(t, v.b, netip.AddrPortFrom(vethNsB, 5006))
	c := startKernelCall(t, r, s, &phone{rtp: phoneEP}, &phone{rtp: clientEP})
	raw := c.raw
	if got := s.SIP().Local().Addr(); got != vethRootA {
		t.Fatalf("SIP leg at %v, want %v", got, vethRootA)
	}
	if got := raw.Local().Addr(); got != vethRootB {
		t.Fatalf("XMPP leg at %v, want %v", got, vethRootB)
	}

	c.settle(t)
	st0 := r.Stats()
	if st0.KernelSessions != 1 {
		t.Fatalf("KernelSessions = %d, want 1", st0.KernelSessions)
	}
	for range 20 {
		c.exchange(t) // intact, from the leg's address, both ways
	}
	st := r.Stats()
	if got := st.KernelPackets - st0.KernelPackets; got != 40 {
		t.Fatalf("kernel forwarded %d packets of 40: %+v", got, st)
	}
	if st.Lost != 0 {
		t.Fatalf("lost %d", st.Lost)
	}

	s.Close()
	if st := r.Stats(); st.KernelSessions != 0 {
		t.Fatalf("KernelSessions = %d after the call ended", st.KernelSessions)
	}
	phoneEP.send(c.sipLeg.Local(), rtpPacket(0, false, 999, 0x1111))
	clientEP.expectNothing(200 * time.Millisecond)
}
