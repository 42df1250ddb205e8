package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a run writes as JSON.
type report struct {
	Date   string      `json:"date"`
	Host   hostInfo    `json:"host"`
	Params reportParam `json:"params"`
	Runs   []result    `json:"runs"`
}

type hostInfo struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Rtpengine string `json:"rtpengine,omitempty"`
}

type reportParam struct {
	Calls        []int   `json:"calls"`
	WindowS      float64 `json:"window_s"`
	RampS        float64 `json:"ramp_s"`
	PacketBytes  int     `json:"packet_bytes"`
	PPSPerStream int     `json:"pps_per_stream"`
	Senders      int     `json:"senders"`
	Receivers    int     `json:"receivers"`
	RxIntervalMS float64 `json:"rx_interval_ms"`
	FargoPorts   string  `json:"fargo_ports"`
	// FargoLearnWindowS is -fargo-learn-window, 0 for the relay's default.
	FargoLearnWindowS float64 `json:"fargo_learn_window_s,omitempty"`
	RtpenginePorts    string  `json:"rtpengine_ports"`
	RtpengineThr      int     `json:"rtpengine_threads"`
	Command           string  `json:"command"`
}

func newHostInfo(rtpengineBin string, withRtpengine bool) hostInfo {
	h := hostInfo{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if withRtpengine {
		if out, err := exec.Command(rtpengineBin, "--version").CombinedOutput(); err == nil {
			h.Rtpengine = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Version:"))
		}
	}
	return h
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// printTable writes the comparison, one row per target and N. "relay
// µs/pkt" is the relay process's own CPU per relayed packet; "host Δ
// µs/pkt" (result.HostDeltaUSPerPkt) is what the relay adds to the whole
// machine per relayed packet over the direct run at the same N, wherever
// the kernel charges it: the figure to compare relays by, since an
// in-kernel fast path (fargo-kernel) forwards in softirq charged mostly to
// the sending processes, not to the relay process. "in kernel %" is the
// share of the relay's own packet count that its fast path forwarded.
func printTable(w io.Writer, runs []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tcalls\toffered pps\treceived pps\tloss %\tlat p50 µs\tp99 µs\tmax µs\tadded p50 µs\tadded p99 µs\trelay cores\trelay µs/pkt\tin kernel %\thost Δ µs/pkt\tgen µs/pkt\thost busy %\tother cores\t")
	for _, r := range runs {
		added50, added99 := "-", "-"
		if r.AddedP50US != nil {
			added50, added99 = fmt.Sprintf("%.1f", *r.AddedP50US), fmt.Sprintf("%.1f", *r.AddedP99US)
		}
		cores, per := "-", "-"
		if r.RelayPID != 0 {
			cores, per = fmt.Sprintf("%.3f", r.RelayCores), fmt.Sprintf("%.2f", r.RelayUSPerPkt)
		}
		inKernel := "-"
		if r.RelayKernelCount != nil && r.RelayOwnCount != nil && *r.RelayOwnCount > 0 {
			inKernel = fmt.Sprintf("%.1f", 100*float64(*r.RelayKernelCount)/float64(*r.RelayOwnCount))
		}
		hostDelta := "-"
		if r.HostDeltaUSPerPkt != nil {
			hostDelta = fmt.Sprintf("%.2f", *r.HostDeltaUSPerPkt)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.4f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.1f\t%.2f\t\n",
			r.Target, r.Calls, r.OfferedPPS, r.ReceivedPPS, r.LossPct,
			r.LatP50US, r.LatP99US, r.LatMaxUS, added50, added99, cores, per, inKernel, hostDelta,
			r.GenUSPerPkt, r.HostBusyPct, r.OtherCores)
	}
	return tw.Flush()
}

func resultsName(dir string, now time.Time) string {
	return fmt.Sprintf("%s/relay-%s.json", strings.TrimRight(dir, "/"), now.Format("2006-01-02T150405"))
}
