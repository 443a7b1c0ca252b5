package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sources/generator"
)

func cmdGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", "gen --bootstrap-servers LIST [--topic clickstream.raw] [--max-events N] [--events-per-second R] ...\n\nWrites generated click events straight to a topic (the generator connector's engine, without\na worker), in Kafka transactions. The same flags give the same events.", stderr)
	var kf kafkaFlags
	kf.register(fs)
	topic := fs.String("topic", "clickstream.raw", "topic to write to (created when missing)")
	partitions := fs.Int("partitions", -1, "partitions of the topic when it is created; -1: the broker's default")
	maxEvents := fs.Int64("max-events", 100_000, "events to write")
	eps := fs.Int("events-per-second", 0, "events per second, of wall clock and event time; 0: as fast as possible (event time then advances 1000 events per second)")
	users := fs.Int("users", 10_000, "distinct users")
	seed := fs.Int64("seed", 1, "selects the stream: equal flags give byte-identical events")
	startTime := fs.String("start-time", "", "event time of the first event, RFC3339 (default: now)")
	badRatio := fs.Float64("bad-record-ratio", 0, "fraction of deliberately bad events, 0 to 1")
	badKinds := fs.String("bad-record-kinds", "", "kinds of bad events, comma-separated (malformed, missing_field, wrong_type, out_of_order, late, duplicate_id); empty: all")
	batch := fs.Int("batch", 10_000, "events per transaction")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start := time.Now().UTC()
	if *startTime != "" {
		t, err := time.Parse(time.RFC3339Nano, *startTime)
		if err != nil {
			return usageError{fmt.Sprintf("--start-time %q is not an RFC3339 time such as 2026-01-02T15:04:05Z", *startTime)}
		}
		start = t
	}
	if *batch < 1 || *maxEvents < 0 || *eps < 0 {
		return usageError{"--batch must be at least 1; --max-events and --events-per-second at least 0"}
	}
	rate := *eps
	if rate == 0 {
		rate = 1000
	}
	var kinds []generator.BadKind
	if *badKinds != "" {
		var err error
		if kinds, err = generator.ParseBadKinds(strings.Split(*badKinds, ",")); err != nil {
			return usageError{"--bad-record-kinds: " + err.Error()}
		}
	}
	engine, err := generator.NewEngine(generator.Options{Seed: *seed, Users: *users, Start: start, EventsPerSecond: rate, BadRecordRatio: *badRatio, BadKindsUsed: kinds})
	if err != nil {
		return usageError{err.Error()}
	}
	logger, _, err := newLogger(stderr, "warn", false)
	if err != nil {
		return err
	}
	client, closeKafka, err := kf.connect(logger)
	if err != nil {
		return err
	}
	defer closeKafka()
	if err := client.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: *topic, Partitions: int32(*partitions), ReplicationFactor: -1}); err != nil {
		return err
	}
	committer, err := client.NewCommitter(connector.ProducerConfig{TransactionalID: fmt.Sprintf("connectd-gen-%d", time.Now().UnixNano()), ClientID: "connectd-gen"})
	if err != nil {
		return err
	}
	defer committer.Close()

	began := time.Now()
	recs := make([]connector.ProducerRecord, 0, *batch)
	var written int64
	for written < *maxEvents {
		recs = recs[:0]
		for len(recs) < *batch && written+int64(len(recs)) < *maxEvents {
			ev := engine.Next()
			recs = append(recs, connector.ProducerRecord{Topic: *topic, Partition: -1, Key: ev.Key, Value: ev.Value, Timestamp: ev.Time})
		}
		if *eps > 0 {
			due := began.Add(time.Duration(float64(written+int64(len(recs))) / float64(*eps) * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)):
			}
		}
		if err := committer.Commit(ctx, recs, nil, nil); err != nil {
			return fmt.Errorf("after %d events: %w", written, err)
		}
		written += int64(len(recs))
	}
	el := time.Since(began)
	fmt.Fprintf(stdout, "wrote %d events to %s in %s (%.0f events/s)\n", written, *topic, el.Round(time.Millisecond), float64(written)/el.Seconds())
	return nil
}
