package config

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

func (c *Config) validateMedia() error {
	m := &c.Media
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(oneOf("media.mode", m.Mode, "auto", "relay", "direct"))
	bind, err := netip.ParseAddr(m.Bind)
	if err != nil {
		add(fmt.Errorf("media.bind: %q is not an IP address", m.Bind))
	}
	for _, a := range []struct{ key, v string }{{"media.announce_sip", m.AnnounceSIP}, {"media.announce_xmpp", m.AnnounceXMPP}} {
		if a.v == "" {
			continue
		}
		if ip, err := netip.ParseAddr(a.v); err != nil || ip.IsUnspecified() {
			add(fmt.Errorf("%s: %q is not a usable IP address", a.key, a.v))
		}
	}
	if err == nil && bind.IsUnspecified() && m.AnnounceSIP == "" && m.Mode != "direct" {
		add(fmt.Errorf("media.announce_sip: required when media.bind (%s) is a wildcard: set the address peers send media to", m.Bind))
	}
	switch {
	case m.PortMin < 1024 || m.PortMax > 65535:
		add(fmt.Errorf("media.port_min..port_max: %d..%d, must lie within 1024..65535", m.PortMin, m.PortMax))
	case m.PortMax-m.PortMin+1 < 4:
		add(fmt.Errorf("media.port_min..port_max: %d..%d, needs at least 4 ports", m.PortMin, m.PortMax))
	}
	if m.MaxRelayed < 1 {
		add(fmt.Errorf("media.max_relayed: %d, must be at least 1", m.MaxRelayed))
	}
	add(positive("media.idle_timeout", m.IdleTimeout, time.Second))
	add(positive("media.handshake_timeout", m.HandshakeTimeout, time.Second))
	add(positive("media.learn_window", m.LearnWindow, 100*time.Millisecond))
	add(oneOf("media.kernel_forwarding", m.KernelForwarding, "auto", "on", "off"))
	return errors.Join(errs...)
}

// AnnouncedSIP is the media address told to SIP peers.
func (m Media) AnnouncedSIP() netip.Addr {
	if a, err := netip.ParseAddr(m.AnnounceSIP); err == nil {
		return a
	}
	a, _ := netip.ParseAddr(m.Bind)
	return a
}

// AnnouncedXMPP is the media address told to XMPP clients.
func (m Media) AnnouncedXMPP() netip.Addr {
	if a, err := netip.ParseAddr(m.AnnounceXMPP); err == nil {
		return a
	}
	return m.AnnouncedSIP()
}
