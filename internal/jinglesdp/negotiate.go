package jinglesdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// Codecs lists the payload types of contents as "PCMU/8000",
// "opus/48000/2", once each and in order, for error texts and logs.
// Payload types without media of their own (telephone-event, CN, red,
// rtx, ulpfec, flexfec) are left out.
func Codecs(contents []jingle.Content) []string {
	var out []string
	for _, c := range contents {
		if c.Description == nil {
			continue
		}
		for _, pt := range c.Description.PayloadTypes {
			e := effective(pt, c.Description.Media)
			if auxiliary(e.Name) {
				continue
			}
			if s := codecString(e); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Intersect returns, for each offered content, a copy keeping the offered
// payload types (in the offer's order, with the offer's ids) whose name
// (case-insensitive), clock rate and channels match one in supported.
// telephone-event is kept only at the clock rate of a kept codec (RFC 4733
// §2.5.1.1: DTMF runs on the audio clock; likewise CN), rtx only when the payload type
// it repairs is kept. A content without description is copied as is.
// Transports and parameter lists are shared with offer.
func Intersect(offer []jingle.Content, supported []jingle.PayloadType) []jingle.Content {
	out := make([]jingle.Content, len(offer))
	for i, c := range offer {
		out[i] = c
		if c.Description == nil {
			continue
		}
		d := *c.Description
		d.PayloadTypes = intersect(d.PayloadTypes, d.Media, supported)
		out[i].Description = &d
	}
	return out
}

func intersect(offered []jingle.PayloadType, media string, supported []jingle.PayloadType) []jingle.PayloadType {
	kept := []jingle.PayloadType{}
	clocks := map[uint32]bool{}
	ids := map[uint8]bool{}
	for _, pt := range offered {
		e := effective(pt, media)
		if auxiliary(e.Name) || !slices.ContainsFunc(supported, func(s jingle.PayloadType) bool { return sameCodec(e, effective(s, media)) }) {
			continue
		}
		clocks[e.Clockrate] = true
		ids[pt.ID] = true
	}
	for _, pt := range offered {
		e := effective(pt, media)
		if !ids[pt.ID] && !keepAuxiliary(e, media, supported, clocks, ids) {
			continue
		}
		kept = append(kept, pt)
	}
	return kept
}

// keepAuxiliary decides on a supported auxiliary payload type once the
// real codecs are known.
func keepAuxiliary(e jingle.PayloadType, media string, supported []jingle.PayloadType, clocks map[uint32]bool, ids map[uint8]bool) bool {
	if !auxiliary(e.Name) || !slices.ContainsFunc(supported, func(s jingle.PayloadType) bool { return sameCodec(e, effective(s, media)) }) {
		return false
	}
	switch strings.ToLower(e.Name) {
	case "telephone-event", "cn":
		return clocks[e.Clockrate]
	case "rtx":
		for _, p := range e.Params {
			if p.Name == "apt" {
				apt, err := strconv.ParseUint(p.Value, 10, 7)
				return err == nil && ids[uint8(apt)]
			}
		}
		return false
	}
	return len(ids) > 0
}

// CheckAnswer verifies an answer against its offer: the same content
// names, every answered payload type offered (by id, or by name and clock
// rate), and at least one real codec in every content the answer accepts
// (one not declined with senders "none" and no payload type). The error
// wraps ErrIncompatible and names both sides' codecs.
func CheckAnswer(offer, answer []jingle.Content) error {
	answered := make(map[string]*jingle.Content, len(answer))
	for i := range answer {
		answered[answer[i].Name] = &answer[i]
	}
	for i := range offer {
		o := &offer[i]
		a, ok := answered[o.Name]
		if !ok {
			return incompatible(o, nil, "content %q was not answered", o.Name)
		}
		delete(answered, o.Name)
		if err := checkContent(o, a); err != nil {
			return err
		}
	}
	for _, a := range answer {
		if _, extra := answered[a.Name]; extra {
			return incompatible(nil, &a, "content %q was not offered", a.Name)
		}
	}
	return nil
}

func checkContent(o, a *jingle.Content) error {
	if rejects(a) {
		return nil
	}
	if a.Description == nil || o.Description == nil {
		return incompatible(o, a, "content %q has no description", o.Name)
	}
	codecs := 0
	for _, pt := range a.Description.PayloadTypes {
		e := effective(pt, a.Description.Media)
		if !offered(o.Description, pt, e) {
			return incompatible(o, a, "content %q: %s was not offered", o.Name, codecString(e))
		}
		if !auxiliary(e.Name) {
			codecs++
		}
	}
	if codecs == 0 {
		return incompatible(o, a, "content %q: no common codec", o.Name)
	}
	return nil
}

// offered reports whether the offer has pt by id or by name and clock.
func offered(od *jingle.Description, pt, e jingle.PayloadType) bool {
	for _, o := range od.PayloadTypes {
		if o.ID == pt.ID {
			return true
		}
		oe := effective(o, od.Media)
		if e.Name != "" && strings.EqualFold(oe.Name, e.Name) && oe.Clockrate == e.Clockrate {
			return true
		}
	}
	return false
}

// incompatible builds the CheckAnswer error, naming both sides' codecs so
// that the SIP Warning or the Jingle reason text says what did not match.
func incompatible(o, a *jingle.Content, format string, args ...any) error {
	side := func(c *jingle.Content) string {
		if c == nil {
			return "none"
		}
		if s := Codecs([]jingle.Content{*c}); len(s) > 0 {
			return strings.Join(s, ", ")
		}
		return "none"
	}
	return fmt.Errorf("%w: %s (offered %s; answered %s)", ErrIncompatible, fmt.Sprintf(format, args...), side(o), side(a))
}
