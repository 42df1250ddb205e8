package sip

import (
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// What the UA puts into Allow and Supported of call requests and responses.
// INVITE is listed only once SetIncoming installed a hook; the in-dialog
// methods are served for outbound calls regardless.
const (
	allowCalls   = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
	allowNoCalls = "OPTIONS, ACK, CANCEL, BYE, INFO, UPDATE"
	supported    = "timer"
	sdpType      = "application/sdp"
)

// headerValue returns the first value of the header called long or, in
// compact form, short ("" for none): sipgo keeps headers it does not parse
// under the name they arrived with.
func headerValue(m sipmsg.Message, long, short string) string {
	for _, name := range []string{long, short} {
		if name == "" {
			continue
		}
		if hs := m.GetHeaders(name); len(hs) > 0 {
			return strings.TrimSpace(hs[0].Value())
		}
	}
	return ""
}

// hasToken reports whether a comma-separated list header (Allow, Supported,
// Require) contains token, case-insensitively, in any of its instances.
func hasToken(m sipmsg.Message, long, short, token string) bool {
	for _, name := range []string{long, short} {
		if name == "" {
			continue
		}
		for _, h := range m.GetHeaders(name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), token) {
					return true
				}
			}
		}
	}
	return false
}

// unsupportedRequire returns the option tags of Require that the UA does not
// implement (only "timer" is), for a 420 Bad Extension.
func unsupportedRequire(m sipmsg.Message) []string {
	var out []string
	for _, h := range m.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			t = strings.TrimSpace(t)
			if t != "" && !strings.EqualFold(t, supported) && validOptionTag(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// validOptionTag keeps what a peer sent us in Require from breaking the
// Unsupported header we echo it in.
func validOptionTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && strings.IndexByte("-.!%*_+`'~", c) < 0 {
			return false
		}
	}
	return len(s) <= 64
}

// sessionExpires reads Session-Expires (compact "x"): delta-seconds and the
// refresher parameter ("uac", "uas" or "").
func sessionExpires(m sipmsg.Message) (time.Duration, string, bool) {
	v := headerValue(m, "Session-Expires", "x")
	if v == "" {
		return 0, "", false
	}
	secs, params, _ := strings.Cut(v, ";")
	n, ok := parseUint32(secs)
	if !ok || n == 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return time.Duration(n) * time.Second, refresher, true
}

// minSE reads Min-SE (delta-seconds, parameters ignored).
func minSE(m sipmsg.Message) (time.Duration, bool) {
	v, _, _ := strings.Cut(headerValue(m, "Min-SE", ""), ";")
	n, ok := parseUint32(v)
	if !ok || n == 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// seconds formats d as delta-seconds, rounded up.
func seconds(d time.Duration) string {
	return strconv.FormatUint(uint64(expirySeconds(d)), 10)
}

// contentType returns the media type of m's body without parameters, lower
// case.
func contentType(m sipmsg.Message) string {
	v, _, _ := strings.Cut(headerValue(m, "Content-Type", "c"), ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// sdpBody returns m's body if it is SDP, else nil.
func sdpBody(m sipmsg.Message) []byte {
	if len(m.Body()) == 0 || contentType(m) != sdpType {
		return nil
	}
	return m.Body()
}

// cleanHeader keeps a peer's header value printable for handing to the
// gateway core (it may end up in messages to users).
func cleanHeader(s string) string { return printable(s, 256) }

// addrURI returns the URI of the first name-addr or addr-spec in v (a
// P-Asserted-Identity value): `"Carol" <sip:c@x>, <tel:+1>` gives sip:c@x.
func addrURI(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return cleanHeader(v[i+1 : i+j])
		}
		return ""
	}
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, ";")
	return cleanHeader(v)
}

// uriText is a From/To/P-Asserted-Identity URI as the core gets it: for
// sip/sips the address without parameters or headers, others as sent.
func uriText(u *sipmsg.Uri) string {
	if s := strings.ToLower(u.Scheme); s == "sip" || s == "sips" {
		return u.Addr()
	}
	return u.String()
}

// hopOf returns the host:port a request to u goes to, with the default port
// of transport when u has none.
func hopOf(u sipmsg.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		port = sipmsg.DefaultPort(transport)
	}
	return hostPort(strings.Trim(u.Host, "[]"), port)
}

// transportOf returns the transport a URI asks for with its transport
// parameter (sips means TLS), else def.
func transportOf(u sipmsg.Uri, def string) string {
	if u.IsEncrypted() {
		return "TLS"
	}
	if v, ok := u.UriParams.Get("transport"); ok {
		if t, err := parseTransport(v); err == nil {
			return t
		}
	}
	return def
}

// sameHop reports whether two URIs name the same host and port.
func sameHop(a, b sipmsg.Uri, transport string) bool {
	return strings.EqualFold(hopOf(a, transport), hopOf(b, transport))
}
