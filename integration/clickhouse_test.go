//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sources/generator"
)

const (
	clickhouseEvents = 1_000_000
	clickhouseRate   = 100_000
	clickhouseRatio  = 0.03
	// clickhouseBadKinds leaves out duplicate_id (see
	// TestClickHouseExactlyOnceUnderSIGKILL).
	clickhouseBadKinds = "malformed,missing_field,wrong_type,out_of_order,late"
)

// clickhouseServer starts ClickHouse with data and log under dir and
// stops it when the test ends, printing its log's tail if the test
// failed. With supervise, a server that dies is started again on its
// ports with its data (as a service manager would); the returned func
// says how many times.
func clickhouseServer(t *testing.T, dir string, supervise bool) (*testservers.ClickHouse, func() int) {
	t.Helper()
	if os.Getenv(testservers.EnvCHDBHost) == "" && os.Getenv(testservers.EnvRequire) == "" {
		t.Skip(testservers.EnvCHDBHost + " is not set (run make servers)")
	}
	// testservers starts the server with Pdeathsig, which Linux ties to
	// the OS thread that forked it, not to the process: when the Go
	// runtime retires that thread the server is SIGKILLed (seen here in
	// the middle of the run: an empty log, connection refused). Forking
	// (and restarting) from a goroutine locked to its thread for the
	// whole test keeps the server alive as long as the test.
	type started struct {
		ch  *testservers.ClickHouse
		err error
	}
	ready, done := make(chan started), make(chan struct{})
	stopped := make(chan struct{})
	var restarts atomic.Int32
	go func() {
		defer close(stopped)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ch, err := testservers.NewClickHouse(dir)
		ready <- started{ch, err}
		if err != nil {
			return
		}
		defer ch.Close()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if !supervise || ch.Running() {
				continue
			}
			restarts.Add(1)
			if err := ch.Start(); err != nil {
				t.Errorf("restart ClickHouse: %v", err)
				return
			}
		}
	}()
	s := <-ready
	if s.err != nil {
		t.Fatal(s.err)
	}
	t.Cleanup(func() {
		close(done)
		<-stopped
		if t.Failed() {
			t.Logf("log tail of %s:\n%s", s.ch, logging.FileTail(filepath.Join(dir, "clickhouse.log"), 40))
		}
	})
	return s.ch, func() int { return int(restarts.Load()) }
}

