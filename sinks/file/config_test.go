package file_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/file"
)

func TestConfigDefaults(t *testing.T) {
	cfg := decode(t, map[string]string{"file.dir": "/var/lib/connectd/out"})
	want := file.Config{Dir: "/var/lib/connectd/out", FlushSize: 10000, FlushInterval: 10 * time.Second, Fsync: true}
	if *cfg != want {
		t.Errorf("decoded %+v, want %+v", *cfg, want)
	}
}

// TestConfigErrors pins the messages a user sees for each bad key.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]string
		want []string
	}{
		{map[string]string{}, []string{`config key "file.dir": is required: directory the files are written under, one subdirectory per topic; created when missing`}},
		{map[string]string{"file.dir": "  "}, []string{`config key "file.dir": is empty: give the directory to write files under`}},
		{map[string]string{"file.dir": "/d", "flush.size": "0"}, []string{`config key "flush.size": 0 is below the minimum 1`}},
		{map[string]string{"file.dir": "/d", "flush.size": "many"}, []string{`config key "flush.size": "many" is not a whole number`}},
		{map[string]string{"file.dir": "/d", "flush.interval.ms": "-1"}, []string{`config key "flush.interval.ms": -1 is below the minimum 0`}},
		{map[string]string{"file.dir": "/d", "file.fsync": "yes"}, []string{`config key "file.fsync": "yes" is not a boolean; use true or false`}},
	} {
		var got []string
		for _, err := range connector.DecodeConfig(tc.raw, &file.Config{}, "") {
			got = append(got, err.Error())
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("DecodeConfig(%v):\n got %q\nwant %q", tc.raw, got, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []*file.Config{nil, {Dir: ""}, {Dir: "/d", FlushSize: 0}, {Dir: "/d", FlushSize: 1, FlushInterval: -time.Second}} {
		if _, err := file.New(cfg, connector.TaskInfo{}); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// TestPlugin registers the plugin and parses a full connector config
// through the framework, by alias.
func TestPlugin(t *testing.T) {
	r := connector.NewRegistry()
	if err := r.Register(file.Plugin()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{file.Class, "FileSinkConnector", "file"} {
		p, ok := r.Lookup(name)
		if !ok || p.Kind != connector.KindSink || p.Class != "io.connectd.file.FileSinkConnector" {
			t.Errorf("Lookup(%q) = %+v, %v", name, p, ok)
		}
	}
	cc, err := r.ParseJSON([]byte(`{"name": "archive", "config": {
		"connector.class": "file", "topics": "clickstream.enriched",
		"file.dir": "/tmp/archive", "flush.size": 500}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := cc.PluginConfig.(*file.Config)
	if !ok || cfg.Dir != "/tmp/archive" || cfg.FlushSize != 500 || !cfg.Fsync {
		t.Fatalf("PluginConfig = %#v", cc.PluginConfig)
	}
	s, err := cc.Plugin.NewSink(cc.PluginConfig, connector.TaskInfo{Connector: "archive"})
	if err != nil || s == nil {
		t.Fatalf("NewSink = %v, %v", s, err)
	}
	if _, ok := s.(connector.OffsetResetter); !ok {
		t.Error("the file sink does not implement connector.OffsetResetter")
	}
	if _, err := cc.Plugin.NewSink(struct{}{}, connector.TaskInfo{}); err == nil {
		t.Error("NewSink accepted a config of the wrong type")
	}

	_, err = r.ParseJSON([]byte(`{"name": "archive", "config": {
		"connector.class": "file", "topics": "t", "file.dir": "/d", "flush.sizes": "5"}}`))
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || err.Error() != `config key "flush.sizes": is not a key of connector file; did you mean "flush.size"?` {
		t.Errorf("unknown key: %v", err)
	}
}
