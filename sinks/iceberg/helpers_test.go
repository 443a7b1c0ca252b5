package iceberg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/catalog"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/iceberg"
)

// decode fills a Config from raw keys as the framework does: defaults,
// the raw config for the dynamic keys, then Validate.
func decode(t testing.TB, raw map[string]string) *iceberg.Config {
	t.Helper()
	cfg, err := tryDecode(raw)
	if err != nil {
		t.Fatalf("config %v: %v", raw, err)
	}
	return cfg
}

func tryDecode(raw map[string]string) (*iceberg.Config, error) {
	r := connector.NewRegistry()
	if err := r.Register(iceberg.Plugin()); err != nil {
		return nil, err
	}
	full := map[string]string{"connector.class": iceberg.Class, "topics": "clickstream.enriched", "tasks.max": "1"}
	maps.Copy(full, raw)
	cc, err := r.Parse("test", full)
	if err != nil {
		return nil, err
	}
	return cc.PluginConfig.(*iceberg.Config), nil
}

// fileWarehouse returns config keys for a SQLite catalog and a file://
// warehouse under a new directory.
func fileWarehouse(t testing.TB) map[string]string {
	dir := t.TempDir()
	return map[string]string{
		"iceberg.catalog.uri":       filepath.Join(dir, "catalog.db"),
		"iceberg.catalog.warehouse": "file://" + filepath.Join(dir, "warehouse"),
	}
}

// minioWarehouse starts MinIO, creates a bucket and returns config keys
// for a SQLite catalog and an s3:// warehouse in it.
func minioWarehouse(t testing.TB) map[string]string {
	keys, _ := minioWarehouseServer(t)
	return keys
}

// minioWarehouseServer is minioWarehouse that also returns the server.
func minioWarehouseServer(t testing.TB) (map[string]string, *testservers.MinIO) {
	m := testservers.StartMinIO(t)
	ctx := context.Background()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(m.Endpoint),
		Region:       m.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		UsePathStyle: true,
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	dir := t.TempDir()
	return map[string]string{
		"iceberg.catalog.uri":                         filepath.Join(dir, "catalog.db"),
		"iceberg.catalog.warehouse":                   "s3://lake/warehouse",
		"iceberg.catalog.s3.endpoint":                 m.Endpoint,
		"iceberg.catalog.s3.region":                   m.Region,
		"iceberg.catalog.s3.access-key-id":            m.AccessKey,
		"iceberg.catalog.s3.secret-access-key":        m.SecretKey,
		"iceberg.catalog.s3.force-virtual-addressing": "false",
	}, m
}

// row is one stored row, by column name.
type row map[string]any

// readTable scans the current snapshot of table name.
func readTable(t testing.TB, cfg *iceberg.Config, name string) []row {
	t.Helper()
	ctx := context.Background()
	cat, err := iceberg.OpenCatalog(ctx, cfg.CatalogOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer iceberg.CloseCatalog(cat)
	tbl, err := cat.LoadTable(ctx, iceberg.Ident(name))
	if err != nil {
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return nil
		}
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan %s: %v", name, err)
	}
	defer at.Release()
	var out []row
	tr := array.NewTableReader(at, 4096)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := row{}
			for c, f := range rec.Schema().Fields() {
				col := rec.Column(c)
				if col.IsNull(i) {
					continue
				}
				switch a := col.(type) {
				case *array.String:
					r[f.Name] = a.Value(i)
				case *array.Int64:
					r[f.Name] = a.Value(i)
				case *array.Int32:
					r[f.Name] = int64(a.Value(i))
				case *array.Float64:
					r[f.Name] = a.Value(i)
				case *array.Float32:
					r[f.Name] = float64(a.Value(i))
				case *array.Boolean:
					r[f.Name] = a.Value(i)
				case *array.Timestamp:
					unit := f.Type.(*arrow.TimestampType).Unit
					r[f.Name] = a.Value(i).ToTime(unit).UTC()
				default:
					r[f.Name] = col.ValueStr(i)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// eventJSON rebuilds an event's JSON from its row: known fields, evolved
// columns and _extra; the coordinates left out.
func eventJSON(r row) []byte {
	m := map[string]any{}
	for k, v := range r {
		switch k {
		case "_topic", "_partition", "_offset":
			continue
		case clickevent.ExtraColumn:
			var extra map[string]any
			if err := json.Unmarshal([]byte(v.(string)), &extra); err == nil {
				maps.Copy(m, extra)
			}
			continue
		}
		if ts, ok := v.(time.Time); ok {
			v = ts.Format("2006-01-02T15:04:05.000Z07:00")
		}
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// coords returns a row's Kafka coordinates.
func coords(r row) (string, int32, int64) {
	return r["_topic"].(string), int32(r["_partition"].(int64)), r["_offset"].(int64)
}

// dataFiles lists the Parquet files under a file:// warehouse.
func dataFiles(t testing.TB, warehouse string) []string {
	t.Helper()
	u, err := url.Parse(warehouse)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	_ = filepath.WalkDir(u.Path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") && strings.Contains(p, string(filepath.Separator)+"data"+string(filepath.Separator)) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var _ = fmt.Sprint
