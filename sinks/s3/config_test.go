package s3

import (
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
)

// TestConfigErrors pins the message of each config problem Validate (or
// decoding) catches: it names the key and the fix.
func TestConfigErrors(t *testing.T) {
	base := map[string]string{"s3.bucket.name": "b"}
	for _, tc := range []struct {
		name string
		raw  map[string]string
		want string
	}{
		{"no bucket", map[string]string{}, `config key "s3.bucket.name": is required`},
		{"bad url", map[string]string{"store.url": "ftp://x"}, `config key "store.url": "ftp://x" is neither an http(s):// S3 endpoint nor a file:// directory`},
		{"empty file url", map[string]string{"store.url": "file://"}, `config key "store.url": file:// names no directory`},
		{"half credentials", map[string]string{"aws.access.key.id": "AK"}, `config key "aws.secret.access.key": aws.access.key.id and aws.secret.access.key go together`},
		{"schedule without conditional", map[string]string{"s3.conditional.writes": "false", "rotate.idle.ms": "0", "rotate.schedule.interval.ms": "60000"}, `config key "rotate.schedule.interval.ms": cuts files by wall clock, which a replay does not repeat: it needs s3.conditional.writes=true`},
		{"idle without conditional", map[string]string{"s3.conditional.writes": "false"}, `config key "rotate.idle.ms": cuts files by wall clock, which a replay does not repeat: it needs s3.conditional.writes=true`},
		{"wallclock extractor", map[string]string{"timestamp.extractor": "Wallclock"}, `config key "timestamp.extractor": Wallclock is not deterministic`},
		{"unknown partitioner", map[string]string{"partitioner.class": "Nope"}, `config key "partitioner.class": "Nope" is not one of`},
		{"field without fields", map[string]string{"partitioner.class": "field"}, `config key "partition.field.name": is required with FieldPartitioner`},
		{"time without format", map[string]string{"partitioner.class": "time", "partition.duration.ms": "3600000"}, `config key "path.format": is required with TimeBasedPartitioner`},
		{"time without duration", map[string]string{"partitioner.class": "time", "path.format": "YYYY"}, `config key "partition.duration.ms": is required with TimeBasedPartitioner`},
		{"bad path letter", map[string]string{"partitioner.class": "time", "path.format": "'w'=ww", "partition.duration.ms": "1000"}, `config key "path.format": "'w'=ww": pattern letter "w" is not supported`},
		{"unclosed quote", map[string]string{"partitioner.class": "time", "path.format": "'year=YYYY", "partition.duration.ms": "1000"}, `config key "path.format": "'year=YYYY" has an unclosed quote at byte 0`},
		{"bad zone", map[string]string{"timezone": "Mars/Olympus"}, `config key "timezone": "Mars/Olympus" is not a time zone`},
		{"bad format", map[string]string{"format.class": "avro"}, `config key "format.class": "avro" is not one of JsonFormat, ParquetFormat`},
		{"compression with parquet", map[string]string{"format.class": "parquet", "s3.compression.type": "gzip"}, `config key "s3.compression.type": applies to JsonFormat only`},
		{"topics.dir slash", map[string]string{"topics.dir": "/abs"}, `config key "topics.dir": "/abs" must not start or end with /`},
		{"topics.dir dots", map[string]string{"topics.dir": "a/../b"}, `config key "topics.dir": "a/../b" must not hold . or .. segments`},
		{"small part", map[string]string{"s3.part.size": "1000"}, `config key "s3.part.size"`},
		{"bad codec", map[string]string{"parquet.codec": "lzo"}, `config key "parquet.codec"`},
		{"bad compression", map[string]string{"s3.compression.type": "bzip2"}, `config key "s3.compression.type"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := merge(base, tc.raw)
			if tc.name == "no bucket" {
				raw = tc.raw
			}
			cfg := &Config{}
			var msgs []string
			for _, err := range connector.DecodeConfig(raw, cfg, "") {
				msgs = append(msgs, err.Error())
			}
			if len(msgs) == 0 {
				if err := cfg.Validate(); err != nil {
					msgs = append(msgs, err.Error())
				}
			}
			got := strings.Join(msgs, "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("config %v:\ngot  %q\nwant it to contain %q", tc.raw, got, tc.want)
			}
			if _, err := New(cfg, connector.TaskInfo{}); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

// TestConfigDefaults checks the documented defaults, and that a local
// store needs no bucket.
func TestConfigDefaults(t *testing.T) {
	cfg := decode(t, map[string]string{"store.url": "file:///tmp/x"})
	if cfg.TopicsDir != "topics" || cfg.FlushSize != 100000 || cfg.FlushBytes != 64<<20 || cfg.RotateIdle.Milliseconds() != 60000 ||
		!cfg.ConditionalWrites || cfg.OffsetPadWidth != 10 || cfg.PartSize != 25<<20 || cfg.partitionerKind() != "default" ||
		cfg.formatKind() != "json" || cfg.Compression != "none" || cfg.ParquetCodec != "snappy" || cfg.TimestampExtractor != "Record" {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.local() != "/tmp/x" {
		t.Errorf("local dir %q", cfg.local())
	}
	if rel := decode(t, map[string]string{"store.url": "file://.demo/s3"}); rel.local() != ".demo/s3" {
		t.Errorf("relative local dir %q", rel.local())
	}
}
