package sip

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestListenRaisesUDPReadBuffer: the SIP socket asks for udpReadBuffer,
// which Linux caps at net.core.rmem_max and then doubles.
func TestListenRaisesUDPReadBuffer(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.close()
	sc, err := ln.udp.PacketConn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var serr error
	if err := sc.Control(func(fd uintptr) {
		got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if want := 2 * min(udpReadBuffer, rmemMax); got != want {
		t.Fatalf("SO_RCVBUF %d, want %d (rmem_max %d)", got, want, rmemMax)
	}
}
