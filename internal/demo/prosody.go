package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// prosodyStopWait is how long Prosody gets to exit after SIGTERM.
const prosodyStopWait = 5 * time.Second

// prosody is the private Prosody, a child process in its own process
// group.
type prosody struct {
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// prosodyConfig is the private instance's configuration: loopback only, no
// TLS (the demo client logs in with SCRAM over loopback), no HTTP, no s2s,
// plain account storage so the demo user can be written as a file.
func prosodyConfig(dir string, c Config, secret string) string {
	return fmt.Sprintf(`-- written by fargo demo: a private, loopback-only Prosody; deleted by the next run
data_path = %[1]q
pidfile = %[2]q
log = { info = %[3]q; error = %[4]q }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
network_settings = { nagle = false }
c2s_ports = { %[5]d }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_ports = { %[6]d }
component_interfaces = { "127.0.0.1" }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "presence" }
modules_disabled = { "s2s"; "tls"; "http"; "admin_shell" }
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true

VirtualHost %[7]q

Component %[8]q
  component_secret = %[9]q
`, filepath.Join(dir, "data"), filepath.Join(dir, "prosody.pid"), filepath.Join(dir, "prosody.log"),
		filepath.Join(dir, "error.log"), c.C2SPort, c.ComponentPort, xmppDomain, gwDomain, secret)
}

// startProsody writes the configuration and the demo user's account, and
// starts Prosody; it returns once both ports accept connections.
func startProsody(ctx context.Context, dir string, c Config, secret string) (*prosody, error) {
	data := filepath.Join(dir, "data")
	// internal_plain storage: data/<escaped host>/accounts/<user>.dat.
	acct := filepath.Join(data, strings.ReplaceAll(xmppDomain, ".", "%2e"), "accounts")
	if err := os.MkdirAll(acct, 0o750); err != nil {
		return nil, err
	}
	for name, pw := range map[string]string{userName: userPassword, botName: botPassword} {
		account := fmt.Sprintf("return {\n\t[\"password\"] = %q;\n};\n", pw)
		if err := os.WriteFile(filepath.Join(acct, name+".dat"), []byte(account), 0o640); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfgPath, []byte(prosodyConfig(dir, c, secret)), 0o640); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command("prosody", "--config", cfgPath, "-F")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so stopping it stops whatever it started;
	// and it dies with us if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := dropRoot(cmd, dir); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start prosody: %w", err)
	}
	p := &prosody{dir: dir, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitPorts(ctx, c.C2SPort, c.ComponentPort); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// dropRoot: Prosody refuses to run as root; as root the child runs as
// the prosody user the Debian package creates, and owns its directory.
func dropRoot(cmd *exec.Cmd, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("prosody")
	if err != nil {
		return fmt.Errorf("prosody must not run as root and there is no prosody user: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if err := reachable(dir, uint32(uid)); err != nil {
		return err
	}
	err = filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, int(uid), int(gid))
	})
	if err != nil {
		return fmt.Errorf("hand %s to the prosody user: %w", dir, err)
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

// waitPorts waits until Prosody accepts connections on every port, or
// fails with its log's last lines if it exits first.
func (p *prosody) waitPorts(ctx context.Context, ports ...int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ready := true
		for _, port := range ports {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err != nil {
				ready = false
				break
			}
			_ = conn.Close()
		}
		if ready {
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("prosody exited (%v): %s", err, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prosody does not listen on %v after 20 s: %s", ports, p.tail())
		}
	}
}

// tail is the end of Prosody's logs, for error messages.
func (p *prosody) tail() string {
	var parts []string
	for _, f := range []string{"error.log", "stdout.log"} {
		b, err := os.ReadFile(filepath.Join(p.dir, f))
		if err != nil || len(b) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		parts = append(parts, strings.Join(lines[max(0, len(lines)-5):], " | "))
	}
	if len(parts) == 0 {
		return "no log output (see " + p.dir + ")"
	}
	return strings.Join(parts, " | ")
}

// stop ends Prosody's process group: SIGTERM, then SIGKILL.
func (p *prosody) stop() error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(prosodyStopWait):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
	return errors.New("prosody did not stop on SIGTERM; killed")
}

// reachable checks that a user other than root can get to dir: every
// directory above it must be searchable by others (or be that user's).
// Prosody would otherwise exit at once, saying only that it found no
// configuration.
func reachable(dir string, uid uint32) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm()&0o001 == 0 && (!ok || st.Uid != uid) {
			return fmt.Errorf("the prosody user cannot reach %s: %s is not searchable by others (mode %v); choose a --dir it can reach, e.g. under /tmp", dir, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
