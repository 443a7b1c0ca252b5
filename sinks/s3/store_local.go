package s3

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/connectd/connectd/connector"
)

// tempPrefix starts the names of the temporary files a localStore writes
// before it moves them into place; List never returns them.
const tempPrefix = ".tmp-"

// localStore keeps objects as files under a directory (store.url
// file://...): the key is the path below it. A Put is atomic like S3's:
// the bytes go to a temporary file in the target directory, which is
// fsynced and then renamed into place (or hard-linked, for a Put only if
// absent, which fails when the name exists), and the directory is fsynced.
type localStore struct {
	root string
}

func newLocalStore(dir string) *localStore { return &localStore{root: filepath.Clean(dir)} }

func (l *localStore) String() string { return l.root }

func (l *localStore) path(key string) string { return filepath.Join(l.root, filepath.FromSlash(key)) }

// Check creates the root directory when it is missing.
func (l *localStore) Check(ctx context.Context) error {
	if err := os.MkdirAll(l.root, 0o755); err != nil {
		return localErr("create the store directory", err)
	}
	return nil
}

func (l *localStore) Put(ctx context.Context, key string, body []byte, ifAbsent bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dst := l.path(key)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return localErr("create directory for "+key, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return localErr("write "+key, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename or link: a no-op or the spare name
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return localErr("write "+key, err)
	}
	if ifAbsent {
		if err := os.Link(tmp, dst); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return errExists
			}
			return localErr("write "+key, err)
		}
	} else if err := os.Rename(tmp, dst); err != nil {
		return localErr("write "+key, err)
	}
	return localErr("sync directory of "+key, syncDir(dir))
}

func (l *localStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := os.ReadFile(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	return b, localErr("read "+key, err)
}

func (l *localStore) List(ctx context.Context, prefix, startAfter string) ([]string, error) {
	base := prefix
	if !strings.HasSuffix(base, "/") {
		base = path.Dir(base)
		if base == "." {
			base = ""
		}
	}
	var keys []string
	err := filepath.WalkDir(l.path(base), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) && key > startAfter {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, localErr("list "+prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

func (l *localStore) Delete(ctx context.Context, keys []string) error {
	dirs := map[string]bool{}
	for _, k := range keys {
		p := l.path(k)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return localErr("delete "+k, err)
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return localErr("sync "+d, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// localErr classifies a filesystem error: a full disk or quota is
// retryable, anything else fatal.
func localErr(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("s3 sink: %s: %w", what, err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return connector.Retryable(err, 0)
	}
	return err
}
