package s3

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
)

// Class is the connector.class of the S3 sink.
const Class = "io.connectd.s3.S3SinkConnector"

// The partitioner classes, by Confluent's names; the short aliases
// "default", "field" and "time" are accepted too.
const (
	PartitionerDefault   = "io.confluent.connect.storage.partitioner.DefaultPartitioner"
	PartitionerField     = "io.confluent.connect.storage.partitioner.FieldPartitioner"
	PartitionerTimeBased = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
	PartitionerDaily     = "io.confluent.connect.storage.partitioner.DailyPartitioner"
	PartitionerHourly    = "io.confluent.connect.storage.partitioner.HourlyPartitioner"
)

// The format classes, by Confluent's names; the aliases "json" and
// "parquet" are accepted too.
const (
	FormatJSON    = "io.confluent.connect.s3.format.json.JsonFormat"
	FormatParquet = "io.confluent.connect.s3.format.parquet.ParquetFormat"
)

// Config is the S3 sink's own part of a connector config. Decode it with
// connector.DecodeConfig, which applies the defaults in the tags; a Config
// built by hand must set every field, then pass Validate.
type Config struct {
	// Bucket is the bucket objects are written to (unused for file://).
	Bucket string `config:"s3.bucket.name" doc:"bucket the objects are written to; required unless store.url is file://"`
	// Region is the bucket's region.
	Region string `config:"s3.region" default:"us-east-1" doc:"region of the bucket"`
	// StoreURL is the S3 endpoint, or file:///path (file://dir, relative
	// to the working directory) to write to the local filesystem instead.
	StoreURL string `config:"store.url" doc:"S3 endpoint such as http://127.0.0.1:9000 (empty: AWS's endpoint for s3.region); file:///abs/dir or file://rel/dir writes to the local filesystem instead"`
	// PathStyle addresses the bucket in the path (MinIO, most S3-compatible
	// servers) instead of the host name.
	PathStyle bool `config:"s3.path.style.access" default:"false" doc:"address the bucket as http://endpoint/bucket/key (MinIO and most S3-compatible stores) instead of http://bucket.endpoint/key"`
	// AccessKeyID and SecretAccessKey are explicit credentials; empty uses
	// the AWS default chain (environment, shared files, instance roles).
	AccessKeyID     string `config:"aws.access.key.id" doc:"access key id; empty: the AWS default credential chain (AWS_ACCESS_KEY_ID, ~/.aws, instance or pod roles)"`
	SecretAccessKey string `config:"aws.secret.access.key" doc:"secret access key, given together with aws.access.key.id"`
	// TopicsDir is the key prefix under which every topic's objects go.
	TopicsDir string `config:"topics.dir" default:"topics" doc:"key prefix of every object: <topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>"`
	// FlushSize is the number of records after which a file is cut.
	FlushSize int `config:"flush.size" default:"100000" min:"1" max:"100000000" doc:"records per file set: once a Kafka partition's open files hold this many records they are cut and uploaded (deterministic)"`
	// FlushBytes is the size of record values after which a file is cut.
	FlushBytes int64 `config:"flush.size.bytes" default:"67108864" min:"1024" doc:"bytes of record values per file set: once a Kafka partition's open files hold this many value bytes they are cut (deterministic); bounds memory per partition"`
	// RotateInterval cuts files by record time (see doc.go).
	RotateInterval time.Duration `config:"rotate.interval.ms" default:"0" unit:"ms" min:"0" doc:"record time: a file set whose first record is this much older than a new record of its partition is cut before it (deterministic), and at a flush once the task's newest record time is this far ahead (a quiet partition); 0: off"`
	// RotateSchedule cuts files by wall clock.
	RotateSchedule time.Duration `config:"rotate.schedule.interval.ms" default:"0" unit:"ms" min:"0" doc:"wall clock: open files are cut at the next flush after each multiple of this interval (not deterministic: needs s3.conditional.writes=true); 0: off"`
	// RotateIdle cuts files that received nothing for a while, by wall clock.
	RotateIdle time.Duration `config:"rotate.idle.ms" default:"60000" unit:"ms" min:"0" doc:"wall clock: a partition's open files that received no record for this long are cut at the next flush, so files close when traffic stops (not deterministic: needs s3.conditional.writes=true); 0: off"`
	// Partitioner is partitioner.class.
	Partitioner string `config:"partitioner.class" default:"io.confluent.connect.storage.partitioner.DefaultPartitioner" doc:"DefaultPartitioner (partition=<kafka partition>), FieldPartitioner (partition.field.name), TimeBasedPartitioner (path.format, partition.duration.ms), DailyPartitioner, HourlyPartitioner; Confluent's class names or default, field, time"`
	// PartitionFields are the fields of the field partitioner.
	PartitionFields []string `config:"partition.field.name" doc:"FieldPartitioner: top-level JSON fields whose values name the directories, <field>=<value>/..."`
	// PathFormat is the time partitioner's directory format (Joda style).
	PathFormat string `config:"path.format" doc:"TimeBasedPartitioner: directory format in Joda style, such as 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"`
	// PartitionDuration is the time partitioner's bucket length.
	PartitionDuration time.Duration `config:"partition.duration.ms" default:"0" unit:"ms" min:"0" doc:"TimeBasedPartitioner: length of a time partition; the record time is rounded down to a multiple of it (in timezone) before path.format is applied"`
	// TimestampExtractor says where record time comes from.
	TimestampExtractor string `config:"timestamp.extractor" default:"Record" doc:"record time for the time partitioner and rotate.interval.ms: Record (the Kafka record timestamp) or RecordField (timestamp.field of the JSON value); Wallclock is refused (not deterministic)"`
	// TimestampField is the JSON field of RecordField.
	TimestampField string `config:"timestamp.field" default:"timestamp" doc:"RecordField: top-level JSON field holding the record time, an RFC 3339 string or Unix milliseconds"`
	// Timezone is the zone of path.format and partition.duration.ms.
	Timezone string `config:"timezone" default:"UTC" doc:"IANA time zone of path.format and of partition boundaries, such as UTC or Europe/Berlin"`
	// Format is format.class.
	Format string `config:"format.class" default:"io.confluent.connect.s3.format.json.JsonFormat" doc:"JsonFormat (JSON lines: each record value as it came, one per line) or ParquetFormat (typed columns from the click event schema); Confluent's class names or json, parquet"`
	// Compression compresses JSON lines files.
	Compression string `config:"s3.compression.type" default:"none" enum:"none,gzip,zstd" doc:"JsonFormat: none (.json), gzip (.json.gz) or zstd (.json.zst)"`
	// ParquetCodec compresses Parquet column chunks.
	ParquetCodec string `config:"parquet.codec" default:"snappy" enum:"none,snappy,gzip,zstd" doc:"ParquetFormat: compression of column chunks"`
	// ParquetRowGroupRows is the most rows per Parquet row group.
	ParquetRowGroupRows int `config:"parquet.row.group.rows" default:"131072" min:"1024" max:"10000000" doc:"ParquetFormat: most rows per row group"`
	// ResultsTopics are topics holding window results rather than events.
	ResultsTopics []string `config:"results.topics" doc:"topics whose records are window results (a window connector's output.topic) rather than click events; the window stage's rollup topic always is; matters for ParquetFormat's schema"`
	// PartSize is the part size of multipart uploads.
	PartSize int64 `config:"s3.part.size" default:"26214400" min:"5242880" max:"5368709120" doc:"objects larger than this are uploaded in parts of this size (multipart upload)"`
	// ConditionalWrites writes objects only when absent (If-None-Match: *).
	ConditionalWrites bool `config:"s3.conditional.writes" default:"true" doc:"write every object with If-None-Match: * so a zombie task cannot overwrite a newer file; an existing object with the same bytes is accepted, one with other bytes fails the task"`
	// OffsetPadWidth is the zero-padded width of the start offset in names.
	OffsetPadWidth int `config:"filename.offset.zero.pad.width" default:"10" min:"1" max:"20" doc:"width to which the start offset in object names is zero-padded"`
	// RequestTimeout bounds one S3 request.
	RequestTimeout time.Duration `config:"s3.request.timeout.ms" default:"60000" unit:"ms" min:"1000" doc:"longest one S3 request may take before it is abandoned and retried"`
}

