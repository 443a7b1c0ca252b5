package file

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/connectd/connectd/connector"
)

const (
	dataExt  = ".jsonl"
	indexExt = ".idx" // appended to the data file's name
	tmpExt   = ".tmp"
	// indexVersion is the version of the sidecar format.
	indexVersion = 1
)

// FileName returns the name of the data file of tp whose first record has
// offset start: "<topic>+<partition>+<start>.jsonl", decimal, unpadded. It
// lives in the directory <file.dir>/<topic>; its sidecar index has the same
// name with ".idx" appended.
func FileName(tp connector.TopicPartition, start int64) string {
	return tp.Topic + "+" + strconv.FormatInt(int64(tp.Partition), 10) + "+" + strconv.FormatInt(start, 10) + dataExt
}

// parseFileName reads topic, partition and start offset back from a data
// file's name; ok is false for anything else (temporary files, sidecars).
func parseFileName(name string) (tp connector.TopicPartition, start int64, ok bool) {
	base, found := strings.CutSuffix(name, dataExt)
	if !found {
		return tp, 0, false
	}
	i := strings.LastIndexByte(base, '+')
	if i < 0 {
		return tp, 0, false
	}
	j := strings.LastIndexByte(base[:i], '+')
	if j <= 0 {
		return tp, 0, false
	}
	p, err1 := strconv.ParseInt(base[j+1:i], 10, 32)
	s, err2 := strconv.ParseInt(base[i+1:], 10, 64)
	if err1 != nil || err2 != nil || p < 0 || s < 0 || strconv.FormatInt(s, 10) != base[i+1:] {
		return tp, 0, false
	}
	return connector.TopicPartition{Topic: base[:j], Partition: int32(p)}, s, true
}

// checkTopic refuses topic names that are not Kafka's (letters, digits,
// '.', '_', '-'), so a name can never leave file.dir or break file names.
func checkTopic(topic string) error {
	if topic == "" || topic == "." || topic == ".." || len(topic) > 249 {
		return fmt.Errorf("file sink: topic %q is not a valid Kafka topic name", topic)
	}
	for _, c := range []byte(topic) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("file sink: topic %q is not a valid Kafka topic name (byte %q)", topic, c)
		}
	}
	return nil
}

// run is a stretch of consecutive offsets: [First, First+Count).
type run struct {
	First int64
	Count int64
}

// MarshalJSON writes a run as [first, count].
func (r run) MarshalJSON() ([]byte, error) { return json.Marshal([2]int64{r.First, r.Count}) }

// UnmarshalJSON reads a run from [first, count].
func (r *run) UnmarshalJSON(b []byte) error {
	var a [2]int64
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	r.First, r.Count = a[0], a[1]
	return nil
}

