package jinglesdp

import "errors"

// ErrBadSDP wraps every failure to parse an SDP body, even after the
// tolerant normaliser had a go at it.
var ErrBadSDP = errors.New("jinglesdp: bad SDP")

// ErrBadJingle wraps BuildSDP failures caused by the contents themselves:
// no RTP description, no payload type, a content the mirrored offer does
// not have, or text that would break out of its SDP line.
var ErrBadJingle = errors.New("jinglesdp: contents cannot be written as SDP")

// ErrIncompatible wraps CheckAnswer failures: the answer does not fit its
// offer, so the call cannot go on with it.
var ErrIncompatible = errors.New("jinglesdp: incompatible answer")
