package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procStat is what we read of one process from /proc/<pid>/stat.
type procStat struct {
	ppid int
	cpu  time.Duration // utime + stime, all threads
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	// comm (field 2) may hold spaces and parentheses: count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("process %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] ppid, utime and stime fields 14 and 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("process %d: short stat", pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("process %d: stat utime %q stime %q", pid, f[11], f[12])
	}
	return procStat{ppid: ppid, cpu: time.Duration(ut+st) * clockTick}, nil
}

// treeCPU is the CPU time of pid and all its live descendants: Kamailio
// works in a dozen forked children, the gateway and Prosody in one process.
// A child that exited is no longer counted, so this is for daemons whose
// process tree is stable while we measure.
func treeCPU(pid int) (time.Duration, error) {
	root, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	total := root.cpu
	children := map[int][]int{}
	stats := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil || p == pid {
			continue
		}
		s, err := readProcStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		stats[p] = s
		children[s.ppid] = append(children[s.ppid], p)
	}
	queue := append([]int(nil), children[pid]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		total += stats[p].cpu
		queue = append(queue, children[p]...)
	}
	return total, nil
}

// procMemKiB reads VmHWM (peak resident set) and VmRSS of pid in KiB.
func procMemKiB(pid int) (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm = kib(v)
		} else if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = kib(v)
		}
	}
	return hwm, rss
}

func kib(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n
}

// hostCPU is the machine's busy and total CPU time so far, from the first
// line of /proc/stat, in ticks (busy excludes idle and iowait).
type hostCPU struct{ busy, total uint64 }

func readHostCPU() hostCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var h hostCPU
	for i, s := range f[1:] {
		if i >= 8 { // guest columns are already inside user and nice
			break
		}
		v, _ := strconv.ParseUint(s, 10, 64)
		h.total += v
		if i != 3 && i != 4 {
			h.busy += v
		}
	}
	return h
}

// busyShare is the share of all CPUs that was busy between a and b.
func busyShare(a, b hostCPU) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}

// watched is a process whose CPU and memory the report shows.
type watched struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// cpuSnapshot reads the CPU time of every watched process tree; a process
// that cannot be read counts 0 (and its name is reported once by the caller).
func cpuSnapshot(ws []watched) map[string]time.Duration {
	m := make(map[string]time.Duration, len(ws))
	for _, w := range ws {
		if w.PID <= 0 {
			continue
		}
		if d, err := treeCPU(w.PID); err == nil {
			m[w.Name] = d
		}
	}
	return m
}
