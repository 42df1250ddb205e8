package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
	"fargo.dev/fargo/internal/xdata"
)

// Form field names (protocol-map §5.3.1).
const (
	fieldUsername    = "username"
	fieldPassword    = "password"
	fieldAuthUser    = "sip-auth-user"
	fieldRegistrar   = "sip-registrar"
	fieldProxy       = "sip-outbound-proxy"
	fieldTransport   = "sip-transport"
	fieldDisplayName = "sip-display-name"
)

const registerInstructions = "Enter your SIP account: address (user@domain), password, and, if your provider needs them, the digest user name, the registrar and an outbound proxy."

// registerQuery is <query xmlns='jabber:iq:register'/> in both directions.
type registerQuery struct {
	XMLName      xml.Name    `xml:"jabber:iq:register query"`
	Instructions string      `xml:"instructions,omitempty"`
	Registered   *struct{}   `xml:"registered"`
	Username     *string     `xml:"username"`
	Password     *string     `xml:"password"`
	Remove       *struct{}   `xml:"remove"`
	Form         *xdata.Form `xml:"jabber:x:data x"`
}

// accountInput is what a user submitted, before validation.
type accountInput struct {
	SIPAddress, Password, AuthUser, Registrar, Proxy, Transport, DisplayName string
}

func (g *Gateway) handleRegister(ctx context.Context, r *iqRequest) {
	var q registerQuery
	if _, err := r.Decode(nsRegister, "query", &q); err != nil {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "malformed registration: %v", err))
		return
	}
	if r.Type == "get" {
		g.registerForm(ctx, r)
		return
	}
	if !g.domainAllowed(r.from.Domainpart()) {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeCancel, stanza.NotAllowed, "users of %s may not register with this gateway", r.from.Domainpart()))
		return
	}
	if g.isDraining() {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeWait, stanza.ServiceUnavailable, "the gateway is shutting down"))
		return
	}
	if q.Remove != nil {
		u := g.user(r.bare)
		req := r.Stanza
		u.post(func() { u.remove(req) })
		return
	}
	in, serr := parseRegistration(&q)
	if serr != nil {
		g.replyError(ctx, r.Stanza, serr)
		return
	}
	u := g.user(r.bare)
	req := r.Stanza
	u.post(func() {
		isNew, err := u.register(in)
		if err != nil {
			g.replyError(u.ctx, req, err)
			return
		}
		g.reply(u.ctx, req)
		u.afterRegister(isNew)
	})
}

// registerForm answers a registration get: the form, pre-filled (password
// never echoed) and with <registered/> if the user has an account.
func (g *Gateway) registerForm(ctx context.Context, r *iqRequest) {
	cur, serr := g.currentAccount(ctx, r.bare)
	if serr != nil {
		g.replyError(ctx, r.Stanza, serr)
		return
	}
	q := registerQuery{Instructions: registerInstructions, Form: accountForm(xdata.TypeForm, cur)}
	empty := ""
	q.Username, q.Password = &empty, &empty
	if cur != nil {
		q.Registered = &struct{}{}
		addr := cur.SIPAddress
		q.Username = &addr
	}
	g.reply(ctx, r.Stanza, q)
}

// currentAccount is the account of jid, or nil if it has none. It may be
// the actor's own copy: read it, never modify it.
func (g *Gateway) currentAccount(ctx context.Context, jid string) (*store.Account, *stanza.Error) {
	acct, err := g.accountOf(ctx, jid)
	switch {
	case err == nil:
		return acct, nil
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	default:
		g.log.Error("read account", "jid", jid, "err", err)
		return nil, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, "")
	}
}

// accountForm builds the registration form, filled from cur when not nil.
func accountForm(typ string, cur *store.Account) *xdata.Form {
	v := func(get func(*store.Account) string) []string {
		if cur == nil {
			return nil
		}
		if s := get(cur); s != "" {
			return []string{s}
		}
		return nil
	}
	transport := []string{"udp"}
	if cur != nil && cur.Transport != "" {
		transport = []string{string(cur.Transport)}
	}
	return &xdata.Form{
		Type:         typ,
		Title:        "SIP account",
		Instructions: registerInstructions,
		Fields: []xdata.Field{
			{Var: "FORM_TYPE", Type: xdata.FieldHidden, Values: []string{nsRegister}},
			{Var: fieldUsername, Type: xdata.FieldTextSingle, Label: "SIP address (user@domain)", Required: xdata.Required(), Values: v(func(a *store.Account) string { return a.SIPAddress })},
			{Var: fieldPassword, Type: xdata.FieldTextPrivate, Label: "SIP password", Required: requiredUnless(cur != nil), Desc: passwordDesc(cur)},
			{Var: fieldAuthUser, Type: xdata.FieldTextSingle, Label: "Authentication user name (if not the address' user part)", Values: v(func(a *store.Account) string { return a.AuthUser })},
			{Var: fieldRegistrar, Type: xdata.FieldTextSingle, Label: "Registrar host[:port] (default: the address' domain)", Values: v(func(a *store.Account) string { return a.Registrar })},
			{Var: fieldProxy, Type: xdata.FieldTextSingle, Label: "Outbound proxy (optional)", Values: v(func(a *store.Account) string { return a.OutboundProxy })},
			{Var: fieldTransport, Type: xdata.FieldListSingle, Label: "Transport", Values: transport, Options: []xdata.Option{
				{Label: "UDP", Value: "udp"}, {Label: "TCP", Value: "tcp"}, {Label: "TLS", Value: "tls"},
			}},
			{Var: fieldDisplayName, Type: xdata.FieldTextSingle, Label: "Display name (optional)", Values: v(func(a *store.Account) string { return a.DisplayName })},
		},
	}
}

