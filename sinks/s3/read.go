package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/connectd/connectd/connector"
)

// listed is what the markers say of one data object.
type listed struct {
	topic     string
	partition int32
	file      markerFile
}

// Archived is one record as the archive holds it.
type Archived struct {
	// Object is the key of the object holding the record.
	Object string
	// Topic, Partition and Offset are the record's Kafka coordinates, from
	// the file set marker that lists the object.
	Topic     string
	Partition int32
	Offset    int64
	// Value is the JSON line for JsonFormat; nil for ParquetFormat (read
	// the object with a Parquet reader: the rows are in the same order).
	Value []byte
}

// ReadArchive calls each for every record stored under cfg's topics.dir,
// object by object in key order and in file order within an object. It
// checks the archive as it goes: every data object must be listed by a
// file set marker, hold as many records as the marker says, and be listed
// once. It is for checking an archive (tests, audits), not for bulk reads:
// it holds one object in memory at a time and every marker's file list.
func ReadArchive(ctx context.Context, cfg *Config, each func(Archived) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s, err := New(cfg, connector.TaskInfo{Connector: "read"})
	if err != nil {
		return err
	}
	if err := s.ensureStore(ctx); err != nil {
		return err
	}
	prefix := joinKey(cfg.TopicsDir) + "/"
	if cfg.TopicsDir == "" {
		prefix = ""
	}
	markers := prefix + markerDir + "/"
	keys, err := s.store.List(ctx, prefix, "")
	if err != nil {
		return err
	}
	files := map[string]listed{}
	var data []string
	for _, k := range keys {
		if !strings.HasPrefix(k, markers) {
			data = append(data, k)
			continue
		}
		body, err := s.store.Get(ctx, k)
		if err != nil {
			return err
		}
		var m marker
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("s3 sink: marker %s: %w", k, err)
		}
		for _, f := range m.Files {
			if _, dup := files[f.Key]; dup {
				return fmt.Errorf("s3 sink: object %s is listed by two file set markers (the second: %s)", f.Key, k)
			}
			files[f.Key] = listed{m.Topic, m.Partition, f}
		}
	}
	for _, k := range data {
		l, ok := files[k]
		if !ok {
			return fmt.Errorf("s3 sink: object %s is listed by no file set marker: a file this sink did not write, or a leftover", k)
		}
		topic, partition, mf := l.topic, l.partition, l.file
		var offsets []int64
		for _, r := range mf.Runs {
			for i := range r[1] {
				offsets = append(offsets, r[0]+i)
			}
		}
		if len(offsets) != mf.Records {
			return fmt.Errorf("s3 sink: marker of %s lists %d offsets for %d records", k, len(offsets), mf.Records)
		}
		var lines [][]byte
		if !strings.HasSuffix(k, ".parquet") {
			body, err := s.store.Get(ctx, k)
			if err != nil {
				return err
			}
			raw, err := decompress(k, body)
			if err != nil {
				return err
			}
			lines = bytes.SplitAfter(raw, []byte("\n"))
			if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
				lines = lines[:n-1]
			}
			if len(lines) != mf.Records {
				return fmt.Errorf("s3 sink: %s holds %d lines, its marker says %d records", k, len(lines), mf.Records)
			}
		}
		for i, off := range offsets {
			a := Archived{Object: k, Topic: topic, Partition: partition, Offset: off}
			if lines != nil {
				a.Value = bytes.TrimSuffix(lines[i], []byte("\n"))
			}
			if err := each(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// decompress undoes the compression the object's name says.
func decompress(key string, body []byte) ([]byte, error) {
	switch {
	case strings.HasSuffix(key, ".gz"):
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("s3 sink: %s: %w", key, err)
		}
		return io.ReadAll(r)
	case strings.HasSuffix(key, ".zst"):
		d, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.DecodeAll(body, nil)
	}
	return body, nil
}
