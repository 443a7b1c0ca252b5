package logging

import (
	"context"
	"io"
	"log/slog"
)

// Handler is a slog.Handler that passes on to another handler only the
// records at or above the level of their logger (see the package doc for
// how a record's logger is found). Build it with NewHandler.
type Handler struct {
	inner  slog.Handler
	levels *Levels
	// bound is the logger named by attributes added with WithAttrs, or
	// nil; byConnector says it came from AttrConnector, which no record
	// attribute can override.
	bound       *node
	byConnector bool
	// grouped says a group is open: later attributes are not top-level
	// and do not name a logger.
	grouped bool
}

// NewHandler wraps inner, filtering its records by levels. inner should
// itself let every level through (its own level, if any, applies too).
func NewHandler(inner slog.Handler, levels *Levels) *Handler {
	return &Handler{inner: inner, levels: levels}
}

// Enabled reports whether a record at level may be logged. When the
// logger is not yet known (it may be named by the record's attributes) it
// answers for the most verbose logger, and Handle decides.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.byConnector {
		return level >= h.bound.level() && h.inner.Enabled(ctx, level)
	}
	return level >= h.levels.minLevel() && h.inner.Enabled(ctx, level)
}

// Handle passes r on when its level is at least its logger's.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	n := h.bound
	if !h.byConnector && !h.grouped {
		var conn, logger string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case AttrConnector:
				conn = a.Value.Resolve().String()
			case AttrLogger:
				logger = a.Value.Resolve().String()
			}
			return true
		})
		switch {
		case conn != "":
			n = h.levels.node(ConnectorLogger(conn))
		case logger != "":
			n = h.levels.node(logger)
		}
	}
	if n == nil {
		n = h.levels.root
	}
	if r.Level < n.level() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a handler whose records carry attrs; an AttrConnector
// or AttrLogger among them names the logger of those records.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	if !h.grouped {
		for _, a := range attrs {
			switch a.Key {
			case AttrConnector:
				if v := a.Value.Resolve().String(); v != "" {
					h2.bound, h2.byConnector = h.levels.node(ConnectorLogger(v)), true
				}
			case AttrLogger:
				if v := a.Value.Resolve().String(); v != "" && !h2.byConnector {
					h2.bound = h.levels.node(v)
				}
			}
		}
	}
	h2.inner = h.inner.WithAttrs(attrs)
	return &h2
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.grouped = true
	h2.inner = h.inner.WithGroup(name)
	return &h2
}

// New returns a logger writing text (or JSON lines when json is true) to
// w, filtered by the returned Levels, whose root starts at rootLevel and
// which knows the loggers Worker, Kafka and REST. Levels print with their
// log4j names (TRACE, FATAL), not slog's (DEBUG-4, ERROR+4).
func New(w io.Writer, json bool, rootLevel slog.Level) (*slog.Logger, *Levels) {
	levels := NewLevels(rootLevel, Worker, Kafka, REST)
	opts := &slog.HandlerOptions{
		Level: LevelAll,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok {
					a.Value = slog.StringValue(LevelName(l))
				}
			}
			return a
		},
	}
	var inner slog.Handler
	if json {
		inner = slog.NewJSONHandler(w, opts)
	} else {
		inner = slog.NewTextHandler(w, opts)
	}
	return slog.New(NewHandler(inner, levels)), levels
}
