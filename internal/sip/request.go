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
	req.SetTransport(t.transport)
	req.SetDestination(t.dest)
	if t.transport == "UDP" {
		// Leave from the listening socket, so the source address the
		// registrar sees (and answers, and later sends INVITEs to) is the
		// one in Contact (emiago/sipgo#165). sipgo looks the socket up in
		// its pool by this local address.
		ua.sendFrom.Copy(&req.Laddr)
	}
	req.AppendHeader(ex.via())
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
	for _, ch := range []*challenge{ex.proxy, ex.www} {
		if ch == nil {
			continue
		}
		v, err := ch.answer(string(sipmsg.REGISTER), t.ruri.String(), t.authUser, t.password)
		if err != nil {
			return nil, err
		}
		req.AppendHeader(sipmsg.NewHeader(ch.headerName(), v))
	}
	req.SetBody(nil)
	return req, nil
}

// via is our Via with rport (RFC 3581): for UDP, sent-by is the listener
// (also where the response goes); for TLS, sipgo fills in the connection's
// own address since we do not listen for TLS.
func (ex *exchange) via() *sipmsg.ViaHeader {
	v := &sipmsg.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       ex.t.transport,
		Params:          sipmsg.HeaderParams{{K: "branch", V: sipmsg.GenerateBranchN(16)}, {K: "rport", V: ""}},
	}
	if ex.t.transport != "TLS" {
		v.Host, v.Port = ex.ua.contactHost, ex.ua.contactPort
	}
	return v
}

// contact is <sip:TOKEN@host:port;transport=x>;expires=N, the binding this
// REGISTER adds, refreshes or (N=0) removes.
func (ex *exchange) contact() *sipmsg.ContactHeader {
	return &sipmsg.ContactHeader{
		Address: sipmsg.Uri{
			Scheme:    "sip",
			User:      ex.t.token,
			Host:      ex.ua.contactHost,
			Port:      ex.ua.contactPort,
			UriParams: sipmsg.HeaderParams{{K: "transport", V: lowerTransport(ex.t.transport)}},
		},
		Params: sipmsg.HeaderParams{{K: "expires", V: strconv.FormatUint(uint64(ex.expires), 10)}},
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
