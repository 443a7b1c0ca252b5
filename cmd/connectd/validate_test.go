package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigs pins the exact messages `connectd validate` prints for
// each testdata/*.bad.json fixture.
func TestBadConfigs(t *testing.T) {
	cases := map[string][]string{
		"dlq-without-tolerance.bad.json": {
			`config key "errors.deadletterqueue.topic.name": "clicks" is also a topic this connector consumes; use a separate dead-letter topic`,
			`config key "errors.deadletterqueue.topic.name": is set but errors.tolerance is none, so nothing would reach it; set errors.tolerance=all`,
		},
		"envelope.bad.json": {
			`config key "topics": must be a string, number or boolean, not a JSON object or array (lists are comma-separated strings)`,
		},
		"generator.bad.json": {
			`config key "bad.record.ratio": 1.5 is above the maximum 1`,
			`config key "events.per.second": -1 is below the minimum 0`,
			`config key "start.time": "yesterday" is not an RFC3339 time such as 2026-01-02T15:04:05Z`,
			`config key "topics": is not a key of connector generator; did you mean "topic"?`,
		},
		"malformed.bad.json": {
			`malformed connector JSON: invalid character '}' looking for beginning of object key string; expected {"name": "...", "config": {"connector.class": "...", ...}}`,
		},
		"missing-required.bad.json": {
			`config key "file.dir": is required: directory the files are written under, one subdirectory per topic; created when missing`,
			`config key "topics": is required for a sink connector: set topics (comma-separated) or topics.regex`,
		},
		"overrides.bad.json": {
			`config key "consumer.override.auto.offset.reset": "smallest" is not one of earliest, latest`,
			`config key "consumer.override.fetch.max.byte": is not a key of the consumer overrides; did you mean "consumer.override.fetch.max.bytes"?`,
			`config key "producer.override.compression.type": "brotli" is not one of none, gzip, snappy, lz4, zstd`,
		},
		"transforms.bad.json": {
			`config key "transforms.mask.type": "MaskField" is not an installed transformation; installed: io.connectd.transforms.ValidateClickEvent`,
			`config key "transforms.v.required.feilds": is not a key of transform validate; did you mean "transforms.v.required.fields"?`,
		},
		"unknown-class.bad.json": {
			`config key "connector.class": "io.confluent.connect.s3.S3SinkConnector" is not an installed connector; installed: io.connectd.clickhouse.ClickHouseSinkConnector, io.connectd.file.FileSinkConnector, io.connectd.iceberg.IcebergSinkConnector, io.connectd.s3.S3SinkConnector, io.connectd.window.WindowConnector, io.connectd.generator.GeneratorSourceConnector; did you mean "io.connectd.s3.S3SinkConnector" (connectd's own, with compatible keys)?`,
		},
		"unknown-key.bad.json": {
			`config key "flush.sise": is not a key of connector file; did you mean "flush.size"?`,
		},
		"wrong-types.bad.json": {
			`config key "errors.tolerance": "some" is not one of none, all`,
			`config key "flush.size": 0 is below the minimum 1`,
			`config key "tasks.max": "two" is not a whole number`,
		},
	}
	files, err := filepath.Glob("testdata/*.bad.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("%d fixtures in testdata, %d in the table: every fixture needs its expected messages", len(files), len(cases))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, ok := cases[filepath.Base(f)]
			if !ok {
				t.Fatalf("no expected messages for %s", f)
			}
			var out, errOut bytes.Buffer
			code := run([]string{"validate", f}, &out, &errOut)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			var wantOut strings.Builder
			for _, m := range want {
				wantOut.WriteString(f + ": " + m + "\n")
			}
			if out.String() != wantOut.String() {
				t.Errorf("validate printed:\n%s\nwant:\n%s", out.String(), wantOut.String())
			}
			if got := errOut.String(); got != "connectd validate: 1 of 1 file(s) have problems\n" {
				t.Errorf("stderr = %q", got)
			}
		})
	}
}

// TestExampleConfigsValidate loads every connector file under configs/.
func TestExampleConfigsValidate(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../configs", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d configs under configs/, expected the demo's at least", len(files))
	}
	for _, f := range files {
		var out, errOut bytes.Buffer
		if code := run([]string{"validate", f}, &out, &errOut); code != 0 {
			t.Errorf("%s does not validate (exit %d):\n%s%s", f, code, out.String(), errOut.String())
		}
	}
}

func TestValidateNeedsFiles(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"validate"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2 (usage)", code)
	}
	if !strings.Contains(errOut.String(), "name at least one connector file") {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("exit %d stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "connectd ") {
		t.Errorf("version: exit %d out %q", code, out.String())
	}
}
