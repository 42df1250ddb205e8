package mediapath

import (
	"encoding/base64"
	"fmt"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// sipSDES is the SIP leg's SDES-SRTP keying (RFC 4568) as negotiated: the
// SIP side's crypto line we accepted and our key answering it. Nothing of
// it ever reaches the XMPP side, whose leg has its own keys (DTLS-SRTP) or
// none (raw UDP).
type sipSDES struct {
	tag           string // the accepted line's tag, which our line repeats (§6.1)
	suite         string // as the SIP side spelt it
	local, remote media.SDESKey
}

// takeSIPCrypto keys the relay's SIP leg from the SIP side's audio
// description. SDES is used when the SIP side offers it: on an offer
// (the call's, or a re-INVITE) we accept the first crypto line the relay
// supports, in the offerer's order of preference, and keep our key if the
// suite did not change; an offer without one returns the leg to plain RTP,
// unless it made SRTP mandatory (RTP/SAVP), which is an error. An answer
// to our own offer is never keyed: our offers toward SIP are plain RTP/AVP
// (no crypto line of ours to match), so a crypto line in it is ignored.
func (p *Path) takeSIPCrypto(d *jingle.Description, answer bool) error {
	if answer {
		return nil
	}
	var enc *jingle.Encryption
	if d != nil {
		enc = d.Encryption
	}
	if enc == nil || len(enc.Crypto) == 0 {
		return p.setSIPCrypto(nil)
	}
	for _, c := range enc.Crypto {
		remote, ok := sdesKeyOf(c)
		if !ok {
			continue
		}
		next := &sipSDES{tag: c.Tag, suite: c.Suite, remote: remote}
		if p.sdes != nil && strings.EqualFold(p.sdes.local.Suite, remote.Suite) {
			next.local = p.sdes.local
		} else {
			local, err := media.GenerateSDESKey(remote.Suite)
			if err != nil {
				return err
			}
			next.local = local
		}
		return p.setSIPCrypto(next)
	}
	if required(enc) {
		return fmt.Errorf("%w: the SIP side requires SRTP with crypto suites the relay does not support (%s)", media.ErrBadInput, suites(enc))
	}
	return p.setSIPCrypto(nil)
}

// setSIPCrypto applies the keying (nil: plain RTP) to the SIP leg; the
// leg keeps the SRTP state of a key that did not change.
func (p *Path) setSIPCrypto(k *sipSDES) error {
	if k == nil {
		if p.sdes == nil {
			return nil
		}
		if err := p.s.SIP().SetSRTP(media.SDESKey{}, media.SDESKey{}); err != nil {
			return err
		}
		p.sdes = nil
		return nil
	}
	if err := p.s.SIP().SetSRTP(k.local, k.remote); err != nil {
		return err
	}
	p.sdes = k
	return nil
}

// sipCryptoLine is our a=crypto line toward SIP, answering theirs.
func (p *Path) sipCryptoLine() *jingle.Encryption {
	if p.sdes == nil {
		return nil
	}
	return &jingle.Encryption{Required: "1", Crypto: []jingle.Crypto{{
		Tag:       p.sdes.tag,
		Suite:     p.sdes.suite,
		KeyParams: "inline:" + base64.StdEncoding.EncodeToString(p.sdes.local.Key),
	}}}
}

// sdesKeyOf reads a crypto line the relay can honour: a supported suite,
// one inline key of the suite's length with at most a lifetime (§9.2: an
// MKI, or several keys, would need MKI support), and no session parameter
// but the window-size hint (§6.3: a line with a parameter we do not
// implement must not be accepted).
func sdesKeyOf(c jingle.Crypto) (media.SDESKey, bool) {
	for _, sp := range strings.Fields(c.SessionParams) {
		if !strings.HasPrefix(strings.ToUpper(sp), "WSH=") {
			return media.SDESKey{}, false
		}
	}
	kp, ok := strings.CutPrefix(c.KeyParams, "inline:")
	if !ok || strings.Contains(kp, ";") {
		return media.SDESKey{}, false
	}
	parts := strings.Split(kp, "|")
	if len(parts) > 2 || len(parts) == 2 && strings.Contains(parts[1], ":") {
		return media.SDESKey{}, false // an MKI, with or without a lifetime
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some phones leave the padding out.
		if key, err = base64.RawStdEncoding.DecodeString(parts[0]); err != nil {
			return media.SDESKey{}, false
		}
	}
	k := media.SDESKey{Suite: c.Suite, Key: key}
	return k, k.Validate() == nil
}

// required says whether the SIP side made SRTP mandatory (jinglesdp sets
// it for an RTP/SAVP m-line).
func required(e *jingle.Encryption) bool {
	return e.Required == "1" || strings.EqualFold(e.Required, "true")
}

func suites(e *jingle.Encryption) string {
	out := make([]string, 0, len(e.Crypto))
	for _, c := range e.Crypto {
		out = append(out, c.Suite)
	}
	return strings.Join(out, ", ")
}