// Validate checks what the tags cannot: the store, the partitioner and
// format names, and settings that only make sense together.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &connector.ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	local := strings.HasPrefix(c.StoreURL, "file://")
	switch {
	case local:
		if strings.TrimPrefix(c.StoreURL, "file://") == "" {
			bad("store.url", "file:// names no directory: use file:///abs/dir or file://rel/dir")
		}
	case c.StoreURL != "" && !strings.HasPrefix(c.StoreURL, "http://") && !strings.HasPrefix(c.StoreURL, "https://"):
		bad("store.url", "%q is neither an http(s):// S3 endpoint nor a file:// directory", c.StoreURL)
	}
	if !local && strings.TrimSpace(c.Bucket) == "" {
		bad("s3.bucket.name", "is required: give the bucket to write to (or set store.url to file:///dir)")
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		bad("aws.secret.access.key", "aws.access.key.id and aws.secret.access.key go together: give both, or neither to use the AWS default credential chain")
	}
	if strings.HasPrefix(c.TopicsDir, "/") || strings.HasSuffix(c.TopicsDir, "/") || strings.Contains(c.TopicsDir, "//") {
		bad("topics.dir", "%q must not start or end with / nor hold an empty segment", c.TopicsDir)
	}
	for _, seg := range strings.Split(c.TopicsDir, "/") {
		if seg == "." || seg == ".." {
			bad("topics.dir", "%q must not hold . or .. segments", c.TopicsDir)
			break
		}
	}
	if c.FlushSize < 1 {
		bad("flush.size", "%d is below the minimum 1", c.FlushSize)
	}
	if c.FlushBytes < 1024 {
		bad("flush.size.bytes", "%d is below the minimum 1024", c.FlushBytes)
	}
	if !c.ConditionalWrites {
		if c.RotateSchedule > 0 {
			bad("rotate.schedule.interval.ms", "cuts files by wall clock, which a replay does not repeat: it needs s3.conditional.writes=true (or set it to 0 and use rotate.interval.ms, record time)")
		}
		if c.RotateIdle > 0 {
			bad("rotate.idle.ms", "cuts files by wall clock, which a replay does not repeat: it needs s3.conditional.writes=true (or set rotate.idle.ms=0)")
		}
	}
	switch c.TimestampExtractor {
	case "Record", "RecordField":
	case "Wallclock":
		bad("timestamp.extractor", "Wallclock is not deterministic, so a replay would cut and place files differently: use Record or RecordField")
	default:
		bad("timestamp.extractor", "%q is not one of Record, RecordField", c.TimestampExtractor)
	}
	if c.TimestampExtractor == "RecordField" && strings.TrimSpace(c.TimestampField) == "" {
		bad("timestamp.field", "is empty: name the JSON field holding the record time")
	}
	if _, err := loadZone(c.Timezone); err != nil {
		bad("timezone", "%q is not a time zone: use an IANA name such as UTC or Europe/Berlin", c.Timezone)
	}
	switch c.partitionerKind() {
	case "":
		bad("partitioner.class", "%q is not one of DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, DailyPartitioner, HourlyPartitioner (or default, field, time)", c.Partitioner)
	case "field":
		if len(c.PartitionFields) == 0 {
			bad("partition.field.name", "is required with FieldPartitioner: name the JSON field(s) to partition by")
		}
	case "time":
		if c.PathFormat == "" {
			bad("path.format", "is required with TimeBasedPartitioner, such as 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH")
		} else if _, err := compilePathFormat(c.PathFormat); err != nil {
			bad("path.format", "%v", err)
		}
		if c.PartitionDuration <= 0 {
			bad("partition.duration.ms", "is required with TimeBasedPartitioner: the length of a time partition, such as 3600000 for hourly directories")
		}
	}
	if c.formatKind() == "" {
		bad("format.class", "%q is not one of JsonFormat, ParquetFormat (or json, parquet)", c.Format)
	}
	switch c.Compression {
	case "none", "gzip", "zstd":
	default:
		bad("s3.compression.type", "%q is not one of none, gzip, zstd", c.Compression)
	}
	switch c.ParquetCodec {
	case "none", "snappy", "gzip", "zstd":
	default:
		bad("parquet.codec", "%q is not one of none, snappy, gzip, zstd", c.ParquetCodec)
	}
	if c.formatKind() == "parquet" && c.Compression != "none" {
		bad("s3.compression.type", "applies to JsonFormat only; Parquet compresses its column chunks: use parquet.codec")
	}
	if c.PartSize < 5<<20 {
		bad("s3.part.size", "%d is below S3's minimum part size 5242880 (5 MiB)", c.PartSize)
	}
	if c.OffsetPadWidth < 1 || c.OffsetPadWidth > 20 {
		bad("filename.offset.zero.pad.width", "%d is outside 1..20", c.OffsetPadWidth)
	}
	if c.RequestTimeout < time.Second {
		bad("s3.request.timeout.ms", "must be at least 1000")
	}
	return errors.Join(errs...)
}

