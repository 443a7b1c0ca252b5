package file_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/file"
)

// decode fills a Config from raw keys as the framework does, defaults
// included.
func decode(t testing.TB, raw map[string]string) *file.Config {
	t.Helper()
	cfg := &file.Config{}
	if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
		t.Fatalf("config %v: %v", raw, errs)
	}
	return cfg
}

// harness runs the suite against a file sink writing under a new
// directory, with extra config keys. Its sinks are crashable (see
// instances).
func harness(t *testing.T, keys map[string]string) (sinktest.Harness, *instances) {
	dir := t.TempDir()
	raw := map[string]string{"file.dir": dir}
	for k, v := range keys {
		raw[k] = v
	}
	cfg := decode(t, raw)
	set := &instances{}
	return sinktest.Harness{
		New: func(t *testing.T) connector.Sink {
			s, err := file.New(cfg, connector.TaskInfo{Connector: "conformance", TasksMax: 1, Logger: nil})
			if err != nil {
				t.Fatal(err)
			}
			return set.add(t, s)
		},
		Read: func(t *testing.T) []sinktest.Stored {
			entries, err := file.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]sinktest.Stored, len(entries))
			for i, e := range entries {
				out[i] = sinktest.Stored{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Value: e.Value}
			}
			return out
		},
		BadRecord: func(i int) connector.Record {
			if i%2 == 0 {
				return connector.Record{Value: fmt.Appendf(nil, "{\n  \"pretty\": %d\n}", i)}
			}
			return connector.Record{Value: nil} // a tombstone
		},
	}, set
}

// instances are the sinks one harness made. The suite simulates a crash by
// abandoning an instance without Close or Stop and opening its partitions
// in a new one; a real crash ends the process, and the kernel releases the
// dead instance's partition locks. In one test process the abandoned
// instance lives on and holds them, so the new instance's Open is refused
// (retryable). The harness then checks that the refusal names a lock,
// releases the locks of the instances holding the partitions (their
// "process died"), and calls Open again. A crashed instance must never be
// called again: if the suite does call it, it was not abandoned, and the
// conflict was a lock it should have released (by Close) — the test fails.
type instances struct {
	all []*crashable
	// refused counts Opens refused by an abandoned instance's lock.
	refused int
}

func (set *instances) add(t *testing.T, s *file.Sink) *crashable {
	c := &crashable{s: s, set: set, t: t, n: len(set.all)}
	set.all = append(set.all, c)
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("cleanup: Stop of instance %d: %v", c.n, err)
		}
	})
	return c
}

// crashable is a file sink the harness can crash; it implements
// connector.Sink and connector.OffsetResetter.
type crashable struct {
	s       *file.Sink
	set     *instances
	t       *testing.T // the subtest that made it
	n       int
	crashed bool
}

func (c *crashable) alive() {
	c.t.Helper()
	if c.crashed {
		c.t.Fatalf("instance %d was crashed by the harness because it held a partition another instance opened, but the suite called it again: it was not abandoned, so it should have released the partition (Close)", c.n)
	}
}

func (c *crashable) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	c.alive()
	got, err := c.s.Open(ctx, maps.Clone(assigned))
	if _, retry := connector.IsRetryable(err); !retry {
		return got, err
	}
	var holders []*crashable
	for _, o := range c.set.all {
		if o == c || o.t != c.t || o.crashed {
			continue
		}
		for tp := range assigned {
			if o.s.HoldsLock(tp) {
				holders = append(holders, o)
				break
			}
		}
	}
	if len(holders) == 0 {
		return got, err
	}
	if !strings.Contains(err.Error(), "locked by another instance") || !strings.Contains(err.Error(), ".lock") {
		c.t.Errorf("Open refused while instance %d holds an assigned partition, but the error does not name a lock: %v", holders[0].n, err)
	}
	c.set.refused++
	for _, o := range holders {
		o.s.SimulateCrash()
		o.crashed = true
	}
	return c.s.Open(ctx, assigned)
}

func (c *crashable) Write(ctx context.Context, batch []connector.Record) error {
	c.alive()
	return c.s.Write(ctx, batch)
}

func (c *crashable) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	c.alive()
	return c.s.Flush(ctx)
}

func (c *crashable) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	c.alive()
	return c.s.Close(ctx, revoked)
}

func (c *crashable) Stop(ctx context.Context) error {
	c.alive()
	return c.s.Stop(ctx)
}

func (c *crashable) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	c.alive()
	return c.s.ResetOffsets(ctx, target)
}

// TestConformance runs the sink conformance suite against the file sink
// under configs that cut files inside Write, keep tails buffered across
// Flush calls (by age), and use the default flush.size without fsync. The
// suite's crash cases must meet the abandoned instance's locks.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys map[string]string
	}{
		{"cut_in_write", map[string]string{"flush.size": "4", "flush.interval.ms": "0"}},
		{"buffered_by_age", map[string]string{"flush.size": "3", "flush.interval.ms": "25"}},
		{"one_file_per_flush_no_fsync", map[string]string{"flush.interval.ms": "0", "file.fsync": "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, set := harness(t, tc.keys)
			sinktest.Run(t, h)
			if file.PartitionLocks && set.refused == 0 && !t.Failed() {
				t.Error("no Open met an abandoned instance's lock: the suite's crash cases should have")
			}
			t.Logf("%d Opens were refused by an abandoned instance's locks", set.refused)
		})
	}
}
