package xmpp

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp/sasl"
)

// saslElement is the decoding form of <challenge/>, <success/> and
// <failure/>.
type saslElement struct {
	Text  string `xml:",chardata"`
	Inner []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

// maxSASLSteps bounds the challenges of one exchange; SCRAM needs two.
const maxSASLSteps = 4

// authenticate runs the SASL exchange (RFC 6120 §6.4) with the preferred
// offered mechanism. PLAIN is allowed only over TLS or when the policy
// deliberately runs in clear.
func (n *negotiation) authenticate(offered []string) error {
	name, ok := sasl.Select(offered, n.tls || n.cl.TLS == TLSDisabled)
	if !ok {
		return fmt.Errorf("%w: no usable SASL mechanism among %v (PLAIN only over TLS)", ErrAuthFailed, offered)
	}
	m, err := sasl.New(name, n.jid.local, n.cl.Password)
	if err != nil {
		return err
	}
	initial, err := m.Start()
	if err != nil {
		return err
	}
	if err := n.write([]byte(`<auth xmlns='` + nsSASL + `' mechanism='` + name + `'>` + saslEncode(initial) + `</auth>`)); err != nil {
		return fmt.Errorf("write auth: %w", err)
	}
	for range maxSASLSteps {
		var el saslElement
		elName, err := n.sr.element(&el)
		if err != nil {
			return fmt.Errorf("sasl %s: %w", name, err)
		}
		if elName.Space != nsSASL {
			return fmt.Errorf("sasl %s: unexpected <%s xmlns=%q>", name, elName.Local, elName.Space)
		}
		data, err := saslDecode(el.Text)
		if err != nil {
			return fmt.Errorf("sasl %s: <%s>: %w", name, elName.Local, err)
		}
		switch elName.Local {
		case "failure":
			return saslFailure(name, &el)
		case "success":
			if err := m.Finish(data); err != nil {
				return saslClientError(name, err)
			}
			n.l.log.Debug("xmpp client: authenticated", "mechanism", name, "tls", n.tls)
			return nil
		case "challenge":
			resp, err := m.Next(data)
			if err != nil {
				return saslClientError(name, err)
			}
			if err := n.write([]byte(`<response xmlns='` + nsSASL + `'>` + saslEncode(resp) + `</response>`)); err != nil {
				return fmt.Errorf("write sasl response: %w", err)
			}
		default:
			return fmt.Errorf("sasl %s: unexpected <%s/>", name, elName.Local)
		}
	}
	return fmt.Errorf("sasl %s: more than %d challenges", name, maxSASLSteps)
}

// saslFailure turns <failure><condition/><text>…</text></failure> into an
// error wrapping ErrAuthFailed that names both.
func saslFailure(mech string, el *saslElement) error {
	cond, text := "", ""
	for _, e := range el.Inner {
		if e.XMLName.Local == "text" {
			text = e.Text
		} else if cond == "" {
			cond = e.XMLName.Local
		}
	}
	if cond == "" {
		cond = "unknown-condition"
	}
	if text != "" {
		return fmt.Errorf("%w: %s: %s: %s", ErrAuthFailed, mech, cond, text)
	}
	return fmt.Errorf("%w: %s: %s", ErrAuthFailed, mech, cond)
}

// saslClientError classifies a failure on our side of the exchange: a
// server that cannot prove it knows the password fails authentication, a
// malformed exchange is a protocol error.
func saslClientError(mech string, err error) error {
	if errors.Is(err, sasl.ErrServerSignature) {
		return fmt.Errorf("%w: %s: %w", ErrAuthFailed, mech, err)
	}
	return fmt.Errorf("sasl %s: %w", mech, err)
}

// saslEncode is RFC 6120 §6.4.2's base64: an empty message is "=".
func saslEncode(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func saslDecode(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %w", err)
	}
	return b, nil
}

// bind asks for the requested resource, or lets the server pick one, and
// returns the full JID the server bound (RFC 6120 §7).
func (n *negotiation) bind(f *features) (string, error) {
	if f.Bind == nil {
		return "", errors.New("the server offers no resource binding")
	}
	payload := `<bind xmlns='` + nsBind + `'/>`
	if n.jid.resource != "" {
		var res strings.Builder
		_ = xml.EscapeText(&res, []byte(n.jid.resource))
		payload = `<bind xmlns='` + nsBind + `'><resource>` + res.String() + `</resource></bind>`
	}
	reply, err := n.setupIQ("", payload)
	if err != nil {
		return "", fmt.Errorf("bind: %w", err)
	}
	var b struct {
		JID string `xml:"jid"`
	}
	if found, err := reply.Decode(nsBind, "bind", &b); !found || err != nil {
		return "", fmt.Errorf("bind: result without <bind/> (%v)", err)
	}
	bare, res, ok := strings.Cut(strings.TrimSpace(b.JID), "/")
	if !ok || res == "" || !strings.Contains(bare, "@") {
		return "", fmt.Errorf("bind: server bound %q, not a full JID", b.JID)
	}
	return bare + "/" + res, nil
}

// session establishes the RFC 3921 session old servers still require.
func (n *negotiation) session() error {
	if _, err := n.setupIQ(n.l.cfg.Domain, `<session xmlns='`+nsSession+`'/>`); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// setupIQ sends an iq set during negotiation and reads its answer, which
// the server sends before anything else.
func (n *negotiation) setupIQ(to, payload string) (*stanza.Stanza, error) {
	iq := &stanza.Stanza{XMLName: xml.Name{Local: string(stanza.KindIQ)}, ID: n.l.nextID(), Type: "set", To: to, Payload: []byte(payload)}
	b, err := iq.Marshal()
	if err != nil {
		return nil, err
	}
	if err := n.write(b); err != nil {
		return nil, err
	}
	reply, err := n.sr.next()
	if err != nil {
		return nil, err
	}
	if reply.Kind() != stanza.KindIQ || reply.ID != iq.ID {
		return nil, fmt.Errorf("expected the answer to iq %s, got <%s id=%q>", iq.ID, reply.XMLName.Local, reply.ID)
	}
	switch reply.Type {
	case "result":
		return reply, nil
	case "error":
		return nil, stanza.ParseError(reply)
	}
	return nil, fmt.Errorf("answer of type %q", reply.Type)
}
