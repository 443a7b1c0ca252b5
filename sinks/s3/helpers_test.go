package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
)

// decode fills a Config from raw keys as the framework does, defaults
// included, and fails tb on any problem.
func decode(tb testing.TB, raw map[string]string) *Config {
	tb.Helper()
	cfg := &Config{}
	if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
		tb.Fatalf("config %v: %v", raw, errs)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("config %v: %v", raw, err)
	}
	return cfg
}

// minioKeys returns the keys that point a sink at bucket on m, creating
// the bucket.
func minioKeys(tb testing.TB, m *testservers.MinIO, bucket string) map[string]string {
	tb.Helper()
	keys := m.S3SinkKeys(bucket)
	st, err := newS3Store(context.Background(), decode(tb, keys))
	if err != nil {
		tb.Fatal(err)
	}
	// MinIO answers 503 (not initialized) for a moment after it is live.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := st.client.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(bucket)})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
	return keys
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// readStored reads the archive of cfg back for the conformance suite:
// offsets from the markers (ReadArchive, which also checks every object
// is listed once), values from the JSON lines, or rebuilt as JSON from the
// Parquet rows, whose own _topic/_partition/_offset columns must agree.
func readStored(t testing.TB, cfg *Config) []sinktest.Stored {
	t.Helper()
	ctx := context.Background()
	var out []sinktest.Stored
	var st storage
	rows := map[string][]map[string]any{}
	err := ReadArchive(ctx, cfg, func(a Archived) error {
		s := sinktest.Stored{Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Value: a.Value}
		if strings.HasSuffix(a.Object, ".parquet") {
			if st == nil {
				var err error
				if st, err = openStore(ctx, cfg); err != nil {
					return err
				}
			}
			if _, ok := rows[a.Object]; !ok {
				body, err := st.Get(ctx, a.Object)
				if err != nil {
					return err
				}
				r, err := parquetRows(body)
				if err != nil {
					return fmt.Errorf("%s: %w", a.Object, err)
				}
				rows[a.Object] = r
			}
			r := rows[a.Object]
			if len(r) == 0 {
				return fmt.Errorf("%s: more records listed than rows", a.Object)
			}
			row := r[0]
			rows[a.Object] = r[1:]
			if row["_topic"] != a.Topic || row["_partition"] != a.Partition || row["_offset"] != a.Offset {
				return fmt.Errorf("%s: row says %v/%v/%v, marker says %s/%d/%d", a.Object, row["_topic"], row["_partition"], row["_offset"], a.Topic, a.Partition, a.Offset)
			}
			v, err := eventJSON(row)
			if err != nil {
				return err
			}
			s.Value = v
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openStore(ctx context.Context, cfg *Config) (storage, error) {
	if dir := cfg.local(); dir != "" {
		return newLocalStore(dir), nil
	}
	return newS3Store(ctx, cfg)
}

// parquetRows reads a Parquet file with arrow-go's reader into one map per
// row: strings, int32, int64, float64, bool, and timestamps as time.Time.
func parquetRows(body []byte) ([]map[string]any, error) {
	rdr, err := file.NewParquetReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	n := int(tbl.NumRows())
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{}
	}
	for c := range int(tbl.NumCols()) {
		col := tbl.Column(c)
		name := col.Name()
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for i := range chunk.Len() {
				if chunk.IsNull(i) {
					row++
					continue
				}
				var v any
				switch a := chunk.(type) {
				case *array.String:
					v = a.Value(i)
				case *array.Int64:
					v = a.Value(i)
				case *array.Int32:
					v = a.Value(i)
				case *array.Float64:
					v = a.Value(i)
				case *array.Boolean:
					v = a.Value(i)
				case *array.Timestamp:
					v = time.UnixMilli(int64(a.Value(i))).UTC()
					if u := a.DataType().(*arrow.TimestampType).Unit; u != arrow.Millisecond {
						return nil, fmt.Errorf("column %s: timestamp unit %s, want ms", name, u)
					}
				default:
					return nil, fmt.Errorf("column %s: unexpected arrow type %s", name, chunk.DataType())
				}
				rows[row][name] = v
				row++
			}
		}
	}
	return rows, nil
}

// eventJSON rebuilds a click event's JSON from a Parquet row: the known
// columns that are set, plus the fields of _extra.
func eventJSON(row map[string]any) ([]byte, error) {
	obj := map[string]any{}
	if x, ok := row[clickevent.ExtraColumn].(string); ok {
		if err := json.Unmarshal([]byte(x), &obj); err != nil {
			return nil, fmt.Errorf("_extra %q: %w", x, err)
		}
	}
	for k, v := range row {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if t, ok := v.(time.Time); ok {
			v = t.Format("2006-01-02T15:04:05.000Z07:00")
		}
		obj[k] = v
	}
	return json.Marshal(obj)
}
