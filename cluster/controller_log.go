package cluster

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// ctlHclog lets Raft and raft-wal, which log through hclog, write to the
// process's slog logger. Raft's Info lines (elections, heartbeats, snapshot
// progress) go out at Debug: the controller logs the events an operator
// wants (leadership, map changes) itself.
type ctlHclog struct {
	l    *slog.Logger
	name string
	args []any
}

func ctlNewHclog(l *slog.Logger, name string) hclog.Logger {
	return &ctlHclog{l: l, name: name}
}

func ctlSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug, hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (h *ctlHclog) Log(level hclog.Level, msg string, args ...any) {
	lv := ctlSlogLevel(level)
	ctx := context.Background()
	if !h.l.Enabled(ctx, lv) {
		return
	}
	all := make([]any, 0, len(h.args)+len(args))
	all = append(append(all, h.args...), args...)
	h.l.Log(ctx, lv, msg, all...)
}

func (h *ctlHclog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *ctlHclog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *ctlHclog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *ctlHclog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *ctlHclog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *ctlHclog) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), ctlSlogLevel(level))
}

func (h *ctlHclog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *ctlHclog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *ctlHclog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *ctlHclog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *ctlHclog) IsError() bool { return h.enabled(hclog.Error) }

func (h *ctlHclog) ImpliedArgs() []any { return h.args }

func (h *ctlHclog) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any(nil), h.args...), args...)
	return &c
}

func (h *ctlHclog) Name() string { return h.name }

func (h *ctlHclog) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *ctlHclog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.l = h.l.With("logger", name)
	return &c
}

// SetLevel is ignored: the slog handler decides what is written.
func (h *ctlHclog) SetLevel(hclog.Level) {}

func (h *ctlHclog) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Debug, hclog.Warn} {
		if h.enabled(lv) {
			return lv
		}
	}
	return hclog.Error
}

func (h *ctlHclog) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelDebug)
}

func (h *ctlHclog) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