// partitionerKind returns "default", "field" or "time" (daily and hourly
// are time partitioners with a fixed format), or "" for an unknown class.
func (c *Config) partitionerKind() string {
	switch c.Partitioner {
	case PartitionerDefault, "DefaultPartitioner", "default":
		return "default"
	case PartitionerField, "FieldPartitioner", "field":
		return "field"
	case PartitionerTimeBased, "TimeBasedPartitioner", "time":
		return "time"
	case PartitionerDaily, "DailyPartitioner":
		return "daily"
	case PartitionerHourly, "HourlyPartitioner":
		return "hourly"
	}
	return ""
}

// formatKind returns "json" or "parquet", or "" for an unknown class.
func (c *Config) formatKind() string {
	switch c.Format {
	case FormatJSON, "JsonFormat", "json":
		return "json"
	case FormatParquet, "ParquetFormat", "parquet":
		return "parquet"
	}
	return ""
}

// local returns the directory of a file:// store.url, or "" for S3.
func (c *Config) local() string {
	if !strings.HasPrefix(c.StoreURL, "file://") {
		return ""
	}
	return strings.TrimPrefix(c.StoreURL, "file://")
}

// loadZone is time.LoadLocation that also takes "Z".
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" || name == "Z" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// Plugin describes the S3 sink for a connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     Class,
		Aliases:   []string{"S3SinkConnector", "s3"},
		Kind:      connector.KindSink,
		Version:   "0.1.0",
		Doc:       "archives events and window results to S3 (or a local directory) as JSON lines or Parquet, exactly once",
		NewConfig: func() any { return &Config{} },
		NewSink: func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("s3 sink: config is %T, want *s3.Config", cfg)
			}
			return New(c, info)
		},
	}
}
