package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procCPU is a process's user + system CPU time so far, from
// /proc/<pid>/stat (utime + stime, all threads, in clock ticks). Kernel
// work done in the process's context counts, including the loopback
// delivery of the packets it sends (softirq run at the end of sendto).
func procCPU(pid int, tick time.Duration) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process CPU: %w", err)
	}
	// comm (field 2) is in parentheses and may hold spaces: fields are
	// counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("process CPU: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process CPU: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("process CPU: /proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * tick, nil
}

// procRSS is a process's resident memory in KiB (VmRSS), 0 if unknown.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// hostCPU is the machine's busy and total CPU time so far, from the first
// line of /proc/stat (busy excludes idle and iowait).
type hostCPU struct{ busy, total uint64 }

func readHostCPU() (hostCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}, fmt.Errorf("host CPU: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return hostCPU{}, fmt.Errorf("host CPU: unexpected /proc/stat line %q", line)
	}
	var h hostCPU
	// user nice system idle iowait irq softirq steal guest guest_nice; the
	// guest columns are already inside user and nice.
	for i, s := range f[1:] {
		if i >= 8 {
			break
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return hostCPU{}, fmt.Errorf("host CPU: %w", err)
		}
		h.total += n
		if i != 3 && i != 4 {
			h.busy += n
		}
	}
	return h, nil
}

// busyPct is the share of all CPUs that was busy between two readings.
func (h hostCPU) busyPct(since hostCPU) float64 {
	if h.total <= since.total {
		return 0
	}
	return 100 * float64(h.busy-since.busy) / float64(h.total-since.total)
}

// busyTime is the busy CPU time of all CPUs between two readings (in
// clock ticks in /proc/stat, see clockTick).
func (h hostCPU) busyTime(since hostCPU, tick time.Duration) time.Duration {
	if h.busy <= since.busy {
		return 0
	}
	return time.Duration(h.busy-since.busy) * tick
}

// clockTick is the unit of /proc's CPU times (sysconf(_SC_CLK_TCK)), read
// from the auxiliary vector (AT_CLKTCK) since package syscall has no
// sysconf; 100 Hz, Linux's value everywhere, if that fails.
func clockTick() time.Duration {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err == nil {
		for ; len(b) >= 16; b = b[16:] {
			if binary.NativeEndian.Uint64(b) == atClkTck {
				if hz := binary.NativeEndian.Uint64(b[8:]); hz > 0 {
					return time.Second / time.Duration(hz)
				}
			}
		}
	}
	return 10 * time.Millisecond
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard one: 1,000 calls
// take two sockets each here and four in each relay. Setting it explicitly
// (rather than relying on the Go runtime's own raise) makes children such
// as rtpengine inherit it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return l.Cur, nil
}
