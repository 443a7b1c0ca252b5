package s3

import (
	"context"
	"errors"
)

// errExists is what storage.Put returns when it was asked to write only
// if absent and the key exists.
var errExists = errors.New("object exists")

// storage is where objects go: an S3 bucket or a local directory. Keys are
// '/'-separated paths without a leading '/'. A storage is used by one
// Sink, from its task goroutine; implementations need no locking.
//
// Errors: a *connector.RetryableError for what may pass (a server that is
// down or slow, throttling, a full disk), errExists from Put as described,
// errNotFound from Get, and any other error for what will not pass by
// itself (access denied, no such bucket); those name the bucket or path
// and the fix.
type storage interface {
	// Check verifies once that the store can be reached and written to
	// (the bucket exists, the credentials are accepted).
	Check(ctx context.Context) error
	// Put writes body under key, atomically: readers see the whole object
	// or none. With ifAbsent it writes only when key does not exist, and
	// returns errExists otherwise.
	Put(ctx context.Context, key string, body []byte, ifAbsent bool) error
	// Get returns the object's bytes.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns, sorted, the keys that start with prefix and sort after
	// startAfter ("" for all).
	List(ctx context.Context, prefix, startAfter string) ([]string, error)
	// Delete removes keys; a missing key is not an error.
	Delete(ctx context.Context, keys []string) error
	// String names the store for messages: s3://bucket or a directory.
	String() string
}

// errNotFound is what storage.Get returns for a missing key.
var errNotFound = errors.New("object not found")
