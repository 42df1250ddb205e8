package testkit

import (
	"errors"
	"testing"
)

// The mechanisms themselves are tested in internal/xmpp/sasl; this is the
// test kit's choice among them.
func TestChooseMechanism(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		forced  string
		want    string // "" means ErrAuthFailed
	}{
		{[]string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, "", MechSCRAMSHA1},
		{[]string{"PLAIN"}, "", MechPLAIN},
		{[]string{"SCRAM-SHA-256", "SCRAM-SHA-1"}, MechSCRAMSHA256, MechSCRAMSHA256},
		{[]string{"SCRAM-SHA-1", "PLAIN"}, MechPLAIN, MechPLAIN},
		{[]string{"PLAIN"}, MechSCRAMSHA1, ""},
		{[]string{"SCRAM-SHA-256"}, "", ""},
	} {
		got, err := chooseMechanism(tc.offered, tc.forced)
		if tc.want == "" {
			if !errors.Is(err, ErrAuthFailed) {
				t.Errorf("chooseMechanism(%v, %q) = %q, %v; want ErrAuthFailed", tc.offered, tc.forced, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("chooseMechanism(%v, %q) = %q, %v; want %q", tc.offered, tc.forced, got, err, tc.want)
		}
	}
}
