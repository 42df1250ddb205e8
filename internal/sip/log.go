package sip

import (
	"context"
	"log/slog"
)

// maxLogValue caps string attributes in sipgo's log records: sipgo logs the
// whole datagram when it cannot parse one, and scanners on public SIP ports
// send junk all day.
const maxLogValue = 256

// sipgoLogHandler adapts sipgo's logging to a gateway: unparsable input is
// the peer's fault and goes to Debug, and long values are cut.
type sipgoLogHandler struct{ inner slog.Handler }

func newSipgoLogger(l *slog.Logger) *slog.Logger {
	return slog.New(sipgoLogHandler{inner: l.Handler()}).With("component", "sipgo")
}

func (h sipgoLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level) || level == slog.LevelError // may be demoted in Handle
}

func (h sipgoLogHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if r.Message == "failed to parse" {
		level = slog.LevelDebug
	}
	if !h.inner.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(truncateAttr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h sipgoLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for i, a := range attrs {
		attrs[i] = truncateAttr(a)
	}
	return sipgoLogHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h sipgoLogHandler) WithGroup(name string) slog.Handler {
	return sipgoLogHandler{inner: h.inner.WithGroup(name)}
}

func truncateAttr(a slog.Attr) slog.Attr {
	if v := a.Value.Resolve(); v.Kind() == slog.KindString && len(v.String()) > maxLogValue {
		return slog.String(a.Key, v.String()[:maxLogValue]+"…")
	}
	return a
}
