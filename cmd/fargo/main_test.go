package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[component]\ndomain = \"sip.example.net\"\nsecrt = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []cliCase{
		{"no command", nil, 2, "Usage: fargo"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "fargo "},
		{"help", []string{"help"}, 0, "serve --config FILE"},
		{"missing config", []string{"serve", "--config", "/nonexistent/fargo.toml"}, 1, "read config"},
		{"bad config names the key", []string{"serve", "--config", bad}, 1, "unknown key(s): component.secrt"},
		{"bad flag", []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"help lists echo-sip", []string{"help"}, 0, "echo-sip"},
		{"echo-sip bad flag", []string{"echo-sip", "--nope"}, 2, "flag provided but not defined"},
		{"echo-sip register needs password", []string{"echo-sip", "--register-aor", "echo@sip.example.org"}, 1, "--password-file"},
		{"echo-sip bad listen", []string{"echo-sip", "--listen", "localhost"}, 1, "must be IP:port"},
		{"echo-sip bad log level", []string{"echo-sip", "--log-level", "loud"}, 2, "--log-level"},
	}
	runCLICases(t, cases)
}

// cliCase is one command line, the exit code it must give and a text its
// output must contain.
type cliCase struct {
	name string
	args []string
	code int
	out  string
}

func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tc.code, errOut.String())
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, tc.out) {
				t.Fatalf("output lacks %q:\n%s", tc.out, all)
			}
		})
	}
}
