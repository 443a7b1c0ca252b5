package generator

import (
	"context"
	"fmt"
	"testing"

	"github.com/connectd/connectd/connector"
)

func benchOptions(ratio float64) Options {
	return Options{Seed: 1, Users: 10000, Start: testStart, EventsPerSecond: 1000, BadRecordRatio: ratio}
}

// BenchmarkEngineAppend generates and encodes one event per op into reused
// buffers: the cost of `connectd gen`.
func BenchmarkEngineAppend(b *testing.B) {
	for _, ratio := range []float64{0, 0.1} {
		b.Run(fmt.Sprintf("bad=%v", ratio), func(b *testing.B) {
			e := newEngine(b, benchOptions(ratio))
			value, key := make([]byte, 0, 1024), make([]byte, 0, 32)
			size := 0
			b.ReportAllocs()
			for b.Loop() {
				value, key, _ = e.Append(value[:0], key[:0])
				size += len(value)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(size)/float64(b.N), "bytes/event")
		})
	}
}

// BenchmarkEngineSkip replays one event per op without encoding: the cost
// of resuming a source at a committed position.
func BenchmarkEngineSkip(b *testing.B) {
	e := newEngine(b, benchOptions(0.1))
	b.ReportAllocs()
	for b.Loop() {
		e.Skip(1)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSourcePoll polls one unpaced batch of 1000 records per op: the
// engine plus the SourceRecords and their offset maps.
func BenchmarkSourcePoll(b *testing.B) {
	cfg := Config{Topic: "clickstream.raw", Users: 10000, Seed: 1, StartTime: testStart, BatchSize: 1000}
	s, err := NewSource(&cfg, connector.TaskInfo{TasksMax: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(context.Background(), connector.NewSourceOffsets(nil)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(cfg.BatchSize)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkNewEngine measures opening a stream of 10,000 users.
func BenchmarkNewEngine(b *testing.B) {
	o := benchOptions(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEngine(o); err != nil {
			b.Fatal(err)
		}
	}
}
