package s3

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
)

// minioSink opens a sink on bucket of m with extra keys on tp at 0.
func minioSink(t *testing.T, cfg *Config, tp connector.TopicPartition) *Sink {
	t.Helper()
	s, err := New(cfg, connector.TaskInfo{Connector: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	return s
}

func events(tp connector.TopicPartition, from, to int64) []connector.Record {
	var out []connector.Record
	for off := from; off < to; off++ {
		out = append(out, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Timestamp: sinktest.EventTime(tp, off), Value: sinktest.DefaultValue(tp, off)})
	}
	return out
}

// checkOnce reads cfg's archive back and checks that it holds exactly the
// offsets [0, n) of tp, each once, with the value written.
func checkOnce(t *testing.T, cfg *Config, tp connector.TopicPartition, n int64) {
	t.Helper()
	seen := map[int64]int{}
	for _, st := range readStored(t, cfg) {
		if st.TP() != tp {
			continue
		}
		seen[st.Offset]++
		if want := sinktest.DefaultValue(tp, st.Offset); !sinktest.SameJSON(want, st.Value) {
			t.Errorf("offset %d: stored %s, want %s", st.Offset, st.Value, want)
		}
	}
	for off := range n {
		if seen[off] != 1 {
			t.Errorf("offset %d stored %d times, want once", off, seen[off])
		}
	}
	if len(seen) != int(n) {
		t.Errorf("%d distinct offsets stored, want %d", len(seen), n)
	}
}

// TestS3DownBacksOff stops MinIO in the middle of a run: the upload of the
// next cut set fails retryably, Write then refuses every record (memory
// stays one set per partition) and Flush reports nothing; once MinIO is
// back, the same Write goes through and every record is stored once.
func TestS3DownBacksOff(t *testing.T) {
	m := testservers.StartMinIO(t)
	for _, format := range []string{"json", "parquet"} {
		t.Run(format, func(t *testing.T) {
			tp := connector.TopicPartition{Topic: "down-" + format, Partition: 0}
			cfg := decode(t, merge(minioKeys(t, m, "down-"+format), map[string]string{"flush.size": "100", "rotate.idle.ms": "0", "format.class": format}))
			s := minioSink(t, cfg, tp)
			if err := s.Write(ctx, events(tp, 0, 250)); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Flush(ctx); err != nil || got[tp] != 200 {
				t.Fatalf("Flush: %v %v, want %s=200", got, err, tp)
			}
			if err := m.Stop(); err != nil {
				t.Fatal(err)
			}
			batch := events(tp, 250, 400)
			for i := range 5 {
				err := s.Write(ctx, batch)
				if _, retry := connector.IsRetryable(err); !retry {
					t.Fatalf("Write %d with S3 down: %v, want a retryable error", i, err)
				}
				p := s.parts[tp]
				if p.next != 300 || p.open != nil || p.pending == nil || p.pending.end != 300 {
					t.Fatalf("Write %d with S3 down took records: next %d, open %v; want it to stop at the set 200..299 waiting for upload", i, p.next, p.open != nil)
				}
			}
			if got, err := s.Flush(ctx); len(got) != 0 {
				t.Fatalf("Flush with S3 down reported %v (%v)", got, err)
			} else if _, retry := connector.IsRetryable(err); !retry {
				t.Fatalf("Flush with S3 down: %v, want a retryable error", err)
			}
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, batch); err != nil {
				t.Fatalf("Write after S3 came back: %v", err)
			}
			if got, err := s.Flush(ctx); err != nil || got[tp] != 400 {
				t.Fatalf("Flush after S3 came back: %v %v, want %s=400", got, err, tp)
			}
			checkOnce(t, cfg, tp, 400)
		})
	}
}

// TestS3AccessErrors: refused credentials and a missing bucket fail Open
// at once, not retryably, naming the bucket and the fix.
func TestS3AccessErrors(t *testing.T) {
	m := testservers.StartMinIO(t)
	keys := minioKeys(t, m, "exists")
	tp := connector.TopicPartition{Topic: "x", Partition: 0}
	for _, tc := range []struct {
		name string
		keys map[string]string
		want string
	}{
		{"wrong secret", map[string]string{"aws.secret.access.key": "wrong"}, `in bucket "exists": the credentials were refused (SignatureDoesNotMatch): fix aws.access.key.id and aws.secret.access.key`},
		{"unknown key id", map[string]string{"aws.access.key.id": "nobody"}, `in bucket "exists": the credentials were refused (InvalidAccessKeyId)`},
		{"missing bucket", map[string]string{"s3.bucket.name": "missing"}, `in bucket "missing": the bucket does not exist: create it or fix s3.bucket.name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(decode(t, merge(keys, tc.keys)), connector.TaskInfo{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Open(ctx, map[connector.TopicPartition]int64{tp: 0})
			if _, retry := connector.IsRetryable(err); err == nil || retry || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v\nwant a fatal error containing %q", err, tc.want)
			}
		})
	}
}

// TestS3Multipart: a file larger than s3.part.size goes up in parts and
// reads back whole; a multipart upload onto an existing key with other
// bytes is refused by If-None-Match on completion.
func TestS3Multipart(t *testing.T) {
	m := testservers.StartMinIO(t)
	tp := connector.TopicPartition{Topic: "big", Partition: 0}
	cfg := decode(t, merge(minioKeys(t, m, "multipart"), map[string]string{
		"s3.part.size": "5242880", "flush.size": "1200", "flush.size.bytes": "100000000", "rotate.idle.ms": "0",
	}))
	pad := strings.Repeat("x", 10000)
	var batch []connector.Record
	for off := range int64(1200) {
		batch = append(batch, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, off, pad)})
	}
	s := minioSink(t, cfg, tp)
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := ReadArchive(ctx, cfg, func(a Archived) error {
		if want := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, a.Offset, pad); string(a.Value) != want || a.Offset != int64(n) {
			return fmt.Errorf("record %d: offset %d, %d bytes", n, a.Offset, len(a.Value))
		}
		n++
		return nil
	})
	if err != nil || n != 1200 {
		t.Fatalf("read back %d records (%v), want 1200", n, err)
	}

	// A zombie's different object at the key of the next file.
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := "topics/big/partition=0/big+0+0000001200.json"
	if err := st.Put(ctx, key, []byte("{}\n"), true); err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		batch[i].Offset += 1200
	}
	err = s.Write(ctx, batch)
	if _, retry := connector.IsRetryable(err); err == nil || retry || !strings.Contains(err.Error(), "exists with other content") {
		t.Fatalf("multipart Write onto another writer's object: %v", err)
	}
}

// TestS3ErrorsClassify: an error with no answer from the server is
// retryable.
func TestS3ErrorsClassify(t *testing.T) {
	st := &s3Store{bucket: "b", timeout: time.Second}
	if _, retry := connector.IsRetryable(st.classify("put k", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"))); !retry {
		t.Error("connection refused is not retryable")
	}
}
