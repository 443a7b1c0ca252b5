package embedkafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Defaults of Config.
const (
	DefaultAddr       = "127.0.0.1:9092"
	DefaultPartitions = 4
	DefaultClusterID  = "connectd-embedded"
)

// Config configures an embedded broker. The zero value is an in-memory
// broker on 127.0.0.1:9092.
type Config struct {
	// DataDir is where the broker keeps its logs, groups, transactions and
	// offsets; they survive a restart on the same directory. Empty keeps
	// everything in memory, lost on Close.
	DataDir string
	// Addr is the listen address, host:port. Port 0 picks a free port
	// (see Broker.Addr). Default DefaultAddr.
	Addr string
	// DefaultPartitions is the partition count of a topic created with
	// -1 partitions (the broker's default). Default DefaultPartitions.
	DefaultPartitions int
	// ClusterID is returned in metadata responses. Default DefaultClusterID.
	ClusterID string
	// Logger receives the broker's warnings and errors; nil discards them.
	Logger *slog.Logger
	// CompactInterval is how often topics with cleanup.policy=compact
	// (changelogs, source offsets) are compacted, as a real broker's log
	// cleaner would. Default DefaultCompactInterval; negative: never.
	CompactInterval time.Duration
	// Retention is the broker's log.retention.ms: records whose timestamp
	// is older are deleted at the next compaction pass (every
	// CompactInterval), as a real broker's retention would. Zero means
	// Kafka's default, DefaultRetention (7 days); negative keeps records
	// forever. Topics override it with retention.ms. Records are judged by
	// their own timestamps, so events stamped weeks ago (a replayed
	// archive, a generator with an old start.time) are deleted within a
	// minute under the default.
	Retention time.Duration
}

// DefaultRetention is Kafka's default log.retention.ms, 7 days.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultCompactInterval is how often the embedded broker compacts.
const DefaultCompactInterval = time.Minute

// Broker is one embedded single-node Kafka cluster. Its methods are safe for
// concurrent use.
type Broker struct {
	cfg Config

	mu      sync.Mutex
	cluster *kfake.Cluster
	addr    string
	closed  bool
	// stopCompact ends the compaction loop Start began; compactDone is
	// closed when it has.
	stopCompact, compactDone chan struct{}
}

// New validates cfg, fills its defaults and returns a Broker that is not
// yet listening.
func New(cfg Config) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("embedded kafka: listen address %q: %w", cfg.Addr, err)
	}
	if cfg.DefaultPartitions == 0 {
		cfg.DefaultPartitions = DefaultPartitions
	}
	if cfg.DefaultPartitions < 1 {
		return nil, fmt.Errorf("embedded kafka: default partitions %d: must be at least 1", cfg.DefaultPartitions)
	}
	if cfg.CompactInterval == 0 {
		cfg.CompactInterval = DefaultCompactInterval
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = DefaultClusterID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{cfg: cfg}, nil
}

// ErrClosed is returned by Start after Close: a Broker is not restartable;
// make a new one on the same DataDir instead.
var ErrClosed = errors.New("embedded kafka: broker is closed")

// Start loads the data directory (if any), listens on the configured
// address and starts serving. It returns once the broker accepts
// connections. Calling Start on a running broker does nothing.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.cluster != nil {
		return nil
	}
	addr := b.cfg.Addr
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
		kfake.DefaultNumPartitions(b.cfg.DefaultPartitions),
		kfake.ClusterID(b.cfg.ClusterID),
	}
	if b.cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(b.cfg.DataDir))
	}
	retention := b.cfg.Retention
	switch {
	case retention == 0:
		retention = DefaultRetention
	case retention < 0:
		retention = -time.Millisecond // log.retention.ms=-1: forever
	}
	opts = append(opts, kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.FormatInt(retention.Milliseconds(), 10)}))
	opts = append(opts, kfake.WithLogger(slogLogger{b.cfg.Logger}))
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		where := "in memory"
		if b.cfg.DataDir != "" {
			where = "on " + b.cfg.DataDir
		}
		return fmt.Errorf("embedded kafka: start on %s (%s): %w", addr, where, err)
	}
	b.cluster = c
	if addrs := c.ListenAddrs(); len(addrs) > 0 {
		b.addr = addrs[0]
	}
	if b.cfg.CompactInterval > 0 {
		stop, done := make(chan struct{}), make(chan struct{})
		b.stopCompact, b.compactDone = stop, done
		go func() {
			defer close(done)
			t := time.NewTicker(b.cfg.CompactInterval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					c.Compact()
				}
			}
		}()
	}
	b.cfg.Logger.Info("embedded kafka started", "addr", b.addr, "data_dir", b.cfg.DataDir)
	return nil
}

// Addr returns the bootstrap address clients connect to, with the real
// port when Config.Addr asked for port 0. It is empty before Start.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// Close stops the broker. With a data directory it first writes the
// broker's whole state there. Close is idempotent; a closed Broker cannot
// be started again.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.stopCompact != nil {
		close(b.stopCompact)
		<-b.compactDone
	}
	if b.cluster != nil {
		b.cluster.Close()
		b.cluster = nil
		b.cfg.Logger.Info("embedded kafka stopped", "addr", b.addr)
	}
	return nil
}

// Run starts the broker (if Start was not called yet), blocks until ctx is
// done, then closes it. It returns nil after a clean stop, or the error
// that kept the broker from starting.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return b.Close()
}

// slogLogger adapts a *slog.Logger to kfake's Logger.
type slogLogger struct{ l *slog.Logger }

// Logf implements kfake.Logger: errors and warnings go to the logger;
// info and debug (every request) are dropped.
func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error("embedded kafka: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		s.l.Warn("embedded kafka: " + fmt.Sprintf(format, args...))
	}
}