// index is the sidecar of one data file: which offsets its lines hold (Kafka
// offsets have gaps: transaction markers, compaction, filtered records) and
// how many bytes of the data file are its records. The sidecar is renamed
// into place before its data file, so a data file without one was never
// written by this sink; the sidecar is authoritative when the two disagree.
type index struct {
	Version   int    `json:"version"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Records   int64  `json:"records"`
	Bytes     int64  `json:"bytes"`
	Runs      []run  `json:"runs"`
}

// start is the offset of the first record.
func (ix *index) start() int64 { return ix.Runs[0].First }

// next is the offset after the last record.
func (ix *index) next() int64 {
	last := ix.Runs[len(ix.Runs)-1]
	return last.First + last.Count
}

// below returns how many records have an offset below off.
func (ix *index) below(off int64) int64 {
	var n int64
	for _, r := range ix.Runs {
		if off <= r.First {
			break
		}
		n += min(r.Count, off-r.First)
	}
	return n
}

// cut keeps the first n records.
func (ix *index) cut(n int64) {
	var runs []run
	for _, r := range ix.Runs {
		if n <= 0 {
			break
		}
		r.Count = min(r.Count, n)
		n -= r.Count
		runs = append(runs, r)
	}
	ix.Runs = runs
}

func (ix *index) check(path string) error {
	if ix.Version != indexVersion {
		return fmt.Errorf("file sink: index %s has version %d, this sink reads version %d", path, ix.Version, indexVersion)
	}
	if len(ix.Runs) == 0 {
		return fmt.Errorf("file sink: index %s lists no records", path)
	}
	var n int64
	prev := int64(-1)
	for _, r := range ix.Runs {
		if r.First < prev || r.Count <= 0 {
			return fmt.Errorf("file sink: index %s has an invalid run [%d, %d]", path, r.First, r.Count)
		}
		prev = r.First + r.Count
		n += r.Count
	}
	if n != ix.Records || ix.Bytes < n {
		return fmt.Errorf("file sink: index %s lists %d records in its runs but says %d records in %d bytes", path, n, ix.Records, ix.Bytes)
	}
	return nil
}

func marshalIndex(ix *index) ([]byte, error) {
	b, err := json.Marshal(ix)
	if err != nil {
		return nil, fmt.Errorf("file sink: encode index: %w", err)
	}
	return append(b, '\n'), nil
}

func readIndex(path string) (*index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("file sink: read index: %w", err)
	}
	var ix index
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, fmt.Errorf("file sink: index %s is not valid: %v", path, err)
	}
	if err := ix.check(path); err != nil {
		return nil, err
	}
	return &ix, nil
}

// dataFile is one data file found in a topic directory.
type dataFile struct {
	name  string
	tp    connector.TopicPartition
	start int64
}

// listing is what a topic directory holds for one partition.
type listing struct {
	files   []dataFile // sorted by start
	indexes []string   // names of sidecars whose data file is missing
	temps   []string   // names of temporary files
}

// listPartition lists the files of tp in dir. A missing dir holds nothing.
func listPartition(dir string, tp connector.TopicPartition) (listing, error) {
	var l listing
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("file sink: list files of %s: %w", tp, err)
	}
	prefix := tp.Topic + "+" + strconv.FormatInt(int64(tp.Partition), 10) + "+"
	data := map[string]bool{}
	var idx []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."+prefix) && strings.HasSuffix(name, tmpExt):
			l.temps = append(l.temps, name)
		case !strings.HasPrefix(name, prefix):
		case strings.HasSuffix(name, dataExt+indexExt):
			idx = append(idx, name)
		default:
			if ftp, start, ok := parseFileName(name); ok && ftp == tp {
				l.files = append(l.files, dataFile{name: name, tp: tp, start: start})
				data[name] = true
			}
		}
	}
	for _, name := range idx {
		if !data[strings.TrimSuffix(name, indexExt)] {
			l.indexes = append(l.indexes, name)
		}
	}
	slices.SortFunc(l.files, func(a, b dataFile) int { return cmp.Compare(a.start, b.start) })
	return l, nil
}

// lineEnd returns the length of the first n lines of data.
func lineEnd(data []byte, n int64) (int64, bool) {
	var pos int64
	for range n {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return pos, false
		}
		pos += int64(i) + 1
	}
	return pos, true
}

// writeTemp writes data to a new temporary file in dir, named after name,
// synced when sync, and returns its path.
func writeTemp(dir, name string, data []byte, sync bool) (path string, err error) {
	tmp := filepath.Join(dir, "."+name+"."+strconv.FormatUint(rand.Uint64(), 36)+tmpExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// writeAtomic writes data to dir/name: a temporary file, synced when sync,
// renamed over name. The directory itself is not synced.
func writeAtomic(dir, name string, data []byte, sync bool) error {
	tmp, err := writeTemp(dir, name, data, sync)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}

// classify wraps an I/O error for the framework: a full disk or an
// exceeded quota may clear up, so it is retryable; anything else (a
// missing or unwritable directory, an I/O error) is fatal. The error keeps
// the path it happened on.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("file sink: %s: %w", what, err)
	if isDiskFull(err) {
		return connector.Retryable(err, 0)
	}
	return err
}

// Entry is one record read back from a directory the file sink wrote.
type Entry struct {
	Topic     string
	Partition int32
	Offset    int64
	// Value is the line without its '\n'.
	Value []byte
	// File is the data file's path.
	File string
}

// ReadDir reads every record the file sink holds under dir, in order of
// topic, partition and offset (as the files are named), using each data
// file's sidecar index to know its offsets. Temporary files, and sidecars
// whose data file is missing, are ignored: they are leftovers a crash can
// leave, which the next Open of the partition removes. A data file without
// a valid sidecar, or shorter than its sidecar says, is an error. Data
// beyond what the sidecar lists (an interrupted truncation) is ignored.
//
// ReadDir is safe to call while a sink writes under dir: it sees only whole
// files. It does not know which offsets were committed: records a crashed
// task flushed but never committed are listed until a task opens the
// partition again.
func ReadDir(dir string) ([]Entry, error) {
	topics, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("file sink: read %s: %w", dir, err)
	}
	var out []Entry
	for _, t := range topics {
		if !t.IsDir() || checkTopic(t.Name()) != nil {
			continue
		}
		tdir := filepath.Join(dir, t.Name())
		ents, err := os.ReadDir(tdir)
		if err != nil {
			return nil, fmt.Errorf("file sink: read %s: %w", tdir, err)
		}
		var files []dataFile
		for _, e := range ents {
			if tp, start, ok := parseFileName(e.Name()); ok && tp.Topic == t.Name() && !e.IsDir() {
				files = append(files, dataFile{name: e.Name(), tp: tp, start: start})
			}
		}
		slices.SortFunc(files, func(a, b dataFile) int {
			return cmp.Or(cmp.Compare(a.tp.Partition, b.tp.Partition), cmp.Compare(a.start, b.start))
		})
		for _, f := range files {
			if out, err = readFile(out, tdir, f); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readFile appends the records of one data file to out.
func readFile(out []Entry, dir string, f dataFile) ([]Entry, error) {
	path := filepath.Join(dir, f.name)
	ix, err := readIndex(path + indexExt)
	if err != nil {
		return nil, err
	}
	if ix.Topic != f.tp.Topic || ix.Partition != f.tp.Partition || ix.start() != f.start {
		return nil, fmt.Errorf("file sink: index %s describes %s+%d starting at %d, not its data file", path+indexExt, ix.Topic, ix.Partition, ix.start())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	if int64(len(data)) < ix.Bytes {
		return nil, fmt.Errorf("file sink: %s has %d bytes, its index says %d", path, len(data), ix.Bytes)
	}
	data = data[:ix.Bytes]
	n := int64(0)
	for _, r := range ix.Runs {
		for off := r.First; off < r.First+r.Count; off++ {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				return nil, fmt.Errorf("file sink: %s holds %d lines, its index says %d", path, n, ix.Records)
			}
			out = append(out, Entry{Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: off, Value: data[:i:i], File: path})
			data = data[i+1:]
			n++
		}
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("file sink: %s holds more lines than the %d its index lists", path, ix.Records)
	}
	return out, nil
}
