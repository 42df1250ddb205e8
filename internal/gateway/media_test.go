package gateway

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

func transport(ns string, fingerprint bool, ips ...string) *jingle.Transport {
	t := jingle.NewTransport(ns)
	if fingerprint {
		t.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: "AB:CD"}}
	}
	for _, ip := range ips {
		t.Candidates = append(t.Candidates, jingle.Candidate{Component: 1, IP: ip, Port: 4000})
	}
	return t
}

func contentWith(t *jingle.Transport) []jingle.Content {
	return []jingle.Content{{Name: "audio", Transport: t}}
}

func TestRelayOutgoing(t *testing.T) {
	conversations := contentWith(transport(jingle.NSICEUDP, true))
	rawPublic := contentWith(transport(jingle.NSRawUDP, false, "198.51.100.7"))
	rawPrivate := contentWith(transport(jingle.NSRawUDP, false, "192.168.1.20"))
	rawCGNAT := contentWith(transport(jingle.NSRawUDP, false, "100.64.3.4"))
	for _, tc := range []struct {
		name   string
		policy MediaPolicy
		offer  []jingle.Content
		want   bool
	}{
		{"auto: ICE + DTLS client needs the relay", MediaPolicy{Mode: MediaModeAuto}, conversations, true},
		{"auto: raw UDP at a public address goes direct", MediaPolicy{Mode: MediaModeAuto, RelayPrivate: true}, rawPublic, false},
		{"auto: raw UDP at a private address is relayed when asked", MediaPolicy{Mode: MediaModeAuto, RelayPrivate: true}, rawPrivate, true},
		{"auto: CGNAT counts as private", MediaPolicy{Mode: MediaModeAuto, RelayPrivate: true}, rawCGNAT, true},
		{"auto: private address without relay_private goes direct", MediaPolicy{Mode: MediaModeAuto}, rawPrivate, false},
		{"relay: always", MediaPolicy{Mode: MediaModeRelay}, rawPublic, true},
		{"direct: never", MediaPolicy{Mode: MediaModeDirect}, conversations, false},
	} {
		if got := tc.policy.relayOutgoing(tc.offer); got != tc.want {
			t.Errorf("%s: relayOutgoing = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRelayIncoming(t *testing.T) {
	plainPublic := contentWith(transport(jingle.NSRawUDP, false, "198.51.100.7"))
	plainPrivate := contentWith(transport(jingle.NSRawUDP, false, "10.0.0.5"))
	webrtcSIP := contentWith(transport(jingle.NSICEUDP, true, "198.51.100.7"))
	auto := MediaPolicy{Mode: MediaModeAuto, RelayPrivate: true}
	sdes := contentWith(transport(jingle.NSRawUDP, false, "198.51.100.7"))
	sdes[0].Description = &jingle.Description{Media: "audio", Encryption: &jingle.Encryption{Crypto: []jingle.Crypto{{Suite: "AES_CM_128_HMAC_SHA1_80", KeyParams: "inline:x", Tag: "1"}}}}
	for _, tc := range []struct {
		name      string
		policy    MediaPolicy
		offer     []jingle.Content
		allRawUDP bool
		want      bool
	}{
		{"auto: plain RTP, every device takes raw UDP", auto, plainPublic, true, false},
		{"auto: plain RTP, an ICE-only device (Conversations)", auto, plainPublic, false, true},
		{"auto: plain RTP from a private address", auto, plainPrivate, true, true},
		{"auto: a WebRTC-style SIP peer needs no relay", auto, webrtcSIP, false, false},
		{"auto: SDES-SRTP from the SIP side is terminated by the relay", auto, sdes, true, true},
		{"relay: always", MediaPolicy{Mode: MediaModeRelay}, plainPublic, true, true},
		{"direct: never", MediaPolicy{Mode: MediaModeDirect}, plainPublic, false, false},
	} {
		if got := tc.policy.relayIncoming(tc.offer, tc.allRawUDP); got != tc.want {
			t.Errorf("%s: relayIncoming = %v, want %v", tc.name, got, tc.want)
		}
	}
}
