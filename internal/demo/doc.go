// Package demo is `fargo demo`: on one machine, with nothing but the
// fargo binary and Debian's Prosody package, it shows the gateway working
// end to end and leaves nothing running. It installs Prosody if it is
// missing and starts a private Prosody on loopback as a child process;
// it runs the SIP echo (internal/echo, also the demo user's registrar),
// the gateway and the XMPP echo bot (internal/echobot) in-process; then it
// plays the demo user's XMPP client (internal/xmpp in client mode): she
// registers her SIP account with the gateway, comes online (the gateway
// REGISTERs her), calls the SIP echo through the gateway, the gateway's
// own echo contact and the echo bot, sends a tone and reports what came
// back (frequency, round trip, call setup time) with a transcript of the
// signalling.
//
// Tier 3 composition: it may import every internal package except
// internal/app (cmd/fargo passes in the function that runs the gateway)
// and the test kit, and never pion/webrtc or pion/interceptor (its media
// is internal/rtpprobe's plain RTP).
package demo
