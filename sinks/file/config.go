package file

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
)

// Class is the connector.class of the file sink.
const Class = "io.connectd.file.FileSinkConnector"

// Config is the file sink's own part of a connector config. Decode it with
// connector.DecodeConfig, which applies the defaults in the tags; a Config
// built by hand must set every field.
type Config struct {
	// Dir is the directory files are written under, one subdirectory per
	// topic.
	Dir string `config:"file.dir" required:"true" doc:"directory the files are written under, one subdirectory per topic; created when missing"`
	// FlushSize is the number of records per file. Each open partition
	// buffers up to this many values in memory (and keeps the buffer's
	// capacity for the next file), so memory grows with
	// partitions × flush.size × value size.
	FlushSize int `config:"flush.size" default:"10000" min:"1" max:"10000000" doc:"records per file: a partition's buffer is written as one file as soon as it holds this many records"`
	// FlushInterval is the age, by wall clock since its first record
	// arrived, at which a partition's buffer is written at the next Flush,
	// however few records it holds. Zero writes every buffer at every
	// Flush.
	FlushInterval time.Duration `config:"flush.interval.ms" default:"10000" unit:"ms" min:"0" doc:"a partition's buffer whose first record arrived this long ago (wall clock) is written at the next offset flush, however small; 0 writes every buffer at every flush"`
	// Fsync makes each file, its sidecar and their directory reach the
	// disk before the file's offsets are reported durable.
	Fsync bool `config:"file.fsync" default:"true" doc:"fsync every file and its directory before its offsets are committed; false survives a crash of connectd but not of the machine"`
}

// Validate checks what the tags cannot: a usable directory name and
// settings that only make sense together.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case strings.TrimSpace(c.Dir) == "":
		errs = append(errs, &connector.ConfigError{Key: "file.dir", Message: "is empty: give the directory to write files under"})
	case strings.ContainsRune(c.Dir, 0):
		errs = append(errs, &connector.ConfigError{Key: "file.dir", Message: "contains a NUL byte"})
	}
	if c.FlushSize < 1 {
		errs = append(errs, &connector.ConfigError{Key: "flush.size", Message: fmt.Sprintf("%d is below the minimum 1", c.FlushSize)})
	}
	if c.FlushInterval < 0 {
		errs = append(errs, &connector.ConfigError{Key: "flush.interval.ms", Message: fmt.Sprintf("%d is below the minimum 0", c.FlushInterval.Milliseconds())})
	}
	if c.FlushInterval > 0 && c.FlushInterval < time.Millisecond {
		errs = append(errs, &connector.ConfigError{Key: "flush.interval.ms", Message: "must be 0 or at least 1ms"})
	}
	return errors.Join(errs...)
}

// Plugin describes the file sink for a connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     Class,
		Aliases:   []string{"FileSinkConnector", "file"},
		Kind:      connector.KindSink,
		Version:   "0.1.0",
		Doc:       "writes records as JSON lines, one file per partition and offset range, exactly once",
		NewConfig: func() any { return &Config{} },
		NewSink: func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("file sink: config is %T, want *file.Config", cfg)
			}
			return New(c, info)
		},
	}
}
