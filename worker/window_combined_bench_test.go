package worker_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"
)

// BenchmarkWindowTumblingAndSessions is the end-to-end target: two
// window connectors on the same input at once, one with 1-minute tumbling
// windows (count, unique users and sessions with HyperLogLog), one with
// 30-minute sessions, each consuming, aggregating and committing results,
// changelog and offsets transactionally. The clock runs from the first
// partition assignment until both have committed everything (their final
// flush and commit included). events/s counts input events: each is
// aggregated twice.
func BenchmarkWindowTumblingAndSessions(b *testing.B) {
	b.StopTimer()
	k, n := benchSetup(b)
	configs := []map[string]string{tumbling1mHLL(), sessions30m()}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		type running struct {
			count *nopCount
			done  chan error
		}
		var tasks []running
		ctx, cancel := context.WithCancel(context.Background())
		for j, kv := range configs {
			c := &nopCount{}
			reg := newRegistry(b, countingWindow(c))
			cfgMap := map[string]string{"connector.class": "window", "topics": benchTopic, "output.topic": fmt.Sprintf("bench.combined.out.%d", j)}
			maps.Copy(cfgMap, kv)
			name := fmt.Sprintf("bench-combined-%d-%d-%d", j, time.Now().UnixNano(), i)
			task, cm := newBenchSinkTask(b, k, reg, name, cfgMap, nil)
			defer cm.Close()
			done := make(chan error, 1)
			go func() { done <- task.Run(ctx) }()
			tasks = append(tasks, running{c, done})
		}
		var start time.Time
		deadline := time.Now().Add(10 * time.Minute)
		for {
			finished := 0
			for _, t := range tasks {
				got, opened, _ := t.count.get()
				if start.IsZero() && !opened.IsZero() {
					start = opened
					// The testing package sizes b.N by the timed part:
					// with the timer never started it saw no time pass
					// and asked for ever more iterations of this
					// multi-second loop.
					b.StartTimer()
				}
				if got >= int64(n) {
					finished++
				}
			}
			if finished == len(tasks) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the window connectors did not take every event in 10 minutes")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		for _, t := range tasks {
			if err := <-t.done; err != nil {
				b.Fatalf("window task: %v", err)
			}
		}
		b.StopTimer()
		total += time.Since(start)
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
}
