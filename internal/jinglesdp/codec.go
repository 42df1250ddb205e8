package jinglesdp

import (
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// staticPT is an RFC 3551 §6 static payload type.
type staticPT struct {
	name     string
	clock    uint32
	channels uint8
}

// staticPTs is the RFC 3551 §6 table. SIP devices often send static
// payload types without a=rtpmap; Conversations builds payload types only
// from rtpmap lines and would drop them (protocol-map §3.3), so both
// directions fill names in from here.
var staticPTs = [35]staticPT{
	0: {"PCMU", 8000, 1}, 3: {"GSM", 8000, 1}, 4: {"G723", 8000, 1},
	5: {"DVI4", 8000, 1}, 6: {"DVI4", 16000, 1}, 7: {"LPC", 8000, 1},
	8: {"PCMA", 8000, 1}, 9: {"G722", 8000, 1}, 10: {"L16", 44100, 2},
	11: {"L16", 44100, 1}, 12: {"QCELP", 8000, 1}, 13: {"CN", 8000, 1},
	14: {"MPA", 90000, 0}, 15: {"G728", 8000, 1}, 16: {"DVI4", 11025, 1},
	17: {"DVI4", 22050, 1}, 18: {"G729", 8000, 1}, 25: {"CelB", 90000, 0},
	26: {"JPEG", 90000, 0}, 28: {"nv", 90000, 0}, 31: {"H261", 90000, 0},
	32: {"MPV", 90000, 0}, 33: {"MP2T", 90000, 0}, 34: {"H263", 90000, 0},
}

// static returns the RFC 3551 entry for id, if it has one.
func static(id uint8) (staticPT, bool) {
	if int(id) < len(staticPTs) && staticPTs[id].name != "" {
		return staticPTs[id], true
	}
	return staticPT{}, false
}

// effective returns pt with what the wire leaves implicit made explicit
// and the known historical quirks applied: a static payload type's name
// and clock rate, G.722's 8000 Hz RTP clock (RFC 3551 §4.5.2, although it
// samples at 16 kHz), Opus' two channels (RFC 7587 §7), and channels 1
// written as the default 0.
func effective(pt jingle.PayloadType, media string) jingle.PayloadType {
	if s, ok := static(pt.ID); ok && pt.Name == "" {
		pt.Name, pt.Clockrate = s.name, s.clock
		if pt.Channels == 0 {
			pt.Channels = s.channels
		}
	}
	switch {
	case strings.EqualFold(pt.Name, "G722"):
		pt.Clockrate = 8000
	case strings.EqualFold(pt.Name, "opus"):
		pt.Clockrate, pt.Channels = 48000, 2
	}
	if pt.Clockrate == 0 && pt.Name != "" {
		pt.Clockrate = defaultClock(pt.Name, media)
	}
	if pt.Channels == 1 {
		pt.Channels = 0
	}
	return pt
}

// defaultClock guesses the clock rate of a named payload type that came
// without one: the static table's rate for the same name, else the usual
// rate of the medium.
func defaultClock(name, media string) uint32 {
	for _, s := range staticPTs {
		if s.name != "" && strings.EqualFold(s.name, name) {
			return s.clock
		}
	}
	if media == "video" {
		return 90000
	}
	return 8000
}

// auxiliary reports whether a payload type named name carries no media of
// its own (DTMF, comfort noise, redundancy, retransmission, FEC): it
// neither counts as a common codec nor appears in codec lists.
func auxiliary(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "telephone-event", "cn", "red", "rtx", "ulpfec", "fec":
		return true
	}
	return strings.HasPrefix(n, "flexfec")
}

// codecString writes pt as in an rtpmap: "PCMU/8000", "opus/48000/2", or
// the bare id when the payload type has no name.
func codecString(pt jingle.PayloadType) string {
	if pt.Name == "" {
		return strconv.Itoa(int(pt.ID))
	}
	s := pt.Name + "/" + strconv.FormatUint(uint64(pt.Clockrate), 10)
	if pt.Channels > 1 {
		s += "/" + strconv.Itoa(int(pt.Channels))
	}
	return s
}

// sameCodec compares two effective payload types by name (case
// insensitive, RFC 4855 §3), clock rate and channels.
func sameCodec(a, b jingle.PayloadType) bool {
	return a.Name != "" && strings.EqualFold(a.Name, b.Name) &&
		a.Clockrate == b.Clockrate && a.Channels == b.Channels
}
