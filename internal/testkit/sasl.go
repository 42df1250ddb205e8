package testkit

import (
	"fmt"
	"slices"

	"fargo.dev/fargo/internal/xmpp/sasl"
)

// SASL mechanisms the client implements; internal/xmpp/sasl does the work,
// so the test kit and the gateway's own client links share one SCRAM.
const (
	MechSCRAMSHA256 = sasl.SCRAMSHA256
	MechSCRAMSHA1   = sasl.SCRAMSHA1
	MechPLAIN       = sasl.Plain
)

// chooseMechanism returns the forced mechanism if the server offers it;
// by default SCRAM-SHA-1 when offered and PLAIN otherwise: the lab servers
// are reached over plain TCP, where PLAIN is allowed on purpose.
func chooseMechanism(offered []string, forced string) (string, error) {
	mech := forced
	if mech == "" {
		mech = MechPLAIN
		if slices.Contains(offered, MechSCRAMSHA1) {
			mech = MechSCRAMSHA1
		}
	}
	if !slices.Contains(offered, mech) {
		return "", fmt.Errorf("%w: server offers %v, not %s", ErrAuthFailed, offered, mech)
	}
	return mech, nil
}
