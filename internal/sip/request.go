package sip

import (
	"strconv"

	sipmsg "github.com/emiago/sipgo/sip"
)

// build writes a complete REGISTER for binding b, with credentials for the
// challenges taken so far. Every request of an exchange gets a new Via
// branch; From tag and Call-ID stay.
func (ex *exchange) build(b Binding) (*sipmsg.Request, error) {
	t, ua := ex.t, ex.ua
	req := sipmsg.NewRequest(sipmsg.REGISTER, t.ruri)
	ua.address(req, t.transport, t.dest)
	req.AppendHeader(ua.newVia(t.transport))
	if t.proxy != nil {
		route := &sipmsg.RouteHeader{Address: *t.proxy}
		route.Address.UriParams = sipmsg.HeaderParams{{K: "lr", V: ""}}
		req.AppendHeader(route)
	}
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	from := &sipmsg.FromHeader{DisplayName: t.display, Address: t.aor, Params: sipmsg.HeaderParams{{K: "tag", V: ex.fromTag}}}
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: t.aor})
	callID := sipmsg.CallIDHeader(b.CallID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: b.CSeq, MethodName: sipmsg.REGISTER})
	req.AppendHeader(ex.contact())
	expires := sipmsg.ExpiresHeader(ex.expires)
	req.AppendHeader(&expires)
	req.AppendHeader(sipmsg.NewHeader("User-Agent", ua.cfg.UserAgent))
	req.SetBody(nil)
	if err := ex.auth.apply(req, t.authUser, t.password); err != nil {
		return nil, err
	}
	return req, nil
}

// address sets where req goes: its transport and first hop, and for UDP
// the listening socket to leave from, so the source address peers see (and
// answer, and registrars later send INVITEs to) is the one in Contact
// (emiago/sipgo#165). sipgo looks the socket up in its pool by this local
// address.
func (ua *UA) address(req *sipmsg.Request, transport, dest string) {
	req.SetTransport(transport)
	req.SetDestination(dest)
	if transport == "UDP" {
		ua.sendFrom.Copy(&req.Laddr)
	}
}

// newVia returns our Via with a new branch and rport (RFC 3581): for UDP
// and TCP, sent-by is the listener (also where the response goes); for TLS,
// sipgo fills in the connection's own address since we do not listen for
// TLS.
func (ua *UA) newVia(transport string) *sipmsg.ViaHeader {
	v := &sipmsg.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       transport,
		Params:          sipmsg.HeaderParams{{K: "branch", V: sipmsg.GenerateBranchN(16)}, {K: "rport", V: ""}},
	}
	if transport != "TLS" {
		v.Host, v.Port = ua.contactHost, ua.contactPort
	}
	return v
}

// contact is <sip:TOKEN@host:port;transport=x>;expires=N, the binding this
// REGISTER adds, refreshes or (N=0) removes.
func (ex *exchange) contact() *sipmsg.ContactHeader {
	return &sipmsg.ContactHeader{
		Address: ex.ua.contactURI(ex.t.token, ex.t.transport),
		Params:  sipmsg.HeaderParams{{K: "expires", V: strconv.FormatUint(uint64(ex.expires), 10)}},
	}
}

// contactURI is sip:TOKEN@host:port;transport=x: where requests for the
// user with that contact token reach us.
func (ua *UA) contactURI(token, transport string) sipmsg.Uri {
	return sipmsg.Uri{
		Scheme:    "sip",
		User:      token,
		Host:      ua.contactHost,
		Port:      ua.contactPort,
		UriParams: sipmsg.HeaderParams{{K: "transport", V: lowerTransport(transport)}},
	}
}

func lowerTransport(t string) string {
	switch t {
	case "TCP":
		return "tcp"
	case "TLS":
		return "tls"
	}
	return "udp"
}
