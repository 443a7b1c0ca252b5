package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/embedkafka"
	"github.com/connectd/connectd/worker"
)

// kafkaFlags are the flags that choose the Kafka a command talks to.
type kafkaFlags struct {
	bootstrap string
	embedded  string
}

func (k *kafkaFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&k.bootstrap, "bootstrap-servers", "", "Kafka bootstrap servers, comma-separated")
	fs.StringVar(&k.embedded, "embedded-kafka", "", "run an embedded Kafka in this process, keeping its data in this directory")
}

// start returns the bootstrap servers, starting the embedded broker when
// asked; the returned stop closes it.
func (k *kafkaFlags) start(logger *slog.Logger) (brokers []string, stop func() error, err error) {
	switch {
	case k.bootstrap != "" && k.embedded != "":
		return nil, nil, usageError{"use --bootstrap-servers or --embedded-kafka, not both"}
	case k.bootstrap != "":
		return splitList(k.bootstrap), func() error { return nil }, nil
	case k.embedded != "":
		b, err := embedkafka.New(embedkafka.Config{DataDir: k.embedded, Addr: "127.0.0.1:0", Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		if err := b.Start(); err != nil {
			return nil, nil, err
		}
		return []string{b.Addr()}, b.Close, nil
	default:
		return nil, nil, usageError{"say which Kafka to use: --bootstrap-servers host:port, --embedded-kafka DIR, or --data-dir DIR (embedded Kafka in DIR/kafka)"}
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run --config-dir DIR [--bootstrap-servers LIST | --embedded-kafka DIR] [--data-dir DIR]\n\nLoads every *.json connector config in --config-dir, validates all of them (nothing starts\nif any is invalid) and runs them. SIGINT/SIGTERM stops gracefully: each task flushes and\ncommits within --shutdown-timeout, then the process exits; a second signal exits at once.", stderr)
	var kf kafkaFlags
	kf.register(fs)
	configDir := fs.String("config-dir", "", "directory of connector configs (*.json, Kafka Connect's envelope)")
	dataDir := fs.String("data-dir", "", "directory for the worker's own state; without --bootstrap-servers or --embedded-kafka, the embedded Kafka keeps its data in DATA-DIR/kafka")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long tasks get to flush and commit on stop")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *configDir == "" {
		return usageError{"--config-dir is required"}
	}
	logger, _, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		return err
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	cfgs, err := worker.LoadDir(reg, *configDir)
	if err != nil {
		return fmt.Errorf("invalid connector configs, nothing started:\n%w", err)
	}
	if *dataDir != "" {
		if err := os.MkdirAll(*dataDir, 0o755); err != nil {
			return err
		}
		if kf.bootstrap == "" && kf.embedded == "" {
			kf.embedded = filepath.Join(*dataDir, "kafka")
		}
	}
	brokers, stopKafka, err := kf.start(logger)
	if err != nil {
		return err
	}
	defer stopKafka()
	w, err := newWorker(reg, brokers, logger, *shutdown, cfgs)
	if err != nil {
		return err
	}
	defer w.close()
	logger.Info("worker starting", "connectors", len(cfgs), "bootstrap.servers", brokers)
	return w.run(ctx, *shutdown)
}

// runningWorker is a worker with its Kafka client, for run and demo.
type runningWorker struct {
	*worker.Worker
	client io.Closer
	admin  connector.Admin
	logger *slog.Logger
}

func newWorker(reg *connector.Registry, brokers []string, logger *slog.Logger, shutdown time.Duration, cfgs []*connector.ConnectorConfig) (*runningWorker, error) {
	client, err := newKafkaClient(brokers, logger)
	if err != nil {
		return nil, err
	}
	w, err := worker.New(worker.Options{Registry: reg, Kafka: client, Logger: logger, ShutdownTimeout: shutdown})
	if err != nil {
		client.Close()
		return nil, err
	}
	for _, c := range cfgs {
		if err := w.Add(c); err != nil {
			client.Close()
			return nil, err
		}
	}
	return &runningWorker{Worker: w, client: client, admin: client.Admin(), logger: logger}, nil
}

func (w *runningWorker) close() { _ = w.client.Close() }

// run runs the worker until ctx is done, then gives it shutdown plus a
// margin to stop before returning anyway (the forced stop).
func (w *runningWorker) run(ctx context.Context, shutdown time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	if !waitForced(ctx, done, shutdown+5*time.Second) {
		return fmt.Errorf("tasks did not stop within %s; exiting without them", shutdown+5*time.Second)
	}
	w.logger.Info("worker stopped")
	return nil
}

// absPath makes p absolute for messages.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
