// Package s3 is connectd's S3 sink: it archives click events and window
// results to an S3 bucket (or a local directory) as JSON lines or Parquet,
// exactly once. See README.md in this directory for the keys, the
// guarantees and the measured speed.
package s3
