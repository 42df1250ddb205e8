package iceleg

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLogs routes pion's leveled loggers into the leg's slog.Logger. pion is
// chatty per call (every ICE state change is Info, every check Trace), so
// Trace, Debug and Info all become slog Debug; Warn and Error keep their
// level except for the messages that are expected at shutdown or in our
// configuration (see isNoise).
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

// isNoise tells pion Warn/Error messages that mean nothing is wrong:
// closing the socket under the mux's read loop, or a write racing Close.
func isNoise(msg string) bool {
	return strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "io: read/write on closed pipe") ||
		strings.Contains(msg, "buffer: closed") ||
		strings.Contains(msg, "the agent is closed") ||
		// Trickle ICE: checks start before the first remote candidate.
		strings.Contains(msg, "without candidate pairs")
}

// redact cuts the ICE password out of pion's "Started agent" message:
// it is a credential of the running session.
func redact(msg string) string {
	if i := strings.Index(msg, "remotePwd:"); i >= 0 {
		return msg[:i] + "remotePwd: [redacted]"
	}
	return msg
}

func (l pionLogger) emit(level slog.Level, msg string) {
	if level > slog.LevelDebug && isNoise(msg) {
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, redact(msg))
}

func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	// Formatting costs more than the check. isNoise only ever lowers a
	// level, so a disabled level stays disabled.
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.emit(level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emitf(slog.LevelWarn, format, args) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelError, format, args) }
