package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/connectd/connectd/internal/embedkafka"
)

func cmdKafka(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kafka", "kafka --data-dir DIR [--listen 127.0.0.1:9092]\n\nRuns an embedded Kafka broker (kfake) as its own process. Data under --data-dir survives a\nrestart; topics are never auto-created. Prints the bootstrap address, then serves until\nSIGINT/SIGTERM.", stderr)
	dataDir := fs.String("data-dir", "", "directory for the broker's data (required; survives restarts)")
	listen := fs.String("listen", embedkafka.DefaultAddr, "listen address host:port; port 0 picks a free port")
	partitions := fs.Int("default-partitions", embedkafka.DefaultPartitions, "partitions of topics created with the broker's default")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	retention := fs.Int64("log-retention-ms", embedkafka.DefaultRetention.Milliseconds(), "Kafka's log.retention.ms: records whose timestamp is older are deleted (checked every minute); -1 keeps them forever; topics override it with retention.ms")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataDir == "" {
		return usageError{"--data-dir is required (use a directory; the broker keeps its logs there)"}
	}
	logger, _, err := newLogger(stderr, *logLevel, false)
	if err != nil {
		return err
	}
	if *retention == 0 || *retention < -1 {
		return usageError{fmt.Sprintf("--log-retention-ms %d: give a positive number of milliseconds, or -1 to keep records forever", *retention)}
	}
	b, err := embedkafka.New(embedkafka.Config{DataDir: *dataDir, Addr: *listen, DefaultPartitions: *partitions, Logger: logger, Retention: time.Duration(*retention) * time.Millisecond})
	if err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bootstrap.servers=%s\n", b.Addr())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	return b.Run(ctx)
}
