package logging

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Names of connectd's loggers and of the attributes that select them.
const (
	// Root is the ancestor of every logger.
	Root = "root"
	// Worker is the worker's logger.
	Worker = "connectd.worker"
	// Kafka is the Kafka client's logger.
	Kafka = "connectd.kafka"
	// REST is the REST server's logger.
	REST = "connectd.rest"

	// AttrLogger is the attribute naming a record's logger.
	AttrLogger = "logger"
	// AttrConnector is the attribute naming a record's connector; it
	// selects the logger ConnectorLogger(value) and wins over AttrLogger.
	AttrConnector = "connector"
)

// ConnectorLogger returns the name of a connector's logger:
// "connector.<name>".
func ConnectorLogger(name string) string { return "connector." + name }

// Levels beyond slog's four, for log4j's names.
const (
	// LevelTrace is log4j's TRACE, below slog.LevelDebug.
	LevelTrace slog.Level = slog.LevelDebug - 4
	// LevelFatal is log4j's FATAL, above slog.LevelError. connectd never
	// exits on a log call; FATAL is only a level to filter by.
	LevelFatal slog.Level = slog.LevelError + 4
	// LevelOff is log4j's OFF: a logger at it logs nothing.
	LevelOff slog.Level = 1 << 30
	// LevelAll is log4j's ALL: a logger at it logs everything.
	LevelAll slog.Level = -(1 << 30)
)

// ParseLevel reads a log4j level name, case-insensitively: TRACE, DEBUG,
// INFO, WARN, ERROR, FATAL, OFF or ALL.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ALL":
		return LevelAll, nil
	case "TRACE":
		return LevelTrace, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARN":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	case "FATAL":
		return LevelFatal, nil
	case "OFF":
		return LevelOff, nil
	}
	return 0, fmt.Errorf("%q is not a log level; use TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF or ALL", s)
}

// LevelName returns the log4j name of l; a level between two names gets
// the lower one's (slog's DEBUG+2 is DEBUG).
func LevelName(l slog.Level) string {
	switch {
	case l <= LevelAll:
		return "ALL"
	case l < slog.LevelDebug:
		return "TRACE"
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	case l < LevelFatal:
		return "ERROR"
	case l < LevelOff:
		return "FATAL"
	}
	return "OFF"
}

// Levels holds the level of the root logger and of every named logger. It
// is safe for concurrent use; reading a level (once per log call) is one
// atomic load.
type Levels struct {
	root *node

	mu    sync.RWMutex
	nodes map[string]*node // every logger but root
	min   atomic.Int64     // the lowest effective level of all loggers
	now   func() time.Time
}

// node is one logger. Its level is what follow points at: its own lv once
// set explicitly, else the nearest explicitly set ancestor's, else root's.
type node struct {
	name   string
	lv     slog.LevelVar
	follow atomic.Pointer[slog.LevelVar]

	// Guarded by Levels.mu.
	explicit bool
	modified time.Time
}

func (n *node) level() slog.Level { return n.follow.Load().Level() }

// NewLevels returns levels with root at rootLevel and the named loggers
// registered (following root).
func NewLevels(rootLevel slog.Level, names ...string) *Levels {
	l := &Levels{root: &node{name: Root, explicit: true}, nodes: map[string]*node{}, now: time.Now}
	l.root.lv.Set(rootLevel)
	l.root.follow.Store(&l.root.lv)
	l.min.Store(int64(rootLevel))
	for _, n := range names {
		l.Register(n)
	}
	return l
}

// Register makes a logger known (listed by All) without setting its level.
// Registering a known name does nothing.
func (l *Levels) Register(name string) { l.node(name) }

// node returns the logger called name, creating it.
func (l *Levels) node(name string) *node {
	if name == Root || name == "" {
		return l.root
	}
	l.mu.RLock()
	n, ok := l.nodes[name]
	l.mu.RUnlock()
	if ok {
		return n
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodeLocked(name)
}

func (l *Levels) nodeLocked(name string) *node {
	if n, ok := l.nodes[name]; ok {
		return n
	}
	n := &node{name: name}
	n.follow.Store(l.ancestorLocked(name))
	l.nodes[name] = n
	l.updateMinLocked()
	return n
}

// ancestorLocked returns the level a logger called name follows when not
// set itself: its nearest explicitly set ancestor's, else root's.
func (l *Levels) ancestorLocked(name string) *slog.LevelVar {
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		if a, ok := l.nodes[name[:i]]; ok && a.explicit {
			return &a.lv
		}
	}
	return &l.root.lv
}

func (l *Levels) updateMinLocked() {
	m := l.root.lv.Level()
	for _, n := range l.nodes {
		m = min(m, n.follow.Load().Level())
	}
	l.min.Store(int64(m))
}

// minLevel is the lowest level any logger logs at.
func (l *Levels) minLevel() slog.Level { return slog.Level(l.min.Load()) }

// Level returns the effective level of the logger called name; ok is false
// for a logger that is not known.
func (l *Levels) Level(name string) (level slog.Level, ok bool) {
	if name == Root {
		return l.root.level(), true
	}
	l.mu.RLock()
	n, ok := l.nodes[name]
	l.mu.RUnlock()
	if !ok {
		return 0, false
	}
	return n.level(), true
}

// Set sets the level of the logger called name and of all its descendants
// (of every logger, for root), creating the logger when it is not known.
// It returns the names of the loggers it set, sorted.
func (l *Levels) Set(name string, level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var affected []string
	set := func(n *node) {
		n.lv.Set(level)
		n.explicit, n.modified = true, now
		affected = append(affected, n.name)
	}
	if name == Root {
		set(l.root)
	} else {
		l.nodeLocked(name)
	}
	prefix := name + "."
	for _, n := range l.nodes {
		if name == Root || n.name == name || strings.HasPrefix(n.name, prefix) {
			set(n)
		}
	}
	for _, n := range l.nodes {
		if n.explicit {
			n.follow.Store(&n.lv)
		} else {
			n.follow.Store(l.ancestorLocked(n.name))
		}
	}
	l.updateMinLocked()
	slices.Sort(affected)
	return affected
}

// Logger is one logger's level, as All reports it.
type Logger struct {
	// Name is the logger's name.
	Name string
	// Level is its effective level.
	Level slog.Level
	// LastModified is when Set last changed it; zero when never.
	LastModified time.Time
}

// All returns every known logger, root included, sorted by name.
func (l *Levels) All() []Logger {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := []Logger{{Name: Root, Level: l.root.level(), LastModified: l.root.modified}}
	for _, n := range l.nodes {
		out = append(out, Logger{Name: n.name, Level: n.level(), LastModified: n.modified})
	}
	slices.SortFunc(out, func(a, b Logger) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns one logger's level; ok is false for a logger that is not
// known.
func (l *Levels) Get(name string) (lg Logger, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := l.root
	if name != Root {
		if n, ok = l.nodes[name]; !ok {
			return Logger{}, false
		}
	}
	return Logger{Name: n.name, Level: n.level(), LastModified: n.modified}, true
}