// clickhouseQuery runs sql against ch and returns the trimmed result,
// trying again for up to a minute while the server does not answer (a
// supervised server that died is being started again).
func clickhouseQuery(t *testing.T, ch *testservers.ClickHouse, sql string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := ch.Query(sql)
		if err == nil {
			return strings.TrimSpace(out)
		}
		if time.Now().After(deadline) || ch.Running() && !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("%s: %v", sql, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClickHouseExactlyOnceUnderSIGKILL: a generator writes 1M events with
// 3% bad records, a ClickHouse sink connector with the validate transform
// and a dead-letter topic lands them, in a worker SIGKILLed four times.
// In the end the events table holds every valid event exactly once:
// count() = uniqExact(event_id) = uniqExact(_partition, _offset) = the
// number of valid events; and every invalid event is in the dead-letter
// topic. The bad records are malformed, missing a field, of a wrong type
// (all three rejected), out of order and late; not duplicate_id, a valid
// event that reuses an earlier event's id, which would be stored as the
// record it is and make uniqExact(event_id) smaller than count(). The
// expected numbers come from the generator's engine, not from the sink.
//
// It runs over HTTP and over the native protocol. Over native, the test
// server (libchdb 26.7.3 behind chdb-host) aborts when a connection is
// reset before its handshake, which a SIGKILLed worker's half-dialled
// connection can be (sinks/clickhouse TestNativeClientVanishesMidInsert
// pins it; README "Limits"): the native run restarts the server when it
// dies, as a service manager would, so it also shows that a ClickHouse
// crash in the middle of INSERTs loses and doubles nothing.
func TestClickHouseExactlyOnceUnderSIGKILL(t *testing.T) {
	for _, protocol := range []string{"http", "native"} {
		t.Run(protocol, func(t *testing.T) { clickhouseExactlyOnce(t, protocol) })
	}
}

func clickhouseExactlyOnce(t *testing.T, protocol string) {
	dir := t.TempDir()
	configDir := filepath.Join(dir, "configs")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ch, restarts := clickhouseServer(t, filepath.Join(dir, "clickhouse"), protocol == "native")
	port := ch.HTTPPort
	if protocol == "native" {
		port = ch.NativePort
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	// The events are dated pipelineStart, weeks ago, and carry their
	// event time as the Kafka timestamp (their dead letters too). With the
	// default retention.ms (7 days) the embedded broker, which applies
	// retention every minute, deletes them about a minute into the test:
	// the sink's consumer then gets OFFSET_OUT_OF_RANGE and restarts at
	// the new log start, and the rows in between never arrive. Keep them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := kafkaClient(t, addr).Admin()
	for _, topic := range []string{"clicks", "clicks.dlq"} {
		if err := admin.EnsureTopic(ctx, connector.TopicSpec{
			Name: topic, Partitions: 4, ReplicationFactor: -1, Configs: map[string]string{"retention.ms": "-1"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	const seed = 23
	writeConfig(t, configDir, "gen", map[string]string{
		"connector.class":                   "generator",
		"topic":                             "clicks",
		"max.events":                        strconv.Itoa(clickhouseEvents),
		"events.per.second":                 strconv.Itoa(clickhouseRate),
		"users":                             "5000",
		"seed":                              strconv.FormatInt(seed, 10),
		"start.time":                        pipelineStart,
		"bad.record.ratio":                  strconv.FormatFloat(clickhouseRatio, 'f', -1, 64),
		"bad.record.kinds":                  clickhouseBadKinds,
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "200",
	})
	writeConfig(t, configDir, "ch", map[string]string{
		"connector.class":                   "clickhouse",
		"topics":                            "clicks",
		"hostname":                          "127.0.0.1",
		"port":                              strconv.Itoa(port),
		"protocol":                          protocol,
		"table":                             "events",
		"batch.size":                        "20000",
		"flush.interval.ms":                 "1000",
		"offset.flush.interval.ms":          "1000",
		"transforms":                        "validate",
		"transforms.validate.type":          "validate",
		"errors.tolerance":                  "all",
		"errors.deadletterqueue.topic.name": "clicks.dlq",
	})

	start, _ := time.Parse(time.RFC3339, pipelineStart)
	kinds, err := generator.ParseBadKinds(strings.Split(clickhouseBadKinds, ","))
	if err != nil {
		t.Fatal(err)
	}
	g := countGenerated(t, generator.Options{Seed: seed, Users: 5000, Start: start, EventsPerSecond: clickhouseRate, BadRecordRatio: clickhouseRatio, BadKindsUsed: kinds}, clickhouseEvents)
	valid, invalid, ids := g.valid, g.invalid, g.ids
	if invalid < 10_000 || len(ids) != valid {
		t.Fatalf("generated %d invalid events and %d distinct ids of %d valid ones: the test needs many invalid events and no repeated id", invalid, len(ids), valid)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	w := killRepeatedly(t, rng, 4, dir, configDir, addr)
	waitFor(t, 3*time.Minute, "every valid event in ClickHouse", func() (bool, string) {
		out, err := ch.Query("SELECT count() FROM default.events")
		if err != nil {
			return false, err.Error()
		}
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n >= valid, fmt.Sprintf("%d of %d rows", n, valid)
	})
	// Let a last offset flush pass, then stop: nothing may be added.
	time.Sleep(2 * time.Second)
	w.stop(t, 30*time.Second)

	got := clickhouseQuery(t, ch, "SELECT count(), uniqExact(event_id), uniqExact(_partition, _offset) FROM default.events")
	if want := fmt.Sprintf("%d\t%d\t%d", valid, valid, valid); got != want {
		t.Errorf("count(), uniqExact(event_id), distinct offsets = %s, want %s", got, want)
	}
	dlq := len(readTopic(t, kafkaClient(t, addr), "clicks.dlq"))
	if dlq != invalid {
		t.Errorf("the dead-letter topic holds %d records, want the %d invalid events", dlq, invalid)
	}
	parts := clickhouseQuery(t, ch, "SELECT count() FROM system.parts WHERE database = 'default' AND table = 'events' AND active")
	t.Logf("%d valid events (%d distinct ids), %d dead letters; %s active parts; ClickHouse restarted %d times after dying", valid, len(ids), dlq, parts, restarts())
}
