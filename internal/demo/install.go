package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// errNotRoot is returned when Prosody is missing and apt-get cannot run.
var errNotRoot = errors.New("Prosody is not installed and installing it needs root")

// ensureProsody installs Debian's prosody package when prosody or
// prosodyctl is missing. It reports what it does on out; apt-get's own
// output goes to log.
func ensureProsody(ctx context.Context, allow bool, out, log io.Writer) (installed bool, err error) {
	if haveProsody() {
		return false, nil
	}
	switch {
	case !allow:
		return false, errors.New("Prosody is not installed (and --no-install was given)")
	case os.Geteuid() != 0:
		return false, errNotRoot
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return false, errors.New("Prosody is not installed and there is no apt-get to install it")
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if !haveLists() {
		fmt.Fprintln(out, "   apt-get update (no package lists yet)")
		if err := runCmd(ctx, env, log, "apt-get", "update"); err != nil {
			return false, fmt.Errorf("apt-get update: %w", err)
		}
	}
	fmt.Fprintln(out, "   apt-get install -y prosody (once; the demo runs its own private instance, not the system service)")
	if err := runCmd(ctx, env, log, "apt-get", "install", "-y", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "prosody"); err != nil {
		return false, fmt.Errorf("apt-get install prosody: %w", err)
	}
	if !haveProsody() {
		return false, errors.New("apt-get installed prosody but prosody is still not on PATH")
	}
	return true, nil
}

func haveProsody() bool {
	_, err1 := exec.LookPath("prosody")
	_, err2 := exec.LookPath("prosodyctl")
	return err1 == nil && err2 == nil
}

// haveLists: apt-get update is needed only on a fresh image (lists may
// be stored compressed, …_Packages.lz4).
func haveLists() bool {
	m, _ := filepath.Glob("/var/lib/apt/lists/*_Packages*")
	return len(m) > 0
}

func runCmd(ctx context.Context, env []string, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	return cmd.Run()
}
