package clickhouse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
)

// TestLowCardinalityValuesAcrossBatches writes events whose
// LowCardinality and Nullable columns mix values, ” and NULL, in batches
// of three rows over two partitions (so sent batches and their per-batch
// dictionaries are reused), over each protocol: every row reads back as
// written, and no value leaks from one batch into the next.
func TestLowCardinalityValuesAcrossBatches(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	cols := []string{"event_type", "page_category", "device_type", "country", "currency", "utm_source", "utm_medium", "referrer", "utm_campaign", "user_agent", "duration_ms", "revenue"}
	values := []string{
		`"event_type":"page_view","page_category":"shoes","device_type":"mobile","country":"DE","currency":"EUR","utm_source":"g","utm_medium":"cpc","referrer":"r1","utm_campaign":"c1","user_agent":"ua1","duration_ms":5,"revenue":1.5`,
		`"event_type":"click","page_category":"","country":null,"utm_source":"g","referrer":""`,
		`"page_category":"shoes","device_type":"desktop","currency":"USD","utm_medium":"","user_agent":"ua2","revenue":0`,
		`"event_type":"","country":"FR","utm_source":"b","duration_ms":0`,
		``,
		`"event_type":"purchase","page_category":"hats","device_type":"mobile","country":"DE","currency":"EUR","utm_source":"g","utm_medium":"cpc","referrer":"r1","utm_campaign":"c1","user_agent":"ua1","duration_ms":7,"revenue":2.25`,
		`"device_type":"tablet"`,
	}
	for _, protocol := range []string{"native", "http"} {
		t.Run(protocol, func(t *testing.T) {
			table := "lowcard_" + protocol
			s := newSink(t, decode(t, with(serverKeys(srv, protocol), "table", table, "batch.size", "3", "flush.interval.ms", "0")), "lowcard")
			tps := []connector.TopicPartition{{Topic: "lowcard-" + protocol, Partition: 0}, {Topic: "lowcard-" + protocol, Partition: 1}}
			if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tps[0]: 0, tps[1]: 0}); err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				var batch []connector.Record
				for i, v := range values {
					tp := tps[i%2]
					off := int64(round*len(values) + i)
					if v != "" {
						v = "," + v
					}
					value := fmt.Sprintf(`{"event_id":"e%d-%d","timestamp":"2026-03-01T10:00:00Z","user_id":"u"%s}`, tp.Partition, off, v)
					batch = append(batch, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: []byte(value), Timestamp: time.Now()})
				}
				if err := s.Write(ctx, batch); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var sel []string
			for _, c := range cols {
				sel = append(sel, fmt.Sprintf("ifNull(toString(%s), 'NULL')", c))
			}
			got := query(t, srv, fmt.Sprintf("SELECT %s FROM default.%s ORDER BY _offset FORMAT TSV", strings.Join(sel, ", "), table))
			// What the server makes of the same events, inserted as JSON.
			ref := "lowcard_ref_" + protocol
			query(t, srv, fmt.Sprintf("CREATE TABLE default.%s AS default.%s", ref, table))
			var rows []string
			for round := range 3 {
				for i, v := range values {
					if v != "" {
						v = "," + v
					}
					rows = append(rows, fmt.Sprintf(`{"_offset":%d,"timestamp":"2026-03-01 10:00:00"%s}`, round*len(values)+i, v))
				}
			}
			query(t, srv, fmt.Sprintf("INSERT INTO default.%s FORMAT JSONEachRow %s", ref, strings.Join(rows, "\n")))
			want := query(t, srv, fmt.Sprintf("SELECT %s FROM default.%s ORDER BY _offset FORMAT TSV", strings.Join(sel, ", "), ref))
			if got != want || strings.Count(got, "\n") != 3*len(values)-1 {
				t.Errorf("stored:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
