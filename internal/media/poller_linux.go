package media

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// maxPollers bounds the poller goroutines; a few keep every core relaying.
const maxPollers = 4

// pollers serve the RTP legs' sockets: a goroutine per core (up to
// maxPollers), each with its own level-triggered epoll set. A poller
// takes every ready socket from its set without blocking (epoll_wait with
// a zero timeout), serves one packet from each and asks again; only when
// the set is empty does it park, in Go's netpoller, on the set's own
// descriptor (an epoll descriptor is readable while its set has ready
// sockets). Under load a packet then costs its recvfrom and its sendto
// and a share of one epoll_wait; a thread blocked in epoll_wait would
// instead have the runtime's monitor retake its P every 20 µs.
//
// A session's sockets share one poller, so the two directions of a call
// stay on one thread's caches.
type pollers struct {
	log   *slog.Logger
	all   []*poller
	table []atomic.Pointer[udpSock] // by slot: port - PortMin
	gen   atomic.Uint32
	wg    sync.WaitGroup
	// closing tells the pollers' expected end from a failure.
	closing atomic.Bool
}

type poller struct {
	ps   *pollers
	epfd int
	file *os.File // epfd in the netpoller; closing it ends the poller
	rc   syscall.RawConn
}

func newPollers(portMin, portMax uint16, log *slog.Logger) (*pollers, error) {
	ps := &pollers{log: log, table: make([]atomic.Pointer[udpSock], int(portMax)-int(portMin)+1)}
	n := min(runtime.GOMAXPROCS(0), maxPollers)
	for range n {
		pl, err := newPoller(ps)
		if err != nil {
			ps.close()
			return nil, err
		}
		ps.all = append(ps.all, pl)
	}
	for _, pl := range ps.all {
		ps.wg.Go(pl.run)
	}
	return ps, nil
}

func newPoller(ps *pollers) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	// Non-blocking, so that os.NewFile puts it in the netpoller.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "media-epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	return &poller{ps: ps, epfd: epfd, file: file, rc: rc}, nil
}

// forSession is the poller of every socket of session id.
func (ps *pollers) forSession(id uint64) *poller { return ps.all[id%uint64(len(ps.all))] }

// add starts serving s, whose slot, leg and comp are set.
func (pl *poller) add(s *udpSock) error {
	s.gen = pl.ps.gen.Add(1)
	s.pl = pl
	pl.ps.table[s.slot].Store(s)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: s.slot, Pad: int32(s.gen)}
	if err := syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		pl.ps.table[s.slot].CompareAndSwap(s, nil)
		return fmt.Errorf("media: epoll add port %d: %w", s.port, err)
	}
	return nil
}

// remove stops serving s; an event for it already returned by a wait is
// dropped by the generation check or, if s is being served, by its guard.
func (pl *poller) remove(s *udpSock) {
	_ = syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	pl.ps.table[s.slot].CompareAndSwap(s, nil)
}

func (pl *poller) run() {
	events := make([]syscall.EpollEvent, 128)
	buf := make([]byte, readBuf)
	err := pl.rc.Read(func(uintptr) bool {
		for {
			n, errno := epollWaitNow(pl.epfd, events)
			switch {
			case errno == syscall.EINTR:
				continue
			case errno != 0:
				pl.ps.log.Error("media poller stopped: epoll_wait failed", "err", errno)
				return true
			case n == 0:
				return false // park until the set has a ready socket
			}
			for i := range events[:n] {
				pl.serve(&events[i], buf)
			}
		}
	})
	if err != nil && !pl.ps.closing.Load() {
		pl.ps.log.Error("media poller stopped", "err", err)
	}
}

func (pl *poller) serve(ev *syscall.EpollEvent, buf []byte) {
	s := pl.ps.table[ev.Fd].Load()
	if s == nil || s.gen != uint32(ev.Pad) {
		return
	}
	s.serve(buf)
}

// epollWaitNow returns the ready sockets without blocking. A raw system
// call: it cannot block, so the scheduler need not know.
func epollWaitNow(epfd int, events []syscall.EpollEvent) (int, syscall.Errno) {
	// epoll_pwait with no signal mask: arm64 has no epoll_wait.
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(n), errno
}

// close ends the pollers and closes their epoll sets; the sockets are
// their legs' to close.
func (ps *pollers) close() {
	ps.closing.Store(true)
	for _, pl := range ps.all {
		_ = pl.file.Close()
	}
	ps.wg.Wait()
}
