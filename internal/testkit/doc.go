// Package testkit is tier 3 test support for the end-to-end tests: it owns a
// minimal real XMPP c2s client (Client) that logs in to Prosody or ejabberd
// the way a user's client does, and the control of the real peers (Prosody,
// ejabberd, Kamailio, baresip, SIPp) through the scripts in scripts/peers.
// Its subpackage media checks the audio of calls (G.711, WAV, tone pitch,
// an RTP peer); testkit's own code does not import it. Its subpackage
// webrtcpeer is the media of a WebRTC client (pion/webrtc: ICE, DTLS-SRTP,
// rtcp-mux), which the Jingle test phone uses in its Conversations-like
// mode (PhoneOptions.WebRTC).
//
// It may import only the standard library, tier-0 packages (stanza,
// jingle, jinglesdp, leakcheck in tests) and webrtcpeer, and it is never
// imported by production code.
//
// Peers run on fixed loopback ports chosen by each test, in a run directory
// of their own; a test whose peer binaries are missing is skipped, except
// when CI=true: an end-to-end test never skips in CI.
package testkit
