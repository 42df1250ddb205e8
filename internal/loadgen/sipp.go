package loadgen

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// uacScenario calls [field0]@[field1] (one simulated user per call, from
// the injection file) through the registrar, holds for -d, and hangs up.
// It measures INVITE → 200 (rtd) at the caller.
//
//go:embed uac.xml
var uacScenario []byte

// sippResult is what one SIPp run reports.
type sippResult struct {
	Created    int         `json:"created"`
	Successful int         `json:"successful"`
	Failed     int         `json:"failed"`
	Setup      Percentiles `json:"invite_to_200"` // at the caller, through registrar and gateway to the XMPP user and back
	ExitCode   int         `json:"exit_code"`
	Dir        string      `json:"dir"`
}

// sippArgs are the options of every SIPp run: loopback, its own ports
// (SIP, control +1, media +2 and +4), statistics and errors in its dir.
func sippArgs(port int) []string {
	return []string{"-i", "127.0.0.1", "-mi", "127.0.0.1", "-ci", "127.0.0.1", "-p", strconv.Itoa(port),
		"-cp", strconv.Itoa(port + 1), "-mp", strconv.Itoa(port + 2), "-t", "u1", "-nostdin",
		"-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_err", "-error_file", "errors.log"}
}

// runSIPpUAC offers n calls at rate to the callees through the registrar
// and waits for SIPp to finish them.
func (r *runner) runSIPpUAC(ctx context.Context, dir string, rate float64, n int, callees []string) (sippResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sippResult{}, err
	}
	var inf strings.Builder
	inf.WriteString("SEQUENTIAL\n")
	for _, c := range callees {
		inf.WriteString(c + ";" + r.cfg.SIPDomain + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "callees.csv"), []byte(inf.String()), 0o644); err != nil {
		return sippResult{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "uac.xml"), uacScenario, 0o644); err != nil {
		return sippResult{}, err
	}
	args := append([]string{r.cfg.Registrar, "-sf", "uac.xml", "-inf", "callees.csv",
		"-r", strconv.FormatFloat(rate, 'f', 3, 64), "-rp", "1000", "-m", strconv.Itoa(n),
		"-d", strconv.FormatInt(r.cfg.Hold.Milliseconds(), 10),
		"-recv_timeout", strconv.FormatInt(r.cfg.SetupTimeout.Milliseconds(), 10),
		"-timeout", strconv.Itoa(int((r.cfg.StepDuration+r.cfg.Hold+2*r.cfg.SetupTimeout)/time.Second)+30) + "s",
		"-trace_rtt", "-rtt_freq", "1"}, sippArgs(r.cfg.SIPpPort)...)
	code, err := r.runSIPp(ctx, dir, args)
	res := readSIPpStats(dir)
	res.ExitCode, res.Dir = code, dir
	res.Setup = readSIPpRTT(dir)
	return res, err
}

// runSIPp runs SIPp in dir until it exits (SIGTERM when ctx ends); SIPp
// exits 1 when some call failed, which is a result, not an error.
func (r *runner) runSIPp(ctx context.Context, dir string, args []string) (int, error) {
	cmd := exec.CommandContext(ctx, r.cfg.SIPpBin, args...)
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "screen.log"))
	if err != nil {
		return -1, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return 1, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), fmt.Errorf("sipp (see %s): %w", dir, err)
	default:
		return -1, fmt.Errorf("sipp: %w", err)
	}
}

// startSIPpUAS runs SIPp's built-in UAS (180, 200 with SDP, then BYE → 200)
// on the UAS port for the whole run; the returned stop ends it.
func (r *runner) startSIPpUAS(ctx context.Context, dir string) (stop func() sippResult, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code, _ = r.runSIPp(ctx, dir, append([]string{"-sn", "uas"}, sippArgs(r.cfg.UASPort)...))
	}()
	// SIPp binds its port within milliseconds; a missing binary or a taken
	// port makes it exit at once.
	select {
	case <-done:
		cancel()
		return nil, fmt.Errorf("sipp UAS exited at start (code %d, see %s/screen.log)", code, dir)
	case <-time.After(500 * time.Millisecond):
	}
	return func() sippResult {
		cancel()
		<-done
		res := readSIPpStats(dir)
		res.ExitCode, res.Dir = code, dir
		return res
	}, nil
}

// readSIPpStats reads the cumulative counters of the last line of SIPp's
// statistics file (-trace_stat), whose header names its columns.
func readSIPpStats(dir string) sippResult {
	b, err := os.ReadFile(filepath.Join(dir, "stat.csv"))
	if err != nil {
		return sippResult{}
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return sippResult{}
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				n, _ := strconv.Atoi(strings.TrimSpace(last[i]))
				return n
			}
		}
		return 0
	}
	return sippResult{Created: col("TotalCallCreated"), Successful: col("SuccessfulCall(C)"), Failed: col("FailedCall(C)")}
}

// readSIPpRTT reads every response time of -trace_rtt (ms, per call).
func readSIPpRTT(dir string) Percentiles {
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var v []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			p := strings.Split(sc.Text(), ";")
			if len(p) < 2 {
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(p[1]), 64)
			if err != nil {
				continue // the header
			}
			v = append(v, time.Duration(x*float64(time.Millisecond)))
		}
		_ = fh.Close()
	}
	return summarize(v)
}
