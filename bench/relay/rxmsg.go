package main

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// rxMsg is a receiver's recvmsg(2) state: one packet buffer and room for
// the kernel's receive timestamp (SO_TIMESTAMPNS). It is built once per
// receiver and reused, because syscall.Recvmsg allocates the source
// address on every call.
type rxMsg struct {
	hdr syscall.Msghdr
	iov syscall.Iovec
	buf [2048]byte
	oob [64]byte
}

func newRxMsg() *rxMsg {
	m := &rxMsg{}
	m.iov.Base = &m.buf[0]
	m.iov.SetLen(len(m.buf))
	m.hdr.Iov = &m.iov
	m.hdr.Iovlen = 1
	m.hdr.Control = &m.oob[0]
	return m
}

// recv reads one datagram without blocking. It returns the payload and
// the kernel's receive time in Unix nanoseconds (0 if the socket gave
// none).
func (m *rxMsg) recv(fd int) ([]byte, int64, error) {
	m.hdr.SetControllen(len(m.oob))
	m.hdr.Flags = 0
	n, _, errno := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), syscall.MSG_DONTWAIT)
	if errno != 0 {
		return nil, 0, errno
	}
	return m.buf[:n], m.stamp(), nil
}

// stamp finds SCM_TIMESTAMPNS in the control data: a struct timespec
// (two native 64-bit words on linux/amd64 and arm64).
func (m *rxMsg) stamp() int64 {
	oob := m.oob[:m.hdr.Controllen]
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= syscall.SizeofCmsghdr+16 {
			d := oob[syscall.SizeofCmsghdr:]
			sec := int64(binary.NativeEndian.Uint64(d))
			nsec := int64(binary.NativeEndian.Uint64(d[8:]))
			return sec*1e9 + nsec
		}
		// Control messages are aligned to 8 bytes.
		oob = oob[min(len(oob), (l+7)&^7):]
	}
	return 0
}

// enableRxTimestamps asks the kernel to stamp each datagram when it
// arrives on the socket (SO_TIMESTAMPNS, CLOCK_REALTIME): latency then
// ends when the relay's packet reached the endpoint, not when a receiver
// goroutine got around to reading it, so the receivers can batch their
// reads without blurring the measurement.
func enableRxTimestamps(fd int) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
}
