package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/internal/embedkafka"
	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/worker"
	"github.com/connectd/connectd/worker/rest"
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

// connect starts the embedded broker when asked and returns a client of
// the chosen Kafka; closeAll closes both.
func (k *kafkaFlags) connect(logger *slog.Logger) (client *kafka.Client, closeAll func(), err error) {
	brokers, stopKafka, err := k.start(logger)
	if err != nil {
		return nil, nil, err
	}
	client, err = newKafkaClient(brokers, logger)
	if err != nil {
		_ = stopKafka()
		return nil, nil, err
	}
	return client, func() {
		_ = client.Close()
		_ = stopKafka()
	}, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run [--config-dir DIR] [--data-dir DIR] [--bootstrap-servers LIST | --embedded-kafka DIR] [--listen 127.0.0.1:8083]\n\nLoads every *.json connector config in --config-dir, validates all of them (nothing starts\nif any is invalid) and runs them, serving Kafka Connect's REST API on --listen. With\n--data-dir, connectors created or changed over REST survive a restart; a config-dir file\nthat changed since the last start replaces the stored connector, an unchanged one leaves it\nas REST left it. SIGINT/SIGTERM stops gracefully: each task flushes and commits within\n--shutdown-timeout, then the process exits; a second signal exits at once.", stderr)
	var kf kafkaFlags
	kf.register(fs)
	configDir := fs.String("config-dir", "", "directory of connector configs (*.json, Kafka Connect's envelope)")
	dataDir := fs.String("data-dir", "", "directory for the worker's own state; without --bootstrap-servers or --embedded-kafka, the embedded Kafka keeps its data in DATA-DIR/kafka")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long tasks get to flush and commit on stop")
	listen := fs.String("listen", "127.0.0.1:8083", "address of the Kafka Connect-compatible REST API; empty: no API")
	logLevel := fs.String("log-level", "info", "log level: trace, debug, info, warn, error (changeable at run time through /admin/loggers)")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *configDir == "" && *dataDir == "" {
		return usageError{"give --config-dir (connector files) and/or --data-dir (where connectors created over REST are kept)"}
	}
	logger, levels, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		return err
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	ln, err := listenREST(*listen)
	if err != nil {
		return err
	}
	if ln != nil {
		defer ln.Close()
	}
	w, cleanup, err := setUp(setup{
		reg: reg, logger: logger, levels: levels, configDir: *configDir, dataDir: *dataDir,
		kafka: kf, ln: ln, shutdown: *shutdown, workerID: "standalone",
	})
	if err != nil {
		return err
	}
	defer cleanup()
	logger.Info("worker starting", "connectors", len(w.Connectors()))
	return w.run(ctx, *shutdown)
}

// setup is what run and demo start a worker from.
type setup struct {
	reg       *connector.Registry
	logger    *slog.Logger
	levels    *logging.Levels
	configDir string // connector files, reconciled with the store; may be empty
	dataDir   string // the store and, with no other Kafka, the embedded one; may be empty
	kafka     kafkaFlags
	ln        net.Listener // the REST API's, or nil
	shutdown  time.Duration
	workerID  string // used when there is no REST listener
}

// setUp reconciles the config files with the store, starts Kafka when it
// is embedded, and builds the worker with its REST API. Nothing starts if
// any connector config is invalid. cleanup closes what it opened.
func setUp(s setup) (w *runningWorker, cleanup func(), err error) {
	var store worker.ConfigStore = &worker.MemoryStore{}
	if s.dataDir != "" {
		if store, err = worker.NewFileStore(filepath.Join(s.dataDir, "connectors")); err != nil {
			return nil, nil, err
		}
		if s.kafka.bootstrap == "" && s.kafka.embedded == "" {
			s.kafka.embedded = filepath.Join(s.dataDir, "kafka")
		}
	} else {
		s.logger.Warn("no --data-dir: connectors created or changed over REST are forgotten on exit")
	}
	var files []string
	if s.configDir != "" {
		if files, err = worker.ConfigFiles(s.configDir); err != nil {
			return nil, nil, err
		}
	}
	stored, err := worker.Reconcile(s.reg, store, files)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid connector configs, nothing started:\n%w", err)
	}
	brokers, stopKafka, err := s.kafka.start(s.logger)
	if err != nil {
		return nil, nil, err
	}
	id := s.workerID
	if s.ln != nil {
		id = s.ln.Addr().String()
	}
	w, err = newWorker(s.reg, brokers, s.logger, s.shutdown, store, stored, id)
	if err != nil {
		_ = stopKafka()
		return nil, nil, err
	}
	w.brokers = brokers
	cleanup = func() {
		w.close()
		_ = stopKafka()
	}
	if err := w.serveREST(s.ln, s.levels); err != nil {
		cleanup()
		return nil, nil, err
	}
	return w, cleanup, nil
}

// runningWorker is a worker with its Kafka client, for run and demo.
type runningWorker struct {
	*worker.Worker
	client io.Closer
	admin  connector.Admin
	logger *slog.Logger
	// rest, when set, serves the REST API until its ctx is done.
	rest func(ctx context.Context) error
	// brokers are the bootstrap servers it talks to.
	brokers []string
	// reader reads topics (the demo shows window results).
	reader connector.TopicReader
}

func newWorker(reg *connector.Registry, brokers []string, logger *slog.Logger, shutdown time.Duration, store worker.ConfigStore, stored []worker.StoredConnector, workerID string) (*runningWorker, error) {
	client, err := newKafkaClient(brokers, logger.With(logging.AttrLogger, logging.Kafka))
	if err != nil {
		return nil, err
	}
	w, err := worker.New(worker.Options{Registry: reg, Kafka: client, Logger: logger.With(logging.AttrLogger, logging.Worker),
		ShutdownTimeout: shutdown, Store: store, WorkerID: workerID})
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := w.Load(stored); err != nil {
		client.Close()
		return nil, err
	}
	return &runningWorker{Worker: w, client: client, admin: client.Admin(), reader: client.Reader(), logger: logger}, nil
}

func (w *runningWorker) close() { _ = w.client.Close() }

// serveREST makes run serve the REST API on ln (nothing when ln is nil).
func (w *runningWorker) serveREST(ln net.Listener, levels *logging.Levels) error {
	if ln == nil {
		return nil
	}
	srv, err := rest.New(rest.Options{
		Worker: w.Worker, Levels: levels, Logger: w.logger.With(logging.AttrLogger, logging.REST),
		Version: version, Commit: version, ClusterID: w.admin.ClusterID,
	})
	if err != nil {
		return err
	}
	w.rest = func(ctx context.Context) error { return srv.Serve(ctx, ln) }
	w.logger.Info("REST API listening", "url", "http://"+ln.Addr().String())
	return nil
}

// listenREST opens the REST API's listener before anything starts, so a
// taken port fails fast; an empty addr means no API.
func listenREST(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w (is another worker running? pick another address)", addr, err)
	}
	return ln, nil
}

// run runs the worker until ctx is done, then gives it shutdown plus a
// margin to stop before returning anyway (the forced stop).
func (w *runningWorker) run(ctx context.Context, shutdown time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	restErr := make(chan error, 1)
	if w.rest != nil {
		go func() { restErr <- w.rest(ctx) }()
	} else {
		restErr <- nil
	}
	if !waitForced(ctx, done, shutdown+5*time.Second) {
		return fmt.Errorf("tasks did not stop within %s; exiting without them", shutdown+5*time.Second)
	}
	if err := <-restErr; err != nil {
		w.logger.Warn("REST API", "err", err)
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
