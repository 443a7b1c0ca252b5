package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
	"github.com/connectd/connectd/worker"
)

func storeRegistry(t *testing.T) *connector.Registry {
	t.Helper()
	reg := connector.NewRegistry()
	for _, p := range []connector.Plugin{file.Plugin(), generator.Plugin()} {
		if err := reg.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func writeConnectorFile(t *testing.T, dir, name string, cfg map[string]string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"name": name, "config": cfg})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(cs []worker.StoredConnector) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"="+string(c.Target))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestFileStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := worker.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := worker.StoredConnector{Name: "files", Config: map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/x"}, Target: worker.StatePaused}
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	s2, _ := worker.NewFileStore(dir) // a restarted worker
	got, err := s2.Load()
	if err != nil {
		t.Fatal(err)
	}
	if g := got["files"]; g.Target != worker.StatePaused || g.Config["file.dir"] != "/x" || len(got) != 1 {
		t.Fatalf("loaded %+v", got)
	}
	if err := s2.Remove("files"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(); len(got) != 0 {
		t.Fatalf("after Remove the store holds %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "bad.json is damaged") {
		t.Fatalf("a damaged file: err = %v", err)
	}
}

// TestReconcileRule pins the documented rule: a new or changed file wins
// (keeping the stored target state), an unchanged file leaves the
// connector as REST left it (changed, paused, deleted), REST-only
// connectors stay, and any invalid config stops everything.
func TestReconcileRule(t *testing.T) {
	reg := storeRegistry(t)
	cfgDir := t.TempDir()
	store, err := worker.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fileA := writeConnectorFile(t, cfgDir, "a", map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/a1"})
	writeConnectorFile(t, cfgDir, "b", map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/b1"})
	files, _ := worker.ConfigFiles(cfgDir)

	// First start: both files are new.
	got, err := worker.Reconcile(reg, store, files)
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "a=RUNNING,b=RUNNING" {
		t.Fatalf("first start: %s", names(got))
	}
	stored, _ := store.Load()

	// Over REST: a is changed and paused, b is deleted, c is created.
	a := stored["a"]
	a.Config = map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/a-rest"}
	a.Target = worker.StatePaused
	b := stored["b"]
	b.Deleted = true
	for _, c := range []worker.StoredConnector{a, b, {Name: "c", Config: map[string]string{"connector.class": "generator"}, Target: worker.StateRunning}} {
		if err := store.Put(c); err != nil {
			t.Fatal(err)
		}
	}

	// Restart with the files unchanged: REST's changes stand.
	got, err = worker.Reconcile(reg, store, files)
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "a=PAUSED,c=RUNNING" {
		t.Fatalf("unchanged files: %s, want a paused with REST's config, b still deleted, c kept", names(got))
	}
	for _, c := range got {
		if c.Name == "a" && c.Config["file.dir"] != "/a-rest" {
			t.Errorf("unchanged file a: config %v, want REST's", c.Config)
		}
	}

	// The file of a changes: it wins, and a stays paused.
	writeConnectorFile(t, cfgDir, "a", map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/a2"})
	got, err = worker.Reconcile(reg, store, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Name == "a" && (c.Config["file.dir"] != "/a2" || c.Target != worker.StatePaused) {
			t.Errorf("changed file a: %+v, want the file's config and the stored PAUSED", c)
		}
	}

	// An invalid file stops everything and changes nothing.
	if err := os.WriteFile(fileA, []byte(`{"name":"a","config":{"connector.class":"file","topics":"t","file.dir":"/a3","flush.sise":"1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.Reconcile(reg, store, files); err == nil || !strings.Contains(err.Error(), `"flush.sise"`) {
		t.Fatalf("invalid file: err = %v", err)
	}
	if s, _ := store.Load(); s["a"].Config["file.dir"] != "/a2" {
		t.Errorf("after a rejected reconcile the store holds %v", s["a"].Config)
	}
}

// TestRESTChangesSurviveRestart: a connector created and paused through
// the management API is back, paused, after a restart on the same store.
func TestRESTChangesSurviveRestart(t *testing.T) {
	reg := storeRegistry(t)
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	k := newClient(t, startBroker(t, logger), logger)
	newWorker := func() *worker.Worker {
		store, err := worker.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := worker.Reconcile(reg, store, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := worker.New(worker.Options{Registry: reg, Kafka: k, Logger: logger, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Load(stored); err != nil {
			t.Fatal(err)
		}
		return w
	}
	ctx := context.Background()
	w := newWorker()
	if _, err := w.Create(ctx, "files", map[string]string{"connector.class": "file", "topics": "t", "file.dir": "/f"}, worker.StateRunning); err != nil {
		t.Fatal(err)
	}
	if _, err := w.PatchConfig(ctx, "files", map[string]*string{"flush.size": ptr("5")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Pause(ctx, "files"); err != nil {
		t.Fatal(err)
	}
	w2 := newWorker()
	st, err := w2.StatusOf("files")
	if err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	info, _ := w2.Info("files")
	if st.State != worker.StatePaused || info.Config["flush.size"] != "5" {
		t.Errorf("after a restart: state %s config %v, want PAUSED with flush.size=5", st.State, info.Config)
	}
	if err := w2.Delete(ctx, "files"); err != nil {
		t.Fatal(err)
	}
	if _, err := newWorker().StatusOf("files"); err == nil {
		t.Error("a deleted connector came back after a restart")
	}
}

func ptr(s string) *string { return &s }
