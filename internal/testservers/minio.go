package testservers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/chserver"
)

// MinIO is a MinIO server this package started, serving S3 on Endpoint
// with the root credentials AccessKey/SecretKey. Its data lives in a
// private directory that outlives Stop, so Start brings the same objects
// back on the same port.
type MinIO struct {
	// Endpoint is the S3 endpoint URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials, random per server.
	AccessKey, SecretKey string
	// Region is the region MinIO answers for.
	Region string

	p *process
}

// NewMinIO starts MinIO with data under dir (created when missing). It is
// for TestMain; tests use StartMinIO. Close the server when done.
func NewMinIO(dir string) (*MinIO, error) {
	bin, err := program(EnvMinIO)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	port, err := chserver.FreePort()
	if err != nil {
		return nil, err
	}
	console, err := chserver.FreePort()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	m := &MinIO{
		Endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		AccessKey: "connectd-test",
		SecretKey: hex.EncodeToString(secret),
		Region:    "us-east-1",
	}
	m.p = &process{
		name: "minio",
		bin:  bin,
		args: []string{"server", filepath.Join(dir, "data"), "--quiet",
			"--address", "127.0.0.1:" + strconv.Itoa(port),
			"--console-address", "127.0.0.1:" + strconv.Itoa(console)},
		env: []string{
			"MINIO_ROOT_USER=" + m.AccessKey,
			"MINIO_ROOT_PASSWORD=" + m.SecretKey,
			"MINIO_BROWSER=off",
			"MINIO_REGION=" + m.Region,
			"MINIO_UPDATE=off",
			"MINIO_CI_CD=on",
		},
		dir:   dir,
		ports: []int{port},
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	return m, nil
}

// StartMinIO starts MinIO for one test and stops it when the test ends.
// It skips or fails the test when MinIO is not installed (see EnvRequire).
func StartMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	need(tb, EnvMinIO)
	m, err := NewMinIO(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

// Start (re)starts a stopped server on its port with its data.
func (m *MinIO) Start() error {
	if m.p.running() {
		return nil
	}
	client := &http.Client{Timeout: time.Second}
	return m.p.start(60*time.Second, func() bool {
		resp, err := client.Get(m.Endpoint + "/minio/health/live")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 10s).
func (m *MinIO) Stop() error { return m.p.stop(10 * time.Second) }

// Kill stops the server at once with SIGKILL.
func (m *MinIO) Kill() error { return m.p.kill() }

// Close stops the server; it is safe to call more than once.
func (m *MinIO) Close() { _ = m.p.kill() }

// S3SinkKeys returns the S3 sink's config keys that point it at bucket
// on this server (path-style requests, the root credentials).
func (m *MinIO) S3SinkKeys(bucket string) map[string]string {
	return map[string]string{
		"store.url":             m.Endpoint,
		"s3.bucket.name":        bucket,
		"s3.region":             m.Region,
		"s3.path.style.access":  "true",
		"aws.access.key.id":     m.AccessKey,
		"aws.secret.access.key": m.SecretKey,
	}
}

// String describes the server for logs.
func (m *MinIO) String() string { return fmt.Sprintf("MinIO at %s", m.Endpoint) }
