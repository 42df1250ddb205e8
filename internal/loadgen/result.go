package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Result is everything one run measured; it is written as <name>.json.
type Result struct {
	Name      string          `json:"name"`
	WorkDir   string          `json:"work_dir"` // SIPp's files: statistics, response times, errors
	Started   time.Time       `json:"started"`
	Host      HostInfo        `json:"host"`
	Config    ConfigEcho      `json:"config"`
	Processes []watched       `json:"processes"`
	Provision ProvisionResult `json:"provision"`
	Login     LoginResult     `json:"login"`
	Memory    MemoryResult    `json:"memory"`
	Steps     []StepResult    `json:"steps"`
	SIPpUAS   *sippResult     `json:"sipp_uas,omitempty"`
	// Disconnects counts user streams the server closed during the run.
	Disconnects    int64    `json:"disconnects"`
	GatewayPeakKiB int64    `json:"gateway_peak_rss_kib"` // VmHWM at the end
	Notes          []string `json:"notes,omitempty"`
}

// HostInfo describes the machine.
type HostInfo struct {
	CPUs     int    `json:"cpus"`
	Kernel   string `json:"kernel"`
	CPUModel string `json:"cpu_model"`
	Go       string `json:"go"`
}

// ConfigEcho is the part of Config a reader of the results needs.
type ConfigEcho struct {
	Users         int       `json:"users"`
	LoginRate     float64   `json:"login_rate"`
	Rates         []float64 `json:"rates"`
	IncomingShare float64   `json:"incoming_share"`
	StepSeconds   float64   `json:"step_seconds"`
	HoldSeconds   float64   `json:"hold_seconds"`
	Answer        string    `json:"answer"`
	XMPP          string    `json:"xmpp"`
	// XMPPServer says who the users' XMPP server was: XMPPSimulated when
	// the tool played it on the component connection, else "real".
	XMPPServer string `json:"xmpp_server"`
	Registrar  string `json:"registrar"`
}

// MemoryResult is the gateway's resident memory at the phases' edges.
type MemoryResult struct {
	BaselineKiB int64 `json:"baseline_kib"` // before any user
	OfflineKiB  int64 `json:"offline_kib"`  // users registered, all offline
	OnlineKiB   int64 `json:"online_kib"`   // right after the logins
	IdleKiB     int64 `json:"idle_kib"`     // after IdleWait online without calls
	OnlineUsers int   `json:"online_users"`
	// HeapBaseline and HeapIdle are the gateway's go_memstats_heap_inuse_bytes
	// (from its /metrics) at the same moments: the Go heap without the
	// runtime's slack and the pages it has not returned to the kernel yet.
	HeapBaseline float64 `json:"heap_inuse_baseline_bytes,omitempty"`
	HeapIdle     float64 `json:"heap_inuse_idle_bytes,omitempty"`
	HeapPerUser  float64 `json:"heap_per_online_user_bytes,omitempty"`
	// LiveBaseline and LiveIdle are the live heap after a forced GC at the
	// same moments, LivePerUser their difference per online user: the
	// figure without garbage. Only when the gateway serves [debug] pprof.
	LiveBaseline *LiveHeap `json:"live_heap_baseline,omitempty"`
	LiveIdle     *LiveHeap `json:"live_heap_idle,omitempty"`
	LivePerUser  *LiveHeap `json:"live_heap_per_online_user,omitempty"`
	// PerOnlineUserBytes is (IdleKiB − BaselineKiB) / OnlineUsers: all a
	// user costs the gateway (account, actor, registration loop, store
	// cache), not only being online.
	PerOnlineUserBytes float64 `json:"per_online_user_bytes"`
}

func (m *MemoryResult) finish(idle int64, heap float64, online int) {
	m.IdleKiB, m.HeapIdle, m.OnlineUsers = idle, heap, online
	if online > 0 && m.BaselineKiB > 0 {
		m.PerOnlineUserBytes = float64(idle-m.BaselineKiB) * 1024 / float64(online)
	}
	if online > 0 && m.HeapBaseline > 0 && heap > 0 {
		m.HeapPerUser = (heap - m.HeapBaseline) / float64(online)
	}
	if online > 0 && m.LiveBaseline != nil && m.LiveIdle != nil {
		m.LivePerUser = &LiveHeap{
			AllocBytes: (m.LiveIdle.AllocBytes - m.LiveBaseline.AllocBytes) / float64(online),
			InuseBytes: (m.LiveIdle.InuseBytes - m.LiveBaseline.InuseBytes) / float64(online),
		}
	}
}

// CPUUse is the CPU the watched processes took in a phase.
type CPUUse struct {
	Ops      int                `json:"ops"`
	Seconds  map[string]float64 `json:"seconds"`
	PerOpUS  map[string]float64 `json:"us_per_op"`
	HostBusy float64            `json:"host_busy"` // share of all CPUs
}

func cpuUse(a, b map[string]time.Duration, ha, hb hostCPU, ops int) CPUUse {
	u := CPUUse{Ops: ops, Seconds: map[string]float64{}, PerOpUS: map[string]float64{}, HostBusy: busyShare(ha, hb)}
	for k, v := range b {
		d := (v - a[k]).Seconds()
		u.Seconds[k] = d
		if ops > 0 {
			u.PerOpUS[k] = d * 1e6 / float64(ops)
		}
	}
	return u
}

func newResult(cfg Config, ws []watched) *Result {
	res := &Result{Name: cfg.Name, WorkDir: cfg.WorkDir, Started: time.Now().UTC(), Host: hostInfo(), Processes: ws,
		Config: ConfigEcho{Users: cfg.Users, LoginRate: cfg.LoginRate, Rates: cfg.Rates, IncomingShare: cfg.IncomingShare,
			StepSeconds: cfg.StepDuration.Seconds(), HoldSeconds: cfg.Hold.Seconds(), Answer: cfg.Answer,
			XMPP: cfg.XMPPAddr, XMPPServer: "real", Registrar: cfg.Registrar}}
	if cfg.ComponentListen != "" {
		res.Config.XMPP, res.Config.XMPPServer = cfg.ComponentListen, XMPPSimulated
		res.Notes = append(res.Notes, "xmpp server "+XMPPSimulated+": the users have no sockets; the gateway sees the same stanzas a server would route to it")
	}
	return res
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				h.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return h
}

// write stores the result as <name>.json and its chart as <name>.svg.
func (res *Result) write(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".svg"), []byte(chart(res)), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
