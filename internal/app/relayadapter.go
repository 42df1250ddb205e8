package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/mediapath"
)

// relayAdapter is the gateway's MediaRelay over mediapath, translating the
// relay's errors into the ones the call core names to users.
type relayAdapter struct{ r *mediapath.Relay }

func (a relayAdapter) Open(ice bool, ended func(error)) (gateway.MediaPath, error) {
	p, err := a.r.Open(ice, func(err error) { ended(coreError(err)) })
	if err != nil {
		return nil, coreError(err)
	}
	return p, nil
}

func coreError(err error) error {
	switch {
	case errors.Is(err, media.ErrIdle):
		return fmt.Errorf("%w: %w", gateway.ErrMediaIdle, err)
	case errors.Is(err, media.ErrDTLS):
		return fmt.Errorf("%w: %w", gateway.ErrMediaHandshake, err)
	case errors.Is(err, media.ErrLimit), errors.Is(err, media.ErrNoPorts):
		return fmt.Errorf("%w: %w", gateway.ErrRelayFull, err)
	}
	return err
}

// newRelay starts the media relay unless media.mode is direct.
func newRelay(cfg config.Media, log *slog.Logger) (*media.Relay, error) {
	if cfg.Mode == gateway.MediaModeDirect {
		return nil, nil
	}
	bind, err := parseAddr(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("media.bind: %w", err)
	}
	return media.NewRelay(media.Config{
		BindAddr: bind, SIPAddr: cfg.AnnouncedSIP(), XMPPAddr: cfg.AnnouncedXMPP(),
		PortMin: uint16(cfg.PortMin), PortMax: uint16(cfg.PortMax),
		MaxSessions: cfg.MaxRelayed, IdleTimeout: cfg.IdleTimeout.Duration,
		HandshakeTimeout: cfg.HandshakeTimeout.Duration, LearnWindow: cfg.LearnWindow.Duration,
		Kernel: kernelMode(cfg.KernelForwarding),
	}, log)
}

// kernelMode maps media.kernel_forwarding (validated) to the relay's.
func kernelMode(s string) media.KernelMode {
	switch s {
	case "on":
		return media.KernelOn
	case "off":
		return media.KernelOff
	}
	return media.KernelAuto
}

func parseAddr(s string) (netip.Addr, error) { return netip.ParseAddr(s) }

// relayStats reads the relay's counters; zero when it does not run.
func relayStats(r *media.Relay) func() media.Stats {
	return func() media.Stats {
		if r == nil {
			return media.Stats{}
		}
		return r.Stats()
	}
}

func (a relayAdapter) OpenEcho(ended func(error)) (gateway.EchoPath, error) {
	p, err := a.r.OpenEcho(func(err error) { ended(coreError(err)) })
	if err != nil {
		return nil, coreError(err)
	}
	return p, nil
}
