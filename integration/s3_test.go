//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/s3"
	"github.com/connectd/connectd/sources/generator"
)

const (
	s3Events = 1_000_000
	s3Rate   = 100_000
)

// s3Client returns an S3 client for MinIO m.
func s3Client(t *testing.T, m *testservers.MinIO) *awss3.Client {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(m.Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, "")))
	if err != nil {
		t.Fatal(err)
	}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(m.Endpoint)
		o.UsePathStyle = true
	})
}

// s3CreateBucket creates bucket, waiting out MinIO's first moments, when
// it answers 503 (not initialized).
func s3CreateBucket(t *testing.T, c *awss3.Client, bucket string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(bucket)})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
}

// s3MarkedRecords sums the record counts of the file set markers under
// prefix: the records the sink uploaded (committed or not).
func s3MarkedRecords(c *awss3.Client, bucket, prefix string) (int, error) {
	ctx := context.Background()
	n := 0
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, o := range page.Contents {
			out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return 0, err
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				return 0, err
			}
			var m struct {
				Records int `json:"records"`
			}
			if err := json.Unmarshal(b, &m); err != nil {
				return 0, fmt.Errorf("marker %s: %w", aws.ToString(o.Key), err)
			}
			n += m.Records
		}
	}
	return n, nil
}

// TestS3ExactlyOnceUnderSIGKILL: a generator writes 1M events to four
// partitions; an S3 sink connector archives them to MinIO as gzip JSON
// lines, cut every 40000 records and by wall clock every 1.5s, in a worker
// SIGKILLed four times. In the end every object is
// read back (s3.ReadArchive, which also checks every object is listed by
// exactly one file set marker with its line count): each generated event
// is there exactly once, at a distinct Kafka offset. The expected events
// are regenerated with the generator's engine, not read from the sink.
func TestS3ExactlyOnceUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	configDir := filepath.Join(dir, "configs")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(testservers.EnvMinIO) == "" && os.Getenv(testservers.EnvRequire) == "" {
		t.Skip(testservers.EnvMinIO + " is not set (run make servers)")
	}
	m, err := testservers.NewMinIO(filepath.Join(dir, "minio"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	client := s3Client(t, m)
	const bucket = "archive"
	s3CreateBucket(t, client, bucket)

	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	const seed = 31
	writeConfig(t, configDir, "gen", map[string]string{
		"connector.class":                   "generator",
		"topic":                             "clicks",
		"max.events":                        strconv.Itoa(s3Events),
		"events.per.second":                 strconv.Itoa(s3Rate),
		"users":                             "5000",
		"seed":                              strconv.Itoa(seed),
		"start.time":                        pipelineStart,
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "200",
	})
	sink := m.S3SinkKeys(bucket)
	maps.Copy(sink, map[string]string{
		"connector.class":     "s3",
		"topics":              "clicks",
		"topics.dir":          "raw",
		"s3.compression.type": "gzip",
		"flush.size":          "40000",
		"rotate.interval.ms":  "60000",
		"rotate.idle.ms":      "1000",
		// Wall-clock cuts: a replay cuts elsewhere than the killed run,
		// so only Open's removal of uncommitted file sets keeps it
		// exactly once (deterministic cuts would rewrite the same
		// objects and hide a missing cleanup).
		"rotate.schedule.interval.ms": "1500",
		"offset.flush.interval.ms":    "1000",
	})
	writeConfig(t, configDir, "archive", sink)

	start, _ := time.Parse(time.RFC3339, pipelineStart)
	e, err := generator.NewEngine(generator.Options{Seed: seed, Users: 5000, Start: start, EventsPerSecond: s3Rate})
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[[32]byte]int, s3Events)
	for range s3Events {
		want[sha256.Sum256(e.Next().Value)]++
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	w := killRepeatedly(t, rng, 4, dir, configDir, addr)
	waitFor(t, 3*time.Minute, "every event in S3", func() (bool, string) {
		n, err := s3MarkedRecords(client, bucket, "raw/_connectd/")
		if err != nil {
			return false, err.Error()
		}
		return n >= s3Events, fmt.Sprintf("%d of %d records in uploaded file sets", n, s3Events)
	})
	// Let a last offset flush pass, then stop: nothing may be added.
	time.Sleep(2 * time.Second)
	w.stop(t, 30*time.Second)

	cfg := &s3.Config{}
	raw := map[string]string{}
	for k, v := range sink {
		if k != "connector.class" && k != "topics" && k != "offset.flush.interval.ms" {
			raw[k] = v
		}
	}
	if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := make(map[[32]byte]int, s3Events)
	offsets := map[int64]bool{}
	objects := map[string]bool{}
	total := 0
	err = s3.ReadArchive(context.Background(), cfg, func(a s3.Archived) error {
		got[sha256.Sum256(a.Value)]++
		offsets[int64(a.Partition)<<48|a.Offset] = true
		objects[a.Object] = true
		total++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != s3Events || len(offsets) != s3Events {
		t.Errorf("the archive holds %d records at %d distinct offsets, want %d", total, len(offsets), s3Events)
	}
	missing, doubled := 0, 0
	for h, n := range want {
		switch g := got[h]; {
		case g < n:
			missing += n - g
		case g > n:
			doubled += g - n
		}
	}
	extra := 0
	for h, n := range got {
		if want[h] == 0 {
			extra += n
		}
	}
	if missing > 0 || doubled > 0 || extra > 0 {
		t.Errorf("of %d generated events, %d are missing from the archive and %d are there more than once; %d stored records were never generated", s3Events, missing, doubled, extra)
	}
	t.Logf("%d events in %d objects", total, len(objects))
}
