package sip

import (
	"bytes"
	"strings"
)

// sdpVersion returns the session id and version of an SDP's o= line
// (RFC 4566 §5.2), "" if it has none. RFC 3264 §8 makes a changed session
// bump the version, so an offer with the id and version of the previous one
// is the same session description: a session refresh, not a new offer.
func sdpVersion(sdp []byte) string {
	for line := range bytes.Lines(sdp) {
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, []byte("o=")) {
			continue
		}
		// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
		f := strings.Fields(string(line[2:]))
		if len(f) < 3 {
			return ""
		}
		return f[1] + " " + f[2]
	}
	return ""
}

// sameSession reports whether offer repeats the session description prev
// (same o= session id and version), i.e. changes nothing.
func sameSession(prev, offer []byte) bool {
	v := sdpVersion(offer)
	return v != "" && v == sdpVersion(prev)
}
