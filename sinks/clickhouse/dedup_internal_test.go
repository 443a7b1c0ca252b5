package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
)

// TestInsertTokenDeduplicates sends one batch three times with the same
// insert_deduplication_token and once more with the next reset epoch's
// token, over each protocol: the server must keep the first three as one
// (the token reaches it and the table's deduplication window is on), and
// take the fourth (an epoch makes a token new). The page-views rollup fed
// by a materialized view must count the batch as often as the events
// table holds it.
func TestInsertTokenDeduplicates(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	for _, protocol := range []string{"native", "http"} {
		t.Run(protocol, func(t *testing.T) {
			port := srv.NativePort
			if protocol == "http" {
				port = srv.HTTPPort
			}
			table := "dedup_" + protocol
			raw := map[string]string{"hostname": "127.0.0.1", "port": strconv.Itoa(port), "protocol": protocol,
				"table": table, "rollup.pageviews.enable": "true"}
			cfg := &Config{}
			if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
				t.Fatal(errs)
			}
			s, err := New(cfg, connector.TaskInfo{Connector: "dedup"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Stop(ctx)
			tp := connector.TopicPartition{Topic: "dedup-" + protocol, Partition: 0}
			if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
				t.Fatal(err)
			}
			p := s.parts[tp]
			b := newBatch(kindEvents, 8, 0, 0, time.Now())
			for off := int64(0); off < 8; off++ {
				rec := connector.Record{Topic: tp.Topic, Offset: off, Value: sinktest.DefaultValue(tp, off), Timestamp: time.Now()}
				if err := s.dec.Decode(rec.Value, &s.ev); err != nil {
					t.Fatal(err)
				}
				b.addEvent(&rec, &s.ev)
			}
			count := func() (string, string) {
				ev, err := srv.Query("SELECT count() FROM default." + table)
				if err != nil {
					t.Fatal(err)
				}
				mv, err := srv.Query("SELECT countMerge(events) FROM default." + table + "_pageviews_1m")
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(ev), strings.TrimSpace(mv)
			}
			for i := range 3 {
				if err := s.send(ctx, p, b, &scratch{}); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			if ev, mv := count(); ev != "8" || mv != "8" {
				t.Fatalf("after the same batch three times: %s rows, rollup counts %s; want 8 and 8 (the token did not deduplicate)", ev, mv)
			}
			p.epoch = 1
			if err := s.send(ctx, p, b, &scratch{}); err != nil {
				t.Fatal(err)
			}
			if ev, mv := count(); ev != "16" || mv != "16" {
				t.Fatalf("after the batch with a new epoch: %s rows, rollup counts %s; want 16 and 16 (the epoch did not make the token new)", ev, mv)
			}
		})
	}
}

func TestToken(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clickstream.enriched", Partition: 3}
	if got, want := Token("ch", tp, 0, 100, 199), "ch/clickstream.enriched/3/100-199"; got != want {
		t.Errorf("Token = %q, want %q", got, want)
	}
	if got, want := Token("ch", tp, 2, 100, 199), "ch/clickstream.enriched/3/100-199/reset-2"; got != want {
		t.Errorf("Token after a reset = %q, want %q", got, want)
	}
}
