package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/connectd/connectd/connector"
)

// StoredConnector is what a ConfigStore keeps of one connector.
type StoredConnector struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	// Target is the state the connector should be in: RUNNING, PAUSED
	// or STOPPED.
	Target State `json:"target_state"`
	// FileHash is the hash of the --config-dir file the config last came
	// from, or empty when it was created over REST.
	FileHash string `json:"file_hash,omitempty"`
	// Deleted marks a connector deleted over REST whose file still exists:
	// it is not recreated until the file changes.
	Deleted bool `json:"deleted,omitempty"`
}

// ConfigStore keeps connector configs and target states across restarts.
// The standalone worker uses FileStore; a fleet will use a compacted Kafka
// topic behind the same interface. Methods are safe for concurrent use.
type ConfigStore interface {
	// Load returns every stored connector, deleted ones included.
	Load() (map[string]StoredConnector, error)
	// Put stores c, replacing what was stored under c.Name.
	Put(c StoredConnector) error
	// Remove forgets a connector entirely.
	Remove(name string) error
}

// MemoryStore is a ConfigStore that forgets everything on exit, for a
// worker started without --data-dir.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]StoredConnector
}

// Load implements ConfigStore.
func (s *MemoryStore) Load() (map[string]StoredConnector, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]StoredConnector, len(s.m))
	maps.Copy(out, s.m)
	return out, nil
}

// Put implements ConfigStore.
func (s *MemoryStore) Put(c StoredConnector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]StoredConnector{}
	}
	c.Config = maps.Clone(c.Config)
	s.m[c.Name] = c
	return nil
}

// Remove implements ConfigStore.
func (s *MemoryStore) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
	return nil
}

// FileStore is a ConfigStore keeping one JSON file per connector in a
// directory (the worker's DATA-DIR/connectors), each replaced atomically.
type FileStore struct {
	dir string
	mu  sync.Mutex
}

// NewFileStore returns a store in dir, creating it.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("connector store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Load implements ConfigStore.
func (s *FileStore) Load() (map[string]StoredConnector, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	files, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := map[string]StoredConnector{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("connector store: %w", err)
		}
		var c StoredConnector
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("connector store: %s is damaged (%v); fix or remove it", f, err)
		}
		out[c.Name] = c
	}
	return out, nil
}

// Put implements ConfigStore.
func (s *FileStore) Put(c StoredConnector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, c.Name+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("connector store: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		_ = f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("connector store: %w", err)
	}
	return nil
}

// Remove implements ConfigStore.
func (s *FileStore) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := os.Remove(filepath.Join(s.dir, name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Reconcile merges the connector files of a --config-dir into store and
// returns the connectors to run. The rule:
//
//   - a file that is new, or changed since the worker last read it, wins:
//     its config replaces the stored one (the stored target state stays);
//   - a file unchanged since the last start leaves the stored connector as
//     REST last left it (changed, paused, stopped, or deleted);
//   - connectors created over REST, with no file, are kept.
//
// Every config, from files and from the store, must validate; all problems
// are returned at once and nothing is changed then.
func Reconcile(reg *connector.Registry, store ConfigStore, files []string) ([]StoredConnector, error) {
	loaded, err := store.Load()
	if err != nil {
		return nil, err
	}
	stored := make(map[string]StoredConnector, len(loaded))
	maps.Copy(stored, loaded)
	var problems []string
	var updates []StoredConnector
	fromFiles := map[string]string{}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		name, raw, err := connector.ParseEnvelope(data)
		if err == nil {
			_, err = reg.Parse(name, raw)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				problems = append(problems, f+": "+line)
			}
			continue
		}
		if other, dup := fromFiles[name]; dup {
			problems = append(problems, fmt.Sprintf("%s: connector name %q is already used by %s; names must be unique", f, name, other))
			continue
		}
		fromFiles[name] = f
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])
		old, had := stored[name]
		if had && old.FileHash == hash {
			continue // unchanged file: REST's changes stand
		}
		target := StateRunning
		if had && !old.Deleted && old.Target != "" {
			target = old.Target
		}
		updates = append(updates, StoredConnector{Name: name, Config: raw, Target: target, FileHash: hash})
	}
	for _, u := range updates {
		stored[u.Name] = u
	}
	var out []StoredConnector
	names := make([]string, 0, len(stored))
	for n := range stored {
		names = append(names, n)
	}
	sort.Strings(names)
	updated := map[string]bool{}
	for _, u := range updates {
		updated[u.Name] = true
	}
	for _, n := range names {
		c := stored[n]
		if c.Deleted {
			continue
		}
		if !updated[n] { // file configs were checked above; stored ones may have gone stale
			if _, err := reg.Parse(c.Name, c.Config); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					problems = append(problems, "stored connector "+n+": "+line)
				}
				continue
			}
		}
		out = append(out, c)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	for _, u := range updates {
		if err := store.Put(u); err != nil {
			return nil, err
		}
	}
	return out, nil
}