func requiredUnless(b bool) *struct{} {
	if b {
		return nil
	}
	return xdata.Required()
}

func passwordDesc(cur *store.Account) string {
	if cur != nil {
		return "Leave empty to keep the current password."
	}
	return ""
}

// parseRegistration reads a submitted form, or the legacy username and
// password fields (XEP-0077 §3.1) when there is no form.
func parseRegistration(q *registerQuery) (accountInput, *stanza.Error) {
	if q.Form != nil {
		return parseAccountForm(q.Form)
	}
	if q.Username == nil && q.Password == nil {
		return accountInput{}, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "registration carries neither a data form nor username/password")
	}
	in := accountInput{Transport: "udp"}
	if q.Username != nil {
		in.SIPAddress = strings.TrimSpace(*q.Username)
	}
	if q.Password != nil {
		in.Password = *q.Password
	}
	return in, validateInput(&in)
}

func parseAccountForm(f *xdata.Form) (accountInput, *stanza.Error) {
	if f.Type != xdata.TypeSubmit {
		return accountInput{}, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "data form of type %q, want %q", f.Type, xdata.TypeSubmit)
	}
	if ft := f.FormType(); ft != "" && ft != nsRegister {
		return accountInput{}, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "FORM_TYPE %q, want %q", ft, nsRegister)
	}
	val := func(k string) string { s, _ := f.Value(k); return s }
	in := accountInput{
		SIPAddress:  val(fieldUsername),
		AuthUser:    val(fieldAuthUser),
		Registrar:   val(fieldRegistrar),
		Proxy:       val(fieldProxy),
		Transport:   strings.ToLower(val(fieldTransport)),
		DisplayName: val(fieldDisplayName),
	}
	// Passwords may legitimately start or end with spaces: no trimming.
	for _, fl := range f.Fields {
		if fl.Var == fieldPassword && len(fl.Values) > 0 {
			in.Password = fl.Values[0]
		}
	}
	if in.Transport == "" {
		in.Transport = "udp"
	}
	return in, validateInput(&in)
}

// validateInput normalises and checks every field; the error names the field.
func validateInput(in *accountInput) *stanza.Error {
	bad := func(format string, args ...any) *stanza.Error {
		return stanza.Errorf(stanza.TypeModify, stanza.NotAcceptable, format, args...)
	}
	addr := strings.TrimPrefix(strings.TrimPrefix(in.SIPAddress, "sip:"), "sips:")
	user, host, ok := strings.Cut(addr, "@")
	if addr == "" {
		return bad("the SIP address is required")
	}
	if !ok || user == "" || strings.ContainsAny(user, " <>\"") || validHostPort(host) != nil {
		return bad("the SIP address %q is not of the form user@domain", in.SIPAddress)
	}
	in.SIPAddress = user + "@" + strings.ToLower(host)
	if len(in.Password) > 1024 || strings.ContainsAny(in.Password, "\r\n") {
		return bad("the password is not usable for SIP digest authentication")
	}
	if strings.ContainsAny(in.AuthUser, " \r\n\"") {
		return bad("the authentication user name %q contains characters SIP does not allow", in.AuthUser)
	}
	if in.Registrar != "" {
		if err := validHostPort(in.Registrar); err != nil {
			return bad("the registrar %q is not host or host:port: %v", in.Registrar, err)
		}
	}
	if in.Proxy != "" {
		p := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(in.Proxy, "sip:"), "sips:"), ";lr")
		if err := validHostPort(p); err != nil {
			return bad("the outbound proxy %q is not a SIP URI or host:port: %v", in.Proxy, err)
		}
	}
	switch store.Transport(in.Transport) {
	case store.TransportUDP, store.TransportTCP, store.TransportTLS:
	default:
		return bad("transport %q is not udp, tcp or tls", in.Transport)
	}
	if strings.ContainsAny(in.DisplayName, "\r\n\"") {
		return bad("the display name may not contain quotes or line breaks")
	}
	return nil
}

// validHostPort accepts a domain name or IP literal with an optional port.
func validHostPort(s string) error {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if port != "" {
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
			return fmt.Errorf("bad port %q", port)
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if host == "" || len(host) > 253 {
		return errors.New("empty or over-long host")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("bad domain name")
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return fmt.Errorf("bad character %q in domain name", c)
			}
		}
	}
	return nil
}
