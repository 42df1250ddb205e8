package xmpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// defaultClientPort is the c2s port of RFC 6120 §3.2.2's fallback.
const defaultClientPort = 5222

// dial opens the TCP connection: to Addr when set; else (client links) to
// the targets of the domain's _xmpp-client._tcp SRV records in priority and
// weight order, then to <domain>:5222 (RFC 6120 §3.2).
func (l *Link) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: l.cfg.DialTimeout, Control: l.dialControl}
	addrs := []string{l.cfg.Addr}
	if l.cfg.Addr == "" {
		var err error
		if addrs, err = l.clientAddrs(ctx); err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
	}
	var errs []error
	for _, a := range addrs {
		nc, err := d.DialContext(ctx, "tcp", a)
		if err == nil {
			return nc, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("dial: %w", errors.Join(errs...))
}

// clientAddrs resolves where the domain's c2s service listens. Without SRV
// records (the common case of small servers, or a DNS failure) only the
// fallback is tried; a lone "." target means the domain has no c2s service.
func (l *Link) clientAddrs(ctx context.Context) ([]string, error) {
	domain := l.cfg.Domain
	fallback := net.JoinHostPort(domain, strconv.Itoa(defaultClientPort))
	// LookupSRV may return usable records along with an error about
	// others, so records win over the error.
	_, srvs, err := l.lookupSRV(ctx, "xmpp-client", "tcp", domain)
	if len(srvs) == 0 {
		l.log.Debug("xmpp: no SRV records, using the fallback", "domain", domain, "addr", fallback, "err", err)
		return []string{fallback}, nil
	}
	if len(srvs) == 1 && (srvs[0].Target == "." || srvs[0].Target == "") {
		return nil, fmt.Errorf("%s announces no xmpp-client service (SRV target \".\")", domain)
	}
	addrs := make([]string, 0, len(srvs)+1)
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if host == "" {
			continue
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(s.Port))))
	}
	if !contains(addrs, fallback) {
		addrs = append(addrs, fallback)
	}
	return addrs, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
